"""What autoclock knows about each person's tracker, and the user id ↔ email map.

The known state comes from autoclock's own applied actions and from WebWork's
``tracker.started`` / ``tracker.stopped`` webhooks. It is trusted for
``AUTOCLOCK_KNOWN_STATE_TTL_S`` seconds, which lets a stop for someone known to be idle (or a
start for someone known to be tracking) end without an API call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import redis

from worker.store import Keys

__all__ = ["KnownState", "TrackerState", "dump_state", "parse_state"]


@dataclass(frozen=True)
class KnownState:
    tracking: bool
    at: datetime
    source: str
    """``autoclock`` (our own applied action) or ``webwork`` (WebWork's webhook)."""


def dump_state(tracking: bool, at: datetime, source: str) -> str:
    """The stored form of a known state."""
    return json.dumps({"tracking": tracking, "at": at.isoformat(), "source": source})


def parse_state(raw: bytes | str | None) -> KnownState | None:
    """A stored known state, or None."""
    if raw is None:
        return None
    data = json.loads(raw)
    return KnownState(
        tracking=bool(data["tracking"]),
        at=datetime.fromisoformat(data["at"]),
        source=str(data["source"]),
    )


class TrackerState:
    """Known tracker state per person (by lower-case email), with a freshness TTL."""

    def __init__(self, client: redis.Redis, keys: Keys, *, ttl_s: int) -> None:
        self.client = client
        self.keys = keys
        self.ttl_s = ttl_s

    def set(self, person: str, *, tracking: bool, at: datetime, source: str) -> None:
        """Remember that ``person`` is (not) tracking since ``at``; ignored if ttl is 0."""
        if self.ttl_s <= 0:
            return
        self.client.set(self.key(person), dump_state(tracking, at, source), ex=self.ttl_s)

    def key(self, person: str) -> str:
        return self.keys("state", person.lower())

    def get(self, person: str) -> KnownState | None:
        """The fresh known state of ``person``, or None when unknown or stale."""
        if self.ttl_s <= 0:
            return None
        return parse_state(self.client.get(self.key(person)))

    def get_many(self, people: list[str]) -> dict[str, KnownState]:
        """The fresh known states of ``people`` (emails) that have one, in one ``MGET``."""
        if self.ttl_s <= 0 or not people:
            return {}
        raw = self.client.mget([self.keys("state", p.lower()) for p in people])
        out: dict[str, KnownState] = {}
        for person, value in zip(people, raw, strict=True):
            known = parse_state(value)
            if known is not None:
                out[person] = known
        return out

    def forget(self, person: str) -> None:
        self.client.delete(self.keys("state", person.lower()))

    # ---- user id <-> email, resolved once through GET /members and cached

    def remember_user_id(self, person: str, user_id: int) -> None:
        pipe = self.client.pipeline()
        pipe.hset(self.keys("user-ids"), person.lower(), user_id)
        pipe.hset(self.keys("user-emails"), str(user_id), person.lower())
        pipe.execute()

    def user_id(self, person: str) -> int | None:
        raw = self.client.hget(self.keys("user-ids"), person.lower())
        return int(raw) if raw is not None else None

    def email_for_user_id(self, user_id: int) -> str | None:
        raw = self.client.hget(self.keys("user-emails"), str(user_id))
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)
