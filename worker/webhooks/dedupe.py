"""Dedupe of webhook deliveries by vendor event id, in Redis.

A delivery first *claims* its ids (``SET NX`` of every id, atomically, as ``pending``
with a short TTL). After its trigger is enqueued — or it ended in another final 2xx
decision — the claim is *committed* (``done``, kept ``ttl_s`` ≥ 24 h): a later delivery of
the same id is a duplicate. If the enqueue fails the claim is *released*, so the vendor's
retry is processed; if even the release cannot reach Redis, the pending claim expires by
itself after ``pending_ttl_s``. A delivery that finds a *pending* claim (the same event in
flight right now) is told to retry later (503), never acknowledged.

The receiver's one-round-trip path (:mod:`worker.webhooks.accept`) needs no pending state:
it checks the same keys, enqueues and writes ``done:<kind>`` in one atomic script. Both paths
share these keys and values, so each sees the other's claims.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import redis

from worker.store import Keys

__all__ = ["DONE", "PENDING_PREFIX", "Claim", "ClaimState", "Dedupe"]

#: The value of a committed claim (the hot path appends ``:<kind>``), and the prefix of a
#: pending one (a token follows). Any value that is not pending is a duplicate.
DONE = "done"
PENDING_PREFIX = "pending:"

_CLAIM = """
for i, key in ipairs(KEYS) do
  local seen = redis.call('GET', key)
  if seen then return seen end
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
end
return false
"""

_RELEASE = """
local n = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then n = n + redis.call('DEL', key) end
end
return n
"""


class ClaimState(StrEnum):
    CLAIMED = "claimed"
    DUPLICATE = "duplicate"
    IN_FLIGHT = "in_flight"


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    keys: tuple[str, ...]
    token: str


class Dedupe:
    """Claim / commit / release of event ids; blocking Redis calls (run them off the loop)."""

    def __init__(
        self, client: redis.Redis, keys: Keys, *, ttl_s: int, pending_ttl_s: int = 15
    ) -> None:
        self.client = client
        self.keys = keys
        self.ttl_s = max(int(ttl_s), 86_400)
        self.pending_ttl_s = pending_ttl_s
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)

    def _key(self, source: str, event_id: str) -> str:
        return self.keys("webhooks", "seen", source, event_id)

    def keys_for(self, source: str, event_ids: Sequence[str]) -> tuple[str, ...]:
        """The claim keys of one delivery's ids (each once, in order)."""
        return tuple(dict.fromkeys(self._key(source, i) for i in event_ids))

    def claim(self, source: str, event_ids: Sequence[str]) -> Claim:
        """Claim every id of one delivery; raises ``redis.RedisError`` when Redis is down."""
        keys = self.keys_for(source, event_ids)
        token = PENDING_PREFIX + secrets.token_hex(8)
        seen = self._claim(keys=list(keys), args=[token, self.pending_ttl_s * 1000])
        if seen is None:
            return Claim(ClaimState.CLAIMED, keys, token)
        text = seen.decode() if isinstance(seen, bytes) else str(seen)
        state = ClaimState.IN_FLIGHT if text.startswith(PENDING_PREFIX) else ClaimState.DUPLICATE
        return Claim(state, keys, token)

    def commit(self, claim: Claim) -> None:
        """Mark the ids done for ``ttl_s`` seconds."""
        pipe = self.client.pipeline()
        for key in claim.keys:
            pipe.set(key, DONE, ex=self.ttl_s)
        pipe.execute()

    def release(self, claim: Claim) -> bool:
        """Drop this delivery's pending claim (best effort: False when Redis is down)."""
        try:
            self._release(keys=list(claim.keys), args=[claim.token])
        except (redis.RedisError, OSError):
            return False
        return True
