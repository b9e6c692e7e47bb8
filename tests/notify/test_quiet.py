"""Quiet hours: the period's end as a property over zones, windows and instants; and with a
real pipeline and receiver, a person in a quiet period gets one digest when it ends."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.notify.helpers import MANAGER, STAFF, ZONE, badge, end_of_day, wait_until, write_team
from tests.notify.helpers import yesterday_at as at
from tests.pipeline.helpers import wait_for_outcomes
from worker.models import TriggerKind
from worker.notify.model import NoticeResult
from worker.notify.quiet import quiet_until
from worker.notify.runtime import build_notifier
from worker.rules.load import load_ruleset
from worker.sandbox.seed import Seed

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


def _inside(clock: time, start: time, end: time) -> bool:
    return start <= clock < end if start < end else (clock >= start or clock < end)


@settings(max_examples=400, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=st.times(),
    end=st.times(),
    now=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
)
def test_quiet_until_ends_the_period_at_its_local_end(zone, start, end, now):
    tz = ZoneInfo(zone)
    release = quiet_until(now, tz, (start, end))
    clock = now.astimezone(tz).time().replace(tzinfo=None)
    if start == end or not _inside(clock, start, end):
        assert release is None
        return
    assert release is not None
    assert now < release <= now + timedelta(hours=26)
    wall = release.astimezone(tz).replace(tzinfo=None)
    target = datetime.combine(wall.date(), end)
    # the end's wall time, or just after it when DST skipped it
    assert target <= wall <= target + timedelta(hours=1)
    # no instant between now and the release is outside the period (checked on the hour)
    probe = now
    while probe + timedelta(minutes=30) < release:
        probe += timedelta(minutes=30)
        assert _inside(probe.astimezone(tz).time().replace(tzinfo=None), start, end)


def test_a_quiet_period_becomes_one_digest_per_recipient(
    sandbox_factory, pipeline_factory, json_receiver, monkeypatch, tmp_path: Path
):
    monkeypatch.setenv("AUTOCLOCK_NOTIFY_CHANNEL_HOOK", json_receiver.url())
    local = datetime.now(ZONE)
    window = [
        (local - timedelta(hours=1)).strftime("%H:%M"),
        (local + timedelta(hours=1)).strftime("%H:%M"),
    ]
    rules = write_team(
        tmp_path / "team",
        ["hook"],
        rules=[
            {"name": "badge-in-starts", "on": {"kind": "badge_in"}, "do": {"action": "start"},
             "notify": {"to": ["person"]}},
            {"name": "end-of-day", "on": {"kind": "tick"}, "do": {"action": "stop"},
             "notify": {"to": ["person", "manager"]}},
        ],
        quiet_hours=window,
    )  # fmt: skip
    sandbox = sandbox_factory(seed=Seed.synthetic(2), rpm=0)
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, rules_dir=rules)
    notifier = build_notifier(
        pipeline.context.settings, pipeline.context.db, load_ruleset(rules, default_timezone="UTC")
    )
    notifier.start(2)
    try:
        log = pipeline.context.outcomes
        pipeline.queue.enqueue(badge(TriggerKind.BADGE_IN, at(8, 0)))
        wait_for_outcomes(log, 1)
        pipeline.queue.enqueue(end_of_day(at(19, 0)))
        wait_for_outcomes(log, 2)

        def held() -> list:
            return [r for r in notifier.log.all() if r.result is NoticeResult.HELD]

        assert wait_until(lambda: len(held()) == 3)
        assert json_receiver.posts == []

        later = datetime.now(UTC) + timedelta(hours=1, minutes=2)
        notifier.consumer.clock = lambda: later  # the quiet period is over
        assert wait_until(lambda: len(json_receiver.posts) == 2)
        by = {p["recipient"]: p for p in json_receiver.posts}
        assert set(by) == {STAFF, MANAGER}
        mine = by[STAFF]["message"]
        assert mine.count("\n- ") == 2
        assert "Your timer was started at 08:00" in mine
        assert "Your timer was stopped at 19:00" in mine
        assert by[MANAGER]["message"].count("\n- ") == 1
        assert "2 notifications from your quiet hours" in by[STAFF]["title"]
        assert wait_until(
            lambda: sum(r.result is NoticeResult.SENT for r in notifier.log.all()) == 2
        )
        notifier.consumer.release_digests()  # nothing is released twice
        assert len(json_receiver.posts) == 2
    finally:
        notifier.stop()
