"""A fire: one trigger the scheduler produces at one instant for one person.

Every fire carries its :class:`~worker.models.Trigger`, whose ``id`` is stable across re-polls
and restarts (the pipeline dedupes on it) and is also the key the fire is claimed under.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from worker.models import Trigger

__all__ = ["Fire", "local_iso"]


@dataclass(frozen=True)
class Fire:
    """``trigger`` is due at ``at`` (aware, UTC) for the person ``email``."""

    at: datetime
    trigger: Trigger
    email: str

    @property
    def id(self) -> str:
        """The trigger id: source + occurrence + person, the claim key of this fire."""
        return self.trigger.id

    @property
    def epoch(self) -> float:
        """``at`` as Unix seconds (a Redis sorted-set score)."""
        return self.at.astimezone(UTC).timestamp()


def local_iso(instant: datetime, zone_name: str) -> str:
    """``instant`` as local ISO 8601 with its offset, e.g. ``2026-03-29T03:30:00+02:00``."""
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(zone_name)).isoformat()
