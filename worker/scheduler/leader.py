"""Leader election among scheduler replicas: one Redis lock with a random token.

The lock is ``SET key token NX PX ttl``; the holder renews it every ``ttl / 3`` with a
compare-and-renew Lua script (only the token's owner can extend or release it). A replica
believes it leads only until ``0.75 x ttl`` after its last successful renewal, measured on
its own monotonic clock from *before* the call, so it stops acting before Redis could hand
the lock to anyone else. If the leader dies (even by SIGKILL), the key expires and another
replica acquires it within ``ttl`` (+ one renewal interval).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable

import redis

from worker.logs import get_logger
from worker.store import COMPARE_AND_DELETE

__all__ = ["LeaderElector", "LeaderLock"]

log = get_logger(__name__)

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


#: Fraction of the TTL a holder trusts its lease after a successful acquire/renew.
LEASE_FRACTION = 0.75


class LeaderLock:
    """A Redis lock at ``key`` owned by a random ``token``, held for ``ttl_s`` seconds."""

    def __init__(
        self, client: redis.Redis, key: str, *, ttl_s: float, token: str | None = None
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("the leader lock TTL must be positive")
        self.client = client
        self.key = key
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.token = token or secrets.token_hex(16)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(COMPARE_AND_DELETE)

    @property
    def ttl_s(self) -> float:
        return self.ttl_ms / 1000

    def acquire(self) -> bool:
        """Take the lock if nobody holds it (or we already do, then renew it)."""
        if self.client.set(self.key, self.token, nx=True, px=self.ttl_ms):
            return True
        return self.renew()

    def renew(self) -> bool:
        """Extend the lock if we hold it; False if it expired or someone else holds it."""
        return bool(self._renew(keys=[self.key], args=[self.token, self.ttl_ms]))

    def release(self) -> bool:
        """Give the lock up if we hold it, so another replica can lead at once."""
        return bool(self._release(keys=[self.key], args=[self.token]))

    def holder(self) -> str | None:
        """The token of the current holder, if any."""
        value = self.client.get(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)


class LeaderElector:
    """Keep trying to lead in a background thread; :meth:`is_leader` says whether we do now.

    ``on_change(leading)`` is called (from the elector's thread) when leadership is gained
    or lost; changes are logged.
    """

    def __init__(
        self,
        lock: LeaderLock,
        *,
        on_change: Callable[[bool], None] | None = None,
        name: str = "scheduler",
    ) -> None:
        self.lock = lock
        self.on_change = on_change
        self.name = name
        self.interval_s = lock.ttl_s / 3
        self._lease_until = 0.0
        self._leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def is_leader(self) -> bool:
        """True while our lease is valid (see the module docstring)."""
        return time.monotonic() < self._lease_until

    def step(self) -> bool:
        """One acquire-or-renew attempt; returns whether we lead afterwards."""
        began = time.monotonic()
        try:
            ok = self.lock.acquire()
        except (redis.RedisError, OSError) as exc:
            log.warning("leader lock unavailable", error=type(exc).__name__)
            ok = False
        if ok:
            self._lease_until = began + self.lock.ttl_s * LEASE_FRACTION
        else:
            self._lease_until = min(self._lease_until, time.monotonic())
        self._changed(self.is_leader())
        return self.is_leader()

    def _changed(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        if leading:
            log.info("leadership acquired", component=self.name, ttl_s=self.lock.ttl_s)
        else:
            log.warning("leadership lost", component=self.name)
        if self.on_change is not None:
            self.on_change(leading)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        """Start the background thread (acquires at once if the lock is free)."""
        self.step()
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-elector", daemon=True)
        self._thread.start()

    def stop(self, *, release: bool = True) -> None:
        """Stop campaigning; with ``release`` give the lock up so another replica takes over."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.lock.ttl_s + 1)
        was = self._leading
        self._lease_until = 0.0
        if release:
            with contextlib.suppress(redis.RedisError, OSError):
                self.lock.release()
        if was:
            self._changed(False)
