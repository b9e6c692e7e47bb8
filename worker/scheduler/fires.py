"""A fire: one trigger the scheduler produces at one instant for one person.

Every fire carries its :class:`~worker.models.Trigger`, whose ``id`` is stable across re-polls
and restarts (the pipeline dedupes on it) and is also the key the fire is claimed under.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from worker.models import Trigger

__all__ = ["Fire", "unique_fires"]


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


def unique_fires(fires: Iterable[Fire]) -> tuple[list[Fire], list[tuple[Fire, Fire]]]:
    """``fires`` with one fire per id, and every ``(kept, refused)`` pair of different fires
    that share an id. The same fire seen twice is the same occurrence and is kept once; two
    different fires under one id are a collision: the first (in the given order) is kept and
    the other is refused, never silently overwritten."""
    kept: dict[str, Fire] = {}
    collisions: list[tuple[Fire, Fire]] = []
    for fire in fires:
        first = kept.get(fire.id)
        if first is None:
            kept[fire.id] = fire
        elif first.at != fire.at or first.trigger != fire.trigger:
            collisions.append((first, fire))
    return list(kept.values()), collisions
