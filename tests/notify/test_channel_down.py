"""A channel that is down or hangs does not delay a stop; its failure is recorded, it is
retried, and no channel URL or secret reaches the outcomes, the records or the logs."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.notify.helpers import MANAGER, STAFF, badge, end_of_day, wait_until, write_team
from tests.notify.helpers import yesterday_at as at
from tests.notify.receivers import JsonReceiver
from tests.pipeline.helpers import wait_for_outcomes
from tests.ports import free_port
from worker.models import Result, TriggerKind
from worker.notify.model import NoticeResult
from worker.notify.runtime import build_notifier
from worker.rules.load import load_ruleset
from worker.sandbox.seed import Seed

SECRET = "s3cret-hook-password-4242"


def _start(pipeline_factory, sandbox_factory, tmp_path: Path, **overrides):
    rules = write_team(tmp_path / "team", ["hook"])
    sandbox = sandbox_factory(seed=Seed.synthetic(2), rpm=0)
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, rules_dir=rules, **overrides)
    settings = pipeline.context.settings
    notifier = build_notifier(
        settings, pipeline.context.db, load_ruleset(rules, default_timezone="UTC")
    )
    notifier.start(2)
    return pipeline, notifier


def test_a_down_channel_is_recorded_retried_and_then_delivers(
    sandbox_factory, pipeline_factory, monkeypatch, tmp_path, capfd
):
    port = free_port()
    monkeypatch.setenv("AUTOCLOCK_NOTIFY_CHANNEL_HOOK", f"json://hook:{SECRET}@127.0.0.1:{port}/x")
    pipeline, notifier = _start(
        pipeline_factory, sandbox_factory, tmp_path, notify_retry_s=0.3, notify_max_attempts=20
    )
    receiver = JsonReceiver(port=port)
    try:
        log = pipeline.context.outcomes
        pipeline.queue.enqueue(badge(TriggerKind.BADGE_IN, at(8, 0)))
        wait_for_outcomes(log, 1)
        pipeline.queue.enqueue(end_of_day(at(19, 0)))
        outcomes = wait_for_outcomes(log, 2)
        assert [o.result for o in outcomes] == [Result.STARTED, Result.STOPPED]

        def records(result: NoticeResult) -> list:
            return [r for r in notifier.log.all() if r.result is result]

        assert wait_until(lambda: len(records(NoticeResult.RETRYING)) >= 2)
        failed = records(NoticeResult.RETRYING)[0]
        assert "channel 'hook' did not accept the notification" in failed.reason
        assert "attempt 1 of 20" in failed.reason

        receiver.start()  # the channel comes back: the retries deliver
        assert wait_until(lambda: len(records(NoticeResult.SENT)) == 2)
        assert sorted(p["recipient"] for p in receiver.posts) == [STAFF, MANAGER]
        assert [o.result for o in log.all()] == [Result.STARTED, Result.STOPPED]

        stored = b"".join(
            (pipeline.context.db.dump(key) or b"")
            for key in pipeline.context.db.scan_iter(match=f"{pipeline.context.keys('')}*")
        )
        assert SECRET.encode() not in stored
        assert str(port).encode() + b"/x" not in stored
        out, err = capfd.readouterr()
        assert SECRET not in out + err
        assert f"127.0.0.1:{port}" not in out + err
    finally:
        notifier.stop()
        receiver.stop()


def test_a_hanging_channel_does_not_delay_stops(
    sandbox_factory, pipeline_factory, monkeypatch, tmp_path
):
    """A channel that accepts the connection and never answers holds only the notification
    threads: stops for other people keep being applied meanwhile."""
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(64)  # never accepted: connections complete, no answer ever comes
    port = hang.getsockname()[1]
    monkeypatch.setenv("AUTOCLOCK_NOTIFY_CHANNEL_HOOK", f"json://127.0.0.1:{port}/x?rto=20")
    pipeline, notifier = _start(
        pipeline_factory, sandbox_factory, tmp_path, notify_retry_s=30, notify_max_attempts=2
    )
    try:
        log = pipeline.context.outcomes
        for subject in ("B0", "B1"):
            pipeline.queue.enqueue(badge(TriggerKind.BADGE_IN, at(8, 0), subject=subject))
        wait_for_outcomes(log, 2)
        pipeline.queue.enqueue(end_of_day(at(19, 0), STAFF))
        wait_for_outcomes(log, 3)
        # both notification threads are now held by the hanging channel (person + manager)
        pipeline.queue.enqueue(end_of_day(at(19, 0), MANAGER))
        outcomes = wait_for_outcomes(log, 4)
        assert sorted(o.result.value for o in outcomes) == [
            "started",
            "started",
            "stopped",
            "stopped",
        ]
        assert notifier.log.all() == []  # no attempt has even ended yet
    finally:
        hang.close()
        notifier.stop()
