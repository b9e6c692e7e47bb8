"""The baseline of part 1: a bare Dramatiq worker process with one no-op actor.

``python -m bench.noop_worker REDIS_URL NAMESPACE THREADS`` consumes queue ``noop`` with
Dramatiq's default middleware and the same worker settings as ``autoclock worker``
(``worker_timeout`` 250 ms), prints ``ready`` once consuming and stops on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading

import dramatiq
from dramatiq.brokers.redis import RedisBroker

__all__ = ["QUEUE", "declare", "main"]

QUEUE = "noop"


def noop() -> None:
    """Does nothing: the cost measured is Dramatiq's own (fetch, decode, middleware, ack)."""


def declare(broker: RedisBroker) -> dramatiq.Actor[[], None]:
    return dramatiq.Actor(
        noop, broker=broker, actor_name="noop", queue_name=QUEUE, priority=0, options={}
    )


def main() -> None:
    url, ns, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    broker = RedisBroker(url=url, namespace=ns)  # type: ignore[no-untyped-call]
    declare(broker)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=250)
    worker.start()
    print("ready", flush=True)
    stop.wait()
    worker.stop(timeout=10_000)
    broker.close()


if __name__ == "__main__":
    main()
