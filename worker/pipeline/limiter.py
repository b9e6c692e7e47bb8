"""One API budget for every worker process and host: a rate limiter in Redis.

WebWork allows ``WEBWORK_RPM`` requests per minute per token. The limiter spaces calls
evenly (GCRA). A caller that finds no free slot *reserves* the next one (keyed by its
Dramatiq message id) and is told how long to wait; the actor re-enqueues itself with that
delay, so waiting blocks no thread and burns no retry, and the reserved slot is its own when
it comes back — up to ``GRACE_MS`` late, because a delayed Dramatiq message reaches a worker
thread a few hundred milliseconds after its eta (the delay and work queues are polled every
≤ 250 ms). A holder later than that loses the slot and reserves a new one.

Since a call may leave up to ``GRACE_MS`` after its slot, slot *n+1* starts
``(60 s + GRACE_MS) / (rpm - 1)`` after slot *n*: any 60-second window — however the server
counts it — then holds at most ``rpm`` calls. A 429 pauses the budget for everyone for
``Retry-After`` seconds.

**Bursts** (``WEBWORK_BURST``, default 1 = none): with ``burst`` B > 1, slots are
``60 s / rpm`` apart but up to B of them may fall at once (GCRA tolerance), and a log of the
last ``rpm`` slots keeps any ``60 s + GRACE_MS`` window at ``rpm`` calls or fewer — so bursts
stay safe under any server window, and 25 calls at 10 rpm with B = 10 take about 2 minutes
instead of 2.7. A server that counts with a token bucket smaller than B would answer 429s,
which pause everyone: WebWork does not document its window, hence the default.
"""

from __future__ import annotations

import math
import time

import redis

from worker.errors import Backpressure
from worker.metrics.process import process_metrics
from worker.store import Keys

__all__ = ["GRACE_MS", "RateLimiter"]

#: How late (ms) a caller may come back for its reserved slot and still use it.
GRACE_MS = 1_000.0

#: The GCRA step as a Lua function, so that a script of the actors can take a slot in the same
#: round trip as its own writes (:mod:`worker.pipeline.atomic`). KEYS: tat, pause, this
#: holder's reservation, slot log; ARGV (from ``a``): spacing, grace, tolerance, window, cap.
ACQUIRE_LUA = """
local function acquire(k_tat, k_pause, k_resv, k_log, a)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local spacing = tonumber(a[1])
local grace = tonumber(a[2])
local tolerance = tonumber(a[3])
local window = tonumber(a[4])
local cap = tonumber(a[5])
local v = redis.call('MGET', k_tat, k_pause, k_resv)
local pause = tonumber(v[2] or '0')
local resv = v[3]
if resv then
  resv = tonumber(resv)
  if now < resv - 1 then return math.ceil(resv - now) end
  redis.call('DEL', k_resv)
  if now <= resv + grace and now >= pause then return 0 end
end
local tat = tonumber(v[1] or '0')
local slot = math.max(tat - tolerance, now, pause)
if cap > 0 then
  local n = redis.call('LLEN', k_log)
  -- slots in the log only grow, so the cap-th newest bounds every window
  if n > 0 then slot = math.max(slot, tonumber(redis.call('LINDEX', k_log, -1))) end
  if n >= cap then
    slot = math.max(slot, tonumber(redis.call('LINDEX', k_log, -cap)) + window)
  end
end
local next_tat = math.max(tat, slot) + spacing
redis.call('SET', k_tat, tostring(next_tat), 'PX', math.ceil(next_tat - now) + 60000)
if cap > 0 then
  redis.call('RPUSH', k_log, tostring(slot))
  redis.call('LTRIM', k_log, -cap, -1)
  redis.call('PEXPIRE', k_log, math.ceil(slot - now + window) + 60000)
end
if slot <= now then return 0 end
redis.call('SET', k_resv, tostring(slot), 'PX', math.ceil(slot - now + grace) + 60000)
return math.ceil(slot - now)
end
"""

_ACQUIRE = ACQUIRE_LUA + "return acquire(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV)\n"

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then
  redis.call('SET', KEYS[1], tostring(until_ms), 'PX', tonumber(ARGV[1]) + 1000)
end
return until_ms
"""


#: Waits up to this long (ms) are slept in the calling thread instead of re-enqueued.
SHORT_WAIT_MS = 50


class RateLimiter:
    """A shared, Redis-backed budget of ``rpm`` API calls per minute."""

    def __init__(self, client: redis.Redis, keys: Keys, *, rpm: int, burst: int = 1) -> None:
        self.client = client
        self.keys = keys
        self.rpm = rpm
        self.burst = max(1, min(burst, rpm))
        self.grace_ms = GRACE_MS
        self.window_ms = 60_000.0 + self.grace_ms
        if self.burst == 1:
            #: Milliseconds between slots: rpm-1 intervals per minute plus the lateness grace
            #: keeps any 60 s window ≤ rpm calls.
            self.spacing_ms = self.window_ms / max(rpm - 1, 1)
            self.tolerance_ms, self.cap = 0.0, 0
        else:  # evenly spaced on average, B at once; the slot log guards every window
            self.spacing_ms = 60_000.0 / rpm
            self.tolerance_ms, self.cap = (self.burst - 1) * self.spacing_ms, rpm
        self._acquire = client.register_script(_ACQUIRE)
        self._pause = client.register_script(_PAUSE)

    def script_keys(self, holder: str) -> list[str]:
        """KEYS of :data:`ACQUIRE_LUA` for ``holder``: tat, pause, its reservation, slot log."""
        return [
            self.keys("rl", "tat"),
            self.keys("rl", "pause"),
            self.keys("rl", "resv", holder),
            self.keys("rl", "log"),
        ]

    def script_args(self) -> list[str | int]:
        """The arguments of :data:`ACQUIRE_LUA`: spacing, grace, tolerance, window, cap."""
        return [
            repr(self.spacing_ms),
            repr(self.grace_ms),
            repr(self.tolerance_ms),
            repr(self.window_ms),
            self.cap,
        ]

    def wait_ms(self, holder: str) -> int:
        """0 if ``holder`` may call now (its slot is consumed), else milliseconds to wait.

        A positive answer reserves the next slot for ``holder`` (e.g. a message id).
        """
        wait = int(self._acquire(keys=self.script_keys(holder), args=self.script_args()))
        if wait > 0:
            process_metrics().limiter_wait(wait)
        return wait

    def acquire(self, holder: str, *, max_sleep_ms: int = SHORT_WAIT_MS) -> None:
        """Take a slot now or raise :class:`Backpressure` with the wait (slot reserved).

        A wait of at most ``max_sleep_ms`` (default ``SHORT_WAIT_MS``) is slept in place: a
        round trip through the delay queue costs more than that, and would let the person's
        next action overtake this one.
        """
        wait = self.wait_ms(holder)
        if 0 < wait <= max_sleep_ms:
            time.sleep(wait / 1000)
            wait = self.wait_ms(holder)
        if wait > 0:
            raise Backpressure(wait)

    def pause(self, seconds: float) -> None:
        """Stop every caller for ``seconds`` (after a 429)."""
        self._pause(keys=[self.keys("rl", "pause")], args=[max(1, math.ceil(seconds * 1000))])
