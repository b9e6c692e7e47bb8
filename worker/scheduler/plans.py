"""The planned fires of each calendar feed, kept in Redis so restarts and new leaders see them.

A plan is the feed's fires from the last good copy, re-expanded when the copy changes or the
window moves. Replacing a plan follows the rule for feed windows (a feed shows, say, one month
back and two months ahead, and its window slides):

* a planned fire that is absent from the new expansion is a **deletion** only if it lies in
  ``(now - grace, horizon]`` — then it is dropped and will not fire;
* a fire at or before ``now - grace`` that has disappeared **scrolled out** of the feed's
  window: it stays in the plan (it has fired, or catch-up will enqueue/record it as missed).
  Nothing already fired is ever "un-fired": claims are separate and never removed here.

Keys: ``scheduler:plan:<feed>`` (sorted set: fire id → Unix time) and
``scheduler:plan:<feed>:triggers`` (hash: fire id → trigger JSON). Entries older than
``retention`` are pruned. ``scheduler:calendar_problems`` (hash: feed → JSON) holds what each
feed's latest plan skipped or read with a warning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import redis

from worker.logs import get_logger
from worker.models import Trigger
from worker.scheduler.fires import Fire, unique_fires
from worker.scheduler.ical import EventProblem, kinds
from worker.store import Keys

__all__ = ["PROBLEMS_KEPT", "PlanStore"]

log = get_logger(__name__)

#: How many problem lines of a feed's latest plan are kept for ``autoclock status``.
PROBLEMS_KEPT = 200


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class PlanStore:
    """Planned calendar fires per feed name."""

    def __init__(
        self, client: redis.Redis, keys: Keys, *, retention: timedelta = timedelta(days=8)
    ) -> None:
        self.client = client
        self.keys = keys
        self.retention = retention

    def _zset(self, feed: str) -> str:
        return self.keys("scheduler", "plan", feed)

    def _hash(self, feed: str) -> str:
        return self.keys("scheduler", "plan", feed, "triggers")

    def replace(self, feed: str, fires: Iterable[Fire], *, now: datetime, grace: timedelta) -> int:
        """Make ``fires`` the plan of ``feed``; returns how many planned fires were deleted.

        Two different fires with one id are never written over each other: the first is
        planned, the other refused and logged (:func:`~.calendars.calendar_fires` reports
        them as problems before they get here)."""
        unique, collisions = unique_fires(fires)
        for kept, refused in collisions:
            log.error(
                "planned fire id collision; the second fire is not planned",
                feed=feed,
                fire=refused.id,
                kept_at=kept.at.isoformat(),
                refused_at=refused.at.isoformat(),
            )
        fresh = {fire.id: fire for fire in unique}
        keep_before = (now - grace).timestamp()
        zset, table = self._zset(feed), self._hash(feed)
        existing = self.client.zrangebyscore(zset, f"({keep_before}", "+inf")
        deleted = [_text(m) for m in existing if _text(m) not in fresh]
        pipe = self.client.pipeline(transaction=True)
        if deleted:
            pipe.zrem(zset, *deleted)
            pipe.hdel(table, *deleted)
        if fresh:
            pipe.zadd(zset, {fid: fire.epoch for fid, fire in fresh.items()})
            pipe.hset(table, mapping={fid: f.trigger.model_dump_json() for fid, f in fresh.items()})
        old = self.client.zrangebyscore(zset, "-inf", f"({(now - self.retention).timestamp()}")
        if old:
            pipe.zrem(zset, *old)
            pipe.hdel(table, *old)
        pipe.execute()
        return len(deleted)

    def set_problems(
        self, feed: str, events: Iterable[EventProblem], lines: Iterable[str], *, now: datetime
    ) -> None:
        """Keep what the latest plan of ``feed`` could not include (``autoclock status``)."""
        events = list(events)
        record = {
            "at": now.isoformat(),
            "skipped": sum(1 for e in events if e.skipped),
            "warnings": sum(1 for e in events if not e.skipped),
            "kinds": kinds(events),
            "lines": list(lines)[:PROBLEMS_KEPT],
        }
        self.client.hset(self.keys("scheduler", "calendar_problems"), feed, json.dumps(record))

    def problems(self) -> dict[str, dict[str, Any]]:
        """Per feed: the problems of its latest plan (``at``, ``skipped``, ``warnings``,
        ``kinds``, ``lines``)."""
        raw = self.client.hgetall(self.keys("scheduler", "calendar_problems"))
        return {_text(k): json.loads(v) for k, v in raw.items()}

    def due(self, feed: str, start: datetime, end: datetime) -> list[Fire]:
        """Planned fires of ``feed`` with ``start < at <= end``, in time order."""
        ids = self.client.zrangebyscore(self._zset(feed), f"({start.timestamp()}", end.timestamp())
        if not ids:
            return []
        raw = self.client.hmget(self._hash(feed), [_text(i) for i in ids])
        fires = []
        for value in raw:
            if value is None:
                continue
            trigger = Trigger.model_validate_json(value)
            fires.append(Fire(at=trigger.occurred_at, trigger=trigger, email=trigger.subject))
        fires.sort(key=lambda f: (f.at, f.id))
        return fires

    def ids(self, feed: str) -> list[str]:
        """Every planned fire id of ``feed`` (tests and status)."""
        return [_text(m) for m in self.client.zrange(self._zset(feed), 0, -1)]
