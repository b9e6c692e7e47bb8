"""Fixtures for the rules engine: the shipped rules, a writable copy, and the loaded ruleset."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from worker.models import Trigger, TriggerKind
from worker.rules.load import load_ruleset
from worker.rules.ruleset import Ruleset

SHIPPED = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture(scope="session")
def shipped() -> Ruleset:
    """The example ruleset shipped in rules/."""
    return load_ruleset(SHIPPED, default_timezone="UTC")


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A private copy of rules/ that a test may break."""
    target = tmp_path / "rules"
    shutil.copytree(SHIPPED, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    """Replace exactly one occurrence of ``old`` in ``path``."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path.name}"
    path.write_text(text.replace(old, new))


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the only line containing ``needle``."""
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} on lines {hits} of {path.name}"
    return hits[0]


def trigger(
    kind: TriggerKind | str,
    subject: str,
    at: str | datetime,
    source: str,
    **attributes: str,
) -> Trigger:
    """A trigger for tests; ``at`` is ISO 8601 with an offset."""
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return Trigger(
        id=f"test:{kind}:{subject}:{when.isoformat()}",
        source=source,
        kind=TriggerKind(kind),
        subject=subject,
        occurred_at=when,
        received_at=when,
        attributes=attributes,
    )
