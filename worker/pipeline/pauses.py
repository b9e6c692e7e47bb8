"""The operator's pauses in Redis: ``autoclock pause``, ``resume``, ``pauses`` and the actors.

One hash ``<ns>:pauses`` maps a scope (``all``, ``group:<name>``, ``person:<email>``) to its
pause as JSON; a new pause of a scope replaces the old one. ``resume`` ends a pause by moving
its ``until`` to now rather than deleting it, so a trigger that happened during the pause but
is evaluated after the resume is still judged paused. Ended pauses are dropped after
:data:`KEEP_ENDED`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import redis

from worker.rules.pauses import Pause, Scope
from worker.store import Keys

__all__ = ["KEEP_ENDED", "PauseStore"]

#: How long an ended pause is kept (a queued trigger from its time is still judged by it).
KEEP_ENDED = timedelta(days=2)


class PauseStore:
    """Read and write pauses under ``keys("pauses")``."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.key = keys("pauses")

    def set(self, pause: Pause) -> None:
        """Start (or replace) the pause of ``pause.scope``."""
        self.client.hset(self.key, pause.scope, _dump(pause))

    def end(self, scope: Scope, now: datetime) -> Pause | None:
        """End the pause of ``scope`` now; the ended pause, or ``None`` if none was active."""
        pause = self.get(scope)
        if pause is None or not pause.active(now):
            return None
        ended = Pause(pause.scope, pause.start, max(pause.start, now), pause.reason)
        self.client.hset(self.key, scope, _dump(ended))
        return ended

    def get(self, scope: Scope) -> Pause | None:
        raw = self.client.hget(self.key, scope)
        return None if raw is None else _load(raw)

    def all(self, now: datetime) -> list[Pause]:
        """Every pause kept (active and recently ended), by start; long-ended ones are dropped."""
        raw: dict[bytes, bytes] = self.client.hgetall(self.key)  # type: ignore[assignment]
        return self.kept(raw, now)

    def kept(self, raw: dict[bytes, bytes], now: datetime) -> list[Pause]:
        """The pauses of ``raw`` (the hash, as read) to keep, by start; drops long-ended ones."""
        pauses = []
        for scope, value in raw.items():
            pause = _load(value)
            if pause.until + KEEP_ENDED < now:
                self.client.hdel(self.key, scope)
                continue
            pauses.append(pause)
        return sorted(pauses, key=lambda p: (p.start, p.scope))

    def active(self, now: datetime) -> list[Pause]:
        """The pauses in force at ``now``."""
        return [p for p in self.all(now) if p.start <= now < p.until]


def _dump(pause: Pause) -> str:
    return json.dumps(
        {
            "scope": pause.scope,
            "start": pause.start.isoformat(),
            "until": pause.until.isoformat(),
            "reason": pause.reason,
        }
    )


def _load(raw: bytes | str) -> Pause:
    data = json.loads(raw)
    return Pause(
        scope=data["scope"],
        start=datetime.fromisoformat(data["start"]),
        until=datetime.fromisoformat(data["until"]),
        reason=data["reason"],
    )
