"""Acceptance: an end-of-day stop after an earlier badge-out notifies the person and their
manager once, through real receivers on loopback (Apprise JSON to an HTTP server, email to an
SMTP server), even when the outcome and its notification messages are delivered twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.notify.helpers import (
    MANAGER,
    STAFF,
    badge,
    end_of_day,
    wait_until,
    write_team,
    yesterday_at,
)
from tests.notify.receivers import text_of
from tests.pipeline.helpers import wait_for_outcomes
from worker.models import Result, TriggerKind
from worker.notify.actor import NOTIFY_QUEUE, notice_message
from worker.notify.model import NoticeResult
from worker.notify.runtime import build_notifier
from worker.pipeline.broker import queue_stats
from worker.rules.load import load_ruleset
from worker.sandbox.seed import Seed


def test_end_of_day_stop_notifies_person_and_manager_once(
    sandbox_factory, pipeline_factory, json_receiver, smtp_receiver, monkeypatch, tmp_path: Path
):
    monkeypatch.setenv("AUTOCLOCK_NOTIFY_CHANNEL_HOOK", json_receiver.url())
    monkeypatch.setenv("AUTOCLOCK_NOTIFY_CHANNEL_MAIL", smtp_receiver.url())
    rules = write_team(tmp_path / "team", ["hook", "mail"])
    sandbox = sandbox_factory(seed=Seed.synthetic(2), rpm=0)
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, rules_dir=rules)
    settings = pipeline.context.settings
    notifier = build_notifier(
        settings, pipeline.context.db, load_ruleset(rules, default_timezone="UTC")
    )
    notifier.start(2)
    try:
        log = pipeline.context.outcomes
        pipeline.queue.enqueue(badge(TriggerKind.BADGE_IN, yesterday_at(8, 2)))
        wait_for_outcomes(log, 1)
        pipeline.queue.enqueue(badge(TriggerKind.BADGE_OUT, yesterday_at(17, 31)))
        wait_for_outcomes(log, 2)
        stop = end_of_day(yesterday_at(19, 0))
        pipeline.queue.enqueue(stop)
        pipeline.queue.enqueue(stop)  # the same fire delivered twice
        outcomes = wait_for_outcomes(log, 4)
        results = sorted(o.result.value for o in outcomes)
        assert results == ["duplicate", "no_rule", "started", "stopped"]

        assert wait_until(lambda: len(json_receiver.posts) >= 2 and len(smtp_receiver.mails) >= 2)
        # the same outcome handled again (a reclaimed stream entry) and every notification
        # message delivered a second time
        stopped = next(o for o in outcomes if o.result is Result.STOPPED)
        assert notifier.consumer.handle(stopped) == 0
        for notice in notifier.consumer.notices_for(stopped):
            notifier.broker.enqueue(notice_message(notice))
        keys = pipeline.context.keys

        def drained() -> bool:
            stats = queue_stats(pipeline.context.db, keys, NOTIFY_QUEUE)
            return stats.ready + stats.fetched + stats.delayed == 0

        assert wait_until(drained)

        by_recipient = {p["recipient"]: p for p in json_receiver.posts}
        assert len(json_receiver.posts) == 2
        assert set(by_recipient) == {STAFF, MANAGER}
        mine = by_recipient[STAFF]["message"]
        assert "Your timer was stopped at 19:00" in mine
        assert "by the end-of-day rule" in mine
        assert "your last badge-out was 17:31" in mine
        assert "Please correct your time in WebWork" in mine
        # the review flag this stop raises, merged into the same message (one per recipient)
        assert (
            "Needs review: stopped by schedule:end-of-day at 19:00 although the last "
            "badge-out was 1h29m earlier (17:31)" in mine
        )
        theirs = by_recipient[MANAGER]["message"]
        assert "Ana Staff's timer was stopped at 19:00" in theirs
        assert "their last badge-out was 17:31" in theirs

        assert len(smtp_receiver.mails) == 2
        assert sorted(r for rcpts, _ in smtp_receiver.mails for r in rcpts) == [STAFF, MANAGER]
        for rcpts, mail in smtp_receiver.mails:
            body = text_of(mail)
            assert "stopped at 19:00" in body
            assert "last badge-out was 17:31" in body
            assert ("Your timer" in body) == (rcpts == [STAFF])

        records = notifier.log.all()
        assert sorted((r.channel, r.address, r.result) for r in records) == sorted(
            (channel, who, NoticeResult.SENT)
            for channel in ("hook", "mail")
            for who in (STAFF, MANAGER)
        )
        shown = subprocess.run(
            [sys.executable, "-m", "worker.cli", "history", "--notifications", "--json"],
            env={
                **os.environ,
                "REDIS_URL": settings.redis_url or "",
                "AUTOCLOCK_NAMESPACE": settings.namespace,
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        lines = [json.loads(line) for line in shown.stdout.splitlines()]
        assert sorted((x["channel"], x["address"], x["result"]) for x in lines) == sorted(
            (channel, who, "sent") for channel in ("hook", "mail") for who in (STAFF, MANAGER)
        )
        assert "hook-pass" not in shown.stdout + shown.stderr
    finally:
        notifier.stop()
