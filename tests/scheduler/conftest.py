"""Helpers for the scheduler tests: a rules directory written from Python, loaded for real."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from worker.rules.load import load_ruleset
from worker.rules.ruleset import Ruleset

ICS = Path(__file__).parent / "ics"

PEOPLE = [
    {
        "email": "ana@example.com",
        "name": "Ana Example",
        "timezone": "Europe/Berlin",
        "groups": ["office"],
    },
    {
        "email": "bo@example.com",
        "name": "Bo Example",
        "timezone": "America/Chicago",
        "groups": ["office"],
    },
    {
        "email": "cy@example.com",
        "name": "Cy Example",
        "timezone": "Australia/Sydney",
        "groups": ["night"],
    },
]

RULES = [
    {"name": "clock-in", "on": {"kind": "shift_start"}, "do": {"action": "start"}},
    {"name": "clock-out", "on": {"kind": "shift_end"}, "do": {"action": "stop"}},
    {"name": "end-of-day", "on": {"kind": "tick"}, "do": {"action": "stop"}},
]

MakeRules = Callable[..., Ruleset]


def write_rules(
    directory: Path,
    *,
    people: list[dict[str, Any]] | None = None,
    calendars: list[dict[str, Any]] | None = None,
    schedules: list[dict[str, Any]] | None = None,
    rules: list[dict[str, Any]] | None = None,
    ics: list[str] = (),  # type: ignore[assignment]
) -> Path:
    """Write people/sources/rules YAML (and copy ICS fixtures into calendars/)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "people.yaml").write_text(
        yaml.safe_dump({"groups": ["office", "night"], "people": people or PEOPLE})
    )
    (directory / "sources.yaml").write_text(
        yaml.safe_dump({"calendars": calendars or [], "schedules": schedules or []})
    )
    (directory / "rules.yaml").write_text(
        yaml.safe_dump({"rules": RULES if rules is None else rules})
    )
    (directory / "calendars").mkdir(exist_ok=True)
    for name in ics:
        shutil.copy(ICS / name, directory / "calendars" / name)
    return directory


@pytest.fixture
def make_rules(tmp_path: Path) -> MakeRules:
    """``make_rules(calendars=[...], schedules=[...], ics=[...])`` → a loaded Ruleset."""

    def make(**kwargs: Any) -> Ruleset:
        return load_ruleset(write_rules(tmp_path / "rules", **kwargs))

    return make
