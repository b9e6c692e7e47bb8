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
local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
local resv = redis.call('GET', KEYS[3])
if resv then
  resv = tonumber(resv)
  if now < resv - 1 then return math.ceil(resv - now) end
  redis.call('DEL', KEYS[3])
  if now <= resv + grace and now >= pause then return 0 end
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(tat, now, pause)
redis.call('SET', KEYS[1], tostring(slot + spacing), 'PX', math.ceil(slot + spacing - now) + 60000)
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

    def __init__(self, client: redis.Redis, keys: Keys, *, rpm: int) -> None:
        self.client = client
        self.keys = keys
        self.rpm = rpm
        #: Milliseconds between slots: rpm-1 intervals per minute plus the lateness grace
        #: keeps any 60 s window ≤ rpm calls.
        self.grace_ms = GRACE_MS
        self.spacing_ms = (60_000.0 + self.grace_ms) / max(rpm - 1, 1)
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
                ],
                args=[repr(self.spacing_ms), repr(self.grace_ms)],
            )
        )
        if wait > 0:
            process_metrics().limiter_wait(wait)
        return wait

    def acquire(self, holder: str) -> None:
        """Take a slot now or raise :class:`Backpressure` with the wait (slot reserved).

        A wait of at most ``SHORT_WAIT_MS`` is slept in place: a round trip through the delay
        queue costs more than that, and would let the person's next action overtake this one.
        """
        wait = self.wait_ms(holder)
        if 0 < wait <= SHORT_WAIT_MS:
            time.sleep(wait / 1000)
            wait = self.wait_ms(holder)
        if wait > 0:
            raise Backpressure(wait)

    def acquire_blocking(self, holder: str, *, max_wait_s: float = 120.0) -> None:
        """Take a slot, sleeping for it (for the CLI, never for actors)."""
        deadline = time.monotonic() + max_wait_s
        while True:
            wait = self.wait_ms(holder)
            if wait <= 0:
                return
            if time.monotonic() + wait / 1000 > deadline:
                raise Backpressure(wait)
            time.sleep(wait / 1000)

    def pause(self, seconds: float) -> None:
        """Stop every caller for ``seconds`` (after a 429)."""
        self._pause(keys=[self.keys("rl", "pause")], args=[max(1, math.ceil(seconds * 1000))])
