"""Running the actors in this process: a Dramatiq ``Worker`` with threads, stopped cleanly.

``autoclock worker`` runs one such process; scale out by running more (on any host, same
Redis). A process that dies is restarted by its supervisor; its unacknowledged messages
return to the queue once its heartbeat is older than the broker's heartbeat timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from worker.pipeline.actors import Actors, declare_actors
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.pipeline.context import Context
from worker.rules.loader import Ruleset
from worker.settings import Settings
from worker.store import Keys, RedisHandle
from worker.webwork.client import WebWorkClient

__all__ = ["Pipeline", "build_pipeline"]

#: How long a stopping worker waits for in-flight actions (ms).
SHUTDOWN_TIMEOUT_MS = 30_000


@dataclass
class Pipeline:
    """The broker, the actors and their context for this process, and its worker if started."""

    broker: RedisBroker
    context: Context
    actors: Actors
    queue: TriggerQueue
    worker: dramatiq.Worker | None = None

    def start(self, threads: int) -> None:
        """Start consuming with ``threads`` worker threads (returns at once)."""
        self.broker.emit_after("process_boot")
        self.worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=250)
        self.worker.start()

    def stop(self, timeout_ms: int = SHUTDOWN_TIMEOUT_MS) -> None:
        if self.worker is not None:
            self.worker.stop(timeout=timeout_ms)
            self.worker = None
        self.broker.close()
        self.context.client.close()


def build_pipeline(
    settings: Settings,
    handle: RedisHandle,
    ruleset: Ruleset,
    *,
    webwork: WebWorkClient | None = None,
) -> Pipeline:
    """Broker + context + actors on ``handle``'s Redis, under the settings' namespace."""
    keys = Keys(settings.namespace)
    broker = make_broker(handle.client, keys)
    context = Context.build(settings, handle.client, ruleset, webwork=webwork)
    actors = declare_actors(broker, context)
    return Pipeline(broker=broker, context=context, actors=actors, queue=TriggerQueue(broker))
