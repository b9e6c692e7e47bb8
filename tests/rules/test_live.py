"""LiveRules: a valid edit is swapped in and told to the roles, a broken one keeps the old
rules and is reported, SIGHUP reloads at once."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import redis

from tests.rules.conftest import edit
from tests.scheduler.conftest import write_rules
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.rules.live import LiveRules, current_warnings
from worker.rules.load import load_ruleset
from worker.scheduler.clock import ManualClock
from worker.scheduler.loop import Scheduler
from worker.settings import Settings
from worker.store import Keys


def _wait(predicate, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def test_a_valid_edit_reaches_the_scheduler_and_a_broken_one_keeps_the_old_rules(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    rules = write_rules(tmp_path / "rules", schedules=[{"name": "eod", "at": "19:00"}])
    live = LiveRules(load_ruleset(rules))
    queue = TriggerQueue(make_broker(redis_client, Keys(settings.namespace)))
    clock = ManualClock(datetime(2026, 3, 30, 6, tzinfo=UTC))
    scheduler = Scheduler(settings, redis_client, live.current, queue, clock=clock)
    live.subscribe(lambda rs: setattr(scheduler, "ruleset", rs))
    window = (datetime(2026, 3, 30, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    assert {f.trigger.source for f in scheduler.due_fires(*window)} == {"schedule:eod"}
    first = live.current.version

    write_rules(
        rules, schedules=[{"name": "eod", "at": "19:00"}, {"name": "noon", "cron": "0 12 * * *"}]
    )
    assert live.changed()
    assert live.reload("test")
    assert live.current.version != first
    assert {f.trigger.source for f in scheduler.due_fires(*window)} == {
        "schedule:eod",
        "schedule:noon",
    }
    second = live.current

    edit(rules / "sources.yaml", "0 12 * * *", "0 25 * * *")
    assert not live.reload("test")
    assert live.current is second
    assert scheduler.ruleset is second
    warnings = live.warnings()
    assert f"still using version {second.version}" in warnings[0]
    assert "sources.yaml:" in warnings[1]
    assert "invalid cron expression '0 25 * * *'" in warnings[1]
    assert warnings[1] in current_warnings()

    edit(rules / "sources.yaml", "0 25 * * *", "0 13 * * *")
    assert live.reload("test")
    assert live.warnings() == []
    assert warnings[1] not in current_warnings()


def test_sighup_reloads_at_once_and_a_file_change_is_noticed_by_the_watcher(
    tmp_path: Path,
) -> None:
    rules = write_rules(tmp_path / "rules")
    live = LiveRules(load_ruleset(rules))
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGHUP)
    try:
        live.install_sighup()
        live.watch(stop, interval_s=3600)  # only SIGHUP can wake it this soon
        before = live.current.version
        edit(rules / "rules.yaml", "name: end-of-day", "name: end-of-the-day")
        os.kill(os.getpid(), signal.SIGHUP)
        assert _wait(lambda: live.current.version != before)
        assert [r.name for r in live.current.rules][-1] == "end-of-the-day"
    finally:
        stop.set()
        live.request()
        signal.signal(signal.SIGHUP, previous)
    stop = threading.Event()
    try:
        live.watch(stop, interval_s=0.05)
        before = live.current.version
        edit(rules / "rules.yaml", "name: end-of-the-day", "name: end-of-day")
        assert _wait(lambda: live.current.version != before)
    finally:
        stop.set()
