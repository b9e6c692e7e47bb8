"""Retries that survive a Redis outage: a retried message is acknowledged only once its retry
copy is stored.

Dramatiq's ``Retries`` middleware re-enqueues a retried message (``dramatiq.Retry``: waiting
for a person's lock, for API budget, after a transient error ...) and the worker then
acknowledges the delivery. When that enqueue fails — Redis went away between the actor
raising ``Retry`` and the middleware's enqueue (the worker's client does not retry a refused
connection: the enqueue fails at once) — Dramatiq logs the failure and acknowledges the
delivery anyway (it waits for Redis to do that): the message is gone, its trigger claimed and
never ended.

:class:`DurableRetries` is Dramatiq's middleware with that one step changed: the retry is
enqueued again and again until Redis has stored it, and only then does the worker go on to
acknowledge. A worker stopped while it waits never acknowledges: the delivery stays in its
acknowledgement set and comes back once its heartbeat is stale. (A retry whose enqueue
reached Redis while the answer was lost may be stored twice; the pipeline's claims and
ledger make a second delivery of the same message harmless.)
"""

from __future__ import annotations

import random
import time
from typing import Any

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Retries, TimeLimit

from worker.logs import get_logger

__all__ = ["STORE_RETRY_WAIT_S", "DurableRetries"]

log = get_logger(__name__)

#: Between two attempts to store a retry while Redis does not answer (s, jittered).
STORE_RETRY_WAIT_S = 0.5


class DurableRetries(Retries):
    """Dramatiq's ``Retries``, except that the retry copy is stored before the delivery is
    acknowledged (see the module docstring)."""

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None:
            return
        super().after_process_message(  # type: ignore[no-untyped-call]
            _StoringBroker(broker), message, result=result, exception=exception
        )


class _StoringBroker:
    """The broker as ``Retries`` sees it: ``enqueue`` returns only once Redis stored the
    message; everything else is the broker's own."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self._broker = broker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._broker, name)

    def enqueue(
        self, message: dramatiq.Message[Any], *, delay: int | None = None
    ) -> dramatiq.Message[Any]:
        _stop_time_limit(self._broker, message)
        failures = 0
        while True:
            try:
                stored: dramatiq.Message[Any] = self._broker.enqueue(message, delay=delay)
            except (redis.RedisError, OSError) as exc:
                if failures == 0:
                    log.warning(
                        "redis unavailable; the retry is stored once it answers "
                        "(the message stays unacknowledged until then)",
                        message_id=message.message_id,
                        actor=message.actor_name,
                        error=type(exc).__name__,
                    )
                failures += 1
                time.sleep(STORE_RETRY_WAIT_S * random.uniform(0.75, 1.25))  # noqa: S311
                continue
            if failures:
                log.warning(
                    "retry stored after redis came back",
                    message_id=message.message_id,
                    actor=message.actor_name,
                    failed_attempts=failures,
                )
            return stored


def _stop_time_limit(broker: dramatiq.Broker, message: dramatiq.Message[Any]) -> None:
    """End this thread's actor time limit: it bounds the actor's work, not the wait for Redis
    to store the retry (an interrupt there would acknowledge the message unstored)."""
    for middleware in broker.middleware:
        if isinstance(middleware, TimeLimit):
            middleware.after_process_message(broker, message)  # type: ignore[no-untyped-call]
