"""Each fire is claimed once, across replicas and restarts: ``SET NX`` on the fire's id.

The fire id is the trigger id (source + occurrence + person). A claim is first
``pending:<owner>``, and becomes ``done`` once the trigger is enqueued (or ``missed`` once the
missed outcome is recorded), so:

* two leaders overlapping briefly: the second ``SET NX`` fails, the fire is enqueued once;
* a leader killed between claiming and enqueueing: its ``pending`` claim is taken over by the
  replica that now holds the leader lock (a fire is never lost; at worst it is enqueued twice,
  which the pipeline's dedupe ledger absorbs — it keys on the same trigger id);
* an enqueue that fails (Redis down): the claim is released and the fire retried next tick.

Claims expire after ``ttl_s`` (default: the dedupe TTL), long after the fire is past.
"""

from __future__ import annotations

import redis

from worker.store import COMPARE_AND_DELETE, Keys

__all__ = ["Claims"]

_CLAIM = """
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
if string.sub(v, 1, 8) == 'pending:' and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 2
end
return 0
"""


class Claims:
    """Claim fires for ``owner`` (the leader lock's token); ``lock_key`` is that lock."""

    def __init__(
        self, client: redis.Redis, keys: Keys, *, owner: str, lock_key: str, ttl_s: int
    ) -> None:
        self.client = client
        self.keys = keys
        self.owner = owner
        self.lock_key = lock_key
        self.ttl_s = int(ttl_s)
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(COMPARE_AND_DELETE)

    def key(self, fire_id: str) -> str:
        return self.keys("scheduler", "claim", fire_id)

    def claim(self, fire_id: str) -> bool:
        """True if this owner may act on the fire now (fresh claim, or a dead owner's pending)."""
        result = self._claim(
            keys=[self.key(fire_id), self.lock_key],
            args=[f"pending:{self.owner}", self.ttl_s, self.owner],
        )
        return bool(result)

    def complete(self, fire_id: str, how: str = "done") -> None:
        """Mark the fire handled (``done`` or ``missed``)."""
        self.client.set(self.key(fire_id), how, ex=self.ttl_s)

    def release(self, fire_id: str) -> None:
        """Undo our pending claim (the enqueue failed), so the fire is tried again."""
        self._release(keys=[self.key(fire_id)], args=[f"pending:{self.owner}"])

    def state(self, fire_id: str) -> str | None:
        """``pending:<owner>``, ``done``, ``missed`` or ``None`` (tests and ``status``)."""
        value = self.client.get(self.key(fire_id))
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)
