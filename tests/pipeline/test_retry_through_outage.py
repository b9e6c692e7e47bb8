"""A retry asked for just before Redis goes away is stored, not lost.

An actor asks for a retry (``dramatiq.Retry``: the person's lock is busy, WebWork answered
503, a fact could not be read ...); Dramatiq's Retries middleware then re-enqueues the message
through Redis and the worker acknowledges the delivery. Redis stopped exactly between the two
(the worker's Redis client does not retry a refused connection) used to lose the message: the
enqueue failed, the acknowledgement waited for Redis and succeeded, and the trigger stayed
claimed with no outcome (the intermittent failure of
``test_faults.py::test_redis_restarted_mid_run_loses_no_enqueued_trigger``).

Each case runs the real pipeline (in-process worker threads) on its own durable redis-server
and a sandbox; a middleware placed to run just before Retries stops that redis-server at the
first retry of the chosen actor and starts it again ``DOWN_S`` later. The trigger must still
end in exactly one truthful outcome, with the tracker started once.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from dramatiq.middleware import Middleware

from tests.pipeline.helpers import BADGE_RULES, synthetic_email, wait_for_outcomes, write_rules
from tests.pipeline.processes import START_PATH, durable_redis_server
from tests.ports import free_port
from worker.models import Result, Trigger, TriggerKind, utcnow
from worker.pipeline.broker import APPLY_ACTION, EVALUATE_TRIGGER
from worker.pipeline.ledger import PersonLock
from worker.sandbox.seed import Seed

#: How long Redis stays away (the retry's enqueue fails at once; the old code then waited for
#: Redis only to acknowledge the message).
DOWN_S = 4.0

LEAVE_RULES = {
    "policy": {"max_delay": "15m"},
    "rules": [
        {
            "name": "in-unless-on-leave",
            "on": {"kind": "badge_in"},
            "when": {"not_on_leave": True},
            "do": {"action": "start"},
        }
    ],
}


class RedisDiesOnFirstRetry(Middleware):
    """Fault injection: at ``actor``'s first ``dramatiq.Retry``, stop redis-server (SIGTERM,
    as an operator's restart does) before the Retries middleware enqueues the retry, and start
    it again ``DOWN_S`` later. Added last, so it runs first after a message."""

    def __init__(self, actor: str, stop: Callable[[], None], start: Callable[[], None]) -> None:
        self.actor = actor
        self.stop = stop
        self.start = start
        self.fired = threading.Event()
        self.restarted = threading.Event()

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        if self.fired.is_set() or message.actor_name != self.actor:
            return
        if not isinstance(exception, dramatiq.Retry):
            return
        self.fired.set()
        self.stop()
        threading.Thread(target=self._start_later, daemon=True).start()

    def _start_later(self) -> None:
        time.sleep(DOWN_S)
        self.start()
        self.restarted.set()


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("actor", "cause"),
    [
        (APPLY_ACTION, "person lock busy"),
        (APPLY_ACTION, "WebWork 503"),
        (EVALUATE_TRIGGER, "leave lookup 503"),
    ],
)
def test_a_retry_asked_for_as_redis_stops_is_stored_and_the_trigger_ends_once(
    actor: str,
    cause: str,
    sandbox_factory,
    pipeline_factory,
    namespace: str,
    tmp_path: Path,
):
    sandbox = sandbox_factory(seed=Seed.synthetic(1), rpm=0)
    directory = tmp_path / "redis"
    directory.mkdir()
    port = free_port()
    servers: list[subprocess.Popen[bytes]] = [durable_redis_server(directory, port)]

    def stop() -> None:
        servers[-1].send_signal(signal.SIGTERM)
        servers[-1].wait(15)

    def start() -> None:
        servers.append(durable_redis_server(directory, port))

    rules = LEAVE_RULES if cause == "leave lookup 503" else BADGE_RULES
    pipeline = pipeline_factory(
        sandbox.api_url,
        sandbox.owner_token,
        rules_dir=write_rules(tmp_path / "rules", 1, rules=rules),
        redis_url=f"redis://127.0.0.1:{port}/0",
        start=False,
    )
    fault = RedisDiesOnFirstRetry(actor, stop, start)
    pipeline.broker.add_middleware(fault)
    person = synthetic_email(0)
    if cause == "person lock busy":
        # another action of the person holds the lock; it is gone by the time Redis is back
        lock = PersonLock(pipeline.context.db, pipeline.context.keys, ttl_ms=3_000)
        assert lock.acquire(person) is not None
    else:
        sandbox.control.set_faults(outage_s=2)  # WebWork answers 503 for 2 s
    try:
        pipeline.start(4)
        pipeline.queue.enqueue(
            Trigger(
                id="retry-through-outage",
                source="webhook:test",
                kind=TriggerKind.BADGE_IN,
                subject=person,
                occurred_at=utcnow(),
            )
        )
        assert fault.restarted.wait(60), "no retry was asked for"
        outcomes = wait_for_outcomes(pipeline.context.outcomes, 1, timeout_s=45)
        time.sleep(2)  # a second outcome, if any, has time to appear
        outcomes = pipeline.context.outcomes.all()
        calls = sandbox.control.calls()
    finally:
        pipeline.stop(timeout_ms=5_000)
        for server in servers:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                server.wait(15)

    assert [(o.trigger_id, o.result) for o in outcomes] == [
        ("retry-through-outage", Result.STARTED)
    ], [(o.trigger_id, o.result.value, o.reason) for o in outcomes]
    assert [c.status for c in calls if c.path == START_PATH and c.status == 200] == [200]
    assert [t.user_id for t in sandbox.control.state().trackers] == [1000]
