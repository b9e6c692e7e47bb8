"""Running the actors in this process: a Dramatiq ``Worker`` with threads, stopped cleanly.

``autoclock worker`` runs one such process; scale out by running more (on any host, same
Redis). A process that dies is restarted by its supervisor; its unacknowledged messages
return to the queue once its heartbeat is older than the broker's heartbeat timeout.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from worker.clock import Clock, utcnow
from worker.pipeline.actors import Actors, declare_actors
from worker.pipeline.broker import TriggerQueue, forget_stopped_worker, make_broker
from worker.pipeline.context import Context
from worker.rules.ruleset import Ruleset
from worker.settings import Settings
from worker.store import RedisHandle
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

    def healthy(self) -> bool:
        """False once this process should be replaced: a Dramatiq thread died, or Redis was
        lost and has come back.

        After a Redis outage Dramatiq keeps the messages this worker had fetched in its
        acknowledgement set and re-delivers them only once the worker is gone (its heartbeat
        expires). So a worker that lost Redis waits for it to return — its actor threads wait
        too, so no retry is lost — then stops cleanly and exits (``autoclock worker`` with
        status 4), and its supervisor starts a fresh one.
        """
        if self.worker is None:
            return False
        threads = [*self.worker.consumers.values(), *self.worker.workers]
        if not all(thread.is_alive() for thread in threads):
            return False
        try:
            self.context.db.ping()
        except (redis.RedisError, OSError):
            self.actors.redis_lost.set()
            return True  # nothing to gain from exiting while Redis is away
        return not self.actors.redis_lost.is_set()

    def problems(self) -> list[str]:
        """Why this worker is not alive (empty: alive), for the admin listener's ``/healthz``:
        Dramatiq threads stopped, Redis unreachable, or Redis back after an outage (the
        process is about to restart, see :meth:`healthy`)."""
        if self.worker is None:
            return ["the Dramatiq worker is not running"]
        problems = []
        threads = [*self.worker.consumers.values(), *self.worker.workers]
        stopped = [t for t in threads if not t.is_alive()]
        if stopped:
            problems.append(f"{len(stopped)} of {len(threads)} Dramatiq threads stopped")
        try:
            self.context.db.ping()
        except (redis.RedisError, OSError) as exc:
            problems.append(f"redis unreachable ({type(exc).__name__})")
        else:
            if self.actors.redis_lost.is_set():
                problems.append("redis came back after an outage; this worker restarts")
        return problems

    def stop(self, timeout_ms: int = SHUTDOWN_TIMEOUT_MS) -> None:
        """Stop the worker (in-flight actions finish, prefetched messages go back), then say
        goodbye: a cleanly stopped worker leaves no heartbeat that looks alive."""
        if self.worker is not None:
            self.worker.stop(timeout=timeout_ms)
            self.worker = None
            with contextlib.suppress(redis.RedisError, OSError):
                forget_stopped_worker(self.context.db, self.context.keys, self.broker.broker_id)
        self.broker.close()
        self.context.client.close()


def build_pipeline(
    settings: Settings,
    handle: RedisHandle,
    ruleset: Ruleset,
    *,
    webwork: WebWorkClient | None = None,
    clock: Clock = utcnow,
) -> Pipeline:
    """Broker + context + actors on ``handle``'s Redis, under the settings' namespace, reading
    "now" from ``clock``."""
    broker = make_broker(handle.client, handle.keys)
    context = Context.build(settings, handle.client, ruleset, webwork=webwork, clock=clock)
    actors = declare_actors(broker, context)
    return Pipeline(broker=broker, context=context, actors=actors, queue=TriggerQueue(broker))
