"""A rules directory with a person and their manager, and waiting helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from worker.models import Trigger, TriggerKind

ZONE = ZoneInfo("Europe/Berlin")
STAFF = "user0@example.com"
MANAGER = "user1@example.com"


def write_team(
    directory: Path,
    channels: list[str],
    *,
    rules: list[dict] | None = None,
    quiet_hours: list[str] | None = None,
) -> Path:
    """user0 (Ana Staff) reports to user1 (Max Manager); both reached on ``channels``."""
    directory.mkdir(parents=True, exist_ok=True)
    people = {
        "defaults": {"timezone": "Europe/Berlin", "notify": channels},
        "people": [
            {
                "email": STAFF,
                "name": "Ana Staff",
                "user_id": 1000,
                "badges": ["B0"],
                "manager": MANAGER,
            },
            {"email": MANAGER, "name": "Max Manager", "user_id": 1001, "badges": ["B1"]},
        ],
    }
    (directory / "people.yaml").write_text(yaml.safe_dump(people))
    (directory / "rules.yaml").write_text(
        yaml.safe_dump(
            {
                "policy": {"max_delay": "48h"},
                **({"notify": {"quiet_hours": quiet_hours}} if quiet_hours else {}),
                "rules": rules
                or [
                    {
                        "name": "badge-in-starts",
                        "on": {"kind": "badge_in"},
                        "do": {"action": "start"},
                    },
                    {
                        "name": "end-of-day",
                        "on": {"kind": "tick"},
                        "do": {"action": "stop"},
                        "notify": {"to": ["person", "manager"]},
                    },
                ],
            }
        )
    )
    return directory


def yesterday_at(hour: int, minute: int) -> datetime:
    day = datetime.now(ZONE).date() - timedelta(days=1)
    return datetime.combine(day, dtime(hour, minute), tzinfo=ZONE).astimezone(UTC)


def badge(kind: TriggerKind, at: datetime, *, subject: str = "B0", tid: str = "") -> Trigger:
    return Trigger(
        id=tid or f"badge-{subject}-{kind.value}-{at.isoformat()}",
        source="webhook:doors",
        kind=kind,
        subject=subject,
        occurred_at=at,
    )


def end_of_day(at: datetime, person: str = STAFF) -> Trigger:
    return Trigger(
        id=f"schedule:end-of-day:{person}:{at.date().isoformat()}",
        source="schedule:end-of-day",
        kind=TriggerKind.TICK,
        subject=person,
        occurred_at=at,
    )


def wait_until(check: Callable[[], bool], *, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
