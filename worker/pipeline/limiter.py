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

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local spacing = tonumber(ARGV[1])
local grace = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
local resv = redis.call('GET', KEYS[3])
if resv then
  resv = tonumber(resv)
  if now < resv - 1 then return math.ceil(resv - now) end
  redis.call('DEL', KEYS[3])
  if now <= resv + grace and now >= pause then return 0 end
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(tat - tolerance, now, pause)
if cap > 0 then
  local n = redis.call('LLEN', KEYS[4])
  -- slots in the log only grow, so the cap-th newest bounds every window
  if n > 0 then slot = math.max(slot, tonumber(redis.call('LINDEX', KEYS[4], -1))) end
  if n >= cap then
    slot = math.max(slot, tonumber(redis.call('LINDEX', KEYS[4], -cap)) + window)
  end
end
local next_tat = math.max(tat, slot) + spacing
redis.call('SET', KEYS[1], tostring(next_tat), 'PX', math.ceil(next_tat - now) + 60000)
if cap > 0 then
  redis.call('RPUSH', KEYS[4], tostring(slot))
  redis.call('LTRIM', KEYS[4], -cap, -1)
  redis.call('PEXPIRE', KEYS[4], math.ceil(slot - now + window) + 60000)
end
if slot <= now then return 0 end
redis.call('SET', KEYS[3], tostring(slot), 'PX', math.ceil(slot - now + grace) + 60000)
return math.ceil(slot - now)
"""

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

    def wait_ms(self, holder: str) -> int:
        """0 if ``holder`` may call now (its slot is consumed), else milliseconds to wait.

        A positive answer reserves the next slot for ``holder`` (e.g. a message id).
        """
        wait = int(
            self._acquire(
                keys=[
                    self.keys("rl", "tat"),
                    self.keys("rl", "pause"),
                    self.keys("rl", "resv", holder),
                    self.keys("rl", "log"),
                ],
                args=[
                    repr(self.spacing_ms),
                    repr(self.grace_ms),
                    repr(self.tolerance_ms),
                    repr(self.window_ms),
                    self.cap,
                ],
            )
        )
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
