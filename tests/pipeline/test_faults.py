"""Fault tests with real processes: a worker killed with SIGKILL, the API down, Redis restarted.

Every test runs ``autoclock worker`` processes (or the in-process pipeline where noted)
against a sandbox served over loopback HTTP and a real Redis, and asserts on the sandbox's
call log and tracker state and on the audit history (the outcome stream).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from tests.pipeline.helpers import write_rules
from tests.pipeline.processes import (
    alternating,
    effects_by_user,
    per_trigger,
    start_worker,
    wait_until,
    worker_env,
)
from worker.models import Result
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.pipeline.outcomes import OutcomeLog
from worker.sandbox.seed import Seed
from worker.store import Keys

#: Results that end a trigger without an error.
CLEAN = {
    Result.STARTED,
    Result.STOPPED,
    Result.SUPERSEDED,
    Result.ALREADY_TRACKING,
    Result.NOT_TRACKING,
}
EFFECTS = {Result.STARTED: "started", Result.STOPPED: "stopped"}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_kill_9_mid_run_then_restart_applies_every_trigger_once(
    sandbox_factory, redis_client, redis_url, namespace, tmp_path: Path
):
    """A worker killed with SIGKILL mid-run loses nothing and applies nothing twice."""
    people, steps = 100, 10
    sandbox = sandbox_factory(seed=Seed.synthetic(people), rpm=0)
    rules = write_rules(tmp_path / "rules", people)
    env = worker_env(
        api_url=sandbox.api_url,
        token=sandbox.owner_token,
        redis_url=redis_url,
        namespace=namespace,
        rules_dir=rules,
        data_dir=tmp_path / "data",
    )
    per_person = [alternating(p, steps, ends_tracking=p % 2 == 0) for p in range(people)]
    triggers = [per_person[p][s] for s in range(steps) for p in range(people)]
    keys = Keys(namespace)
    queue = TriggerQueue(make_broker(redis_client, keys))
    log = OutcomeLog(redis_client, keys)
    for trigger in triggers:
        queue.enqueue(trigger)

    first = start_worker(env, tmp_path / "worker-1.log")
    try:
        assert wait_until(lambda: len(log.all()) >= 300, 90), first.log_tail()
    finally:
        first.kill()
    killed_at = len(log.all())
    second = start_worker(env, tmp_path / "worker-2.log")
    started = time.monotonic()
    try:
        assert wait_until(lambda: len(log.all()) >= len(triggers), 150, 0.5), second.log_tail()
        recovered_s = time.monotonic() - started
    finally:
        second.stop()

    outcomes = log.all()
    print(f"killed at {killed_at} outcomes; the rest took {recovered_s:.1f} s after restart")
    assert per_trigger(outcomes) == Counter({t.id: 1 for t in triggers})
    unclean = [(o.trigger_id, o.result.value, o.reason) for o in outcomes if o.result not in CLEAN]
    assert not unclean, unclean
    effects = effects_by_user(sandbox.control.calls())
    for person in range(people):
        email = per_person[person][0].subject
        applied = [
            EFFECTS[o.result]
            for o in sorted(outcomes, key=lambda o: o.occurred_at)
            if o.person == email and o.result in EFFECTS
        ]
        # One effect in the sandbox per applied outcome, in the same order: no trigger
        # started or stopped a tracker twice.
        assert effects.get(1000 + person, []) == applied, person
    tracking = {t.user_id for t in sandbox.control.state().trackers}
    assert tracking == {1000 + p for p in range(people) if p % 2 == 0}
