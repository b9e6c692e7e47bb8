"""The scheduler loop enqueues each fire once, catches up late fires and records missed ones."""

from __future__ import annotations

import shutil
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.scheduler.conftest import ICS, write_rules
from tests.scheduler.helpers import queued_triggers
from worker.models import Result
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.pipeline.outcomes import OutcomeLog
from worker.rules.load import load_ruleset
from worker.scheduler.clock import ManualClock
from worker.scheduler.loop import Scheduler
from worker.settings import Settings
from worker.store import Keys


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def make(
    settings: Settings, client: redis.Redis, tmp_path: Path, clock: ManualClock, **rules: object
) -> Scheduler:
    ruleset = load_ruleset(write_rules(tmp_path / "rules", **rules))  # type: ignore[arg-type]
    queue = TriggerQueue(make_broker(client, Keys(settings.namespace)))
    return Scheduler(settings, client, ruleset, queue, clock=clock)


SCHEDULES = [
    {"name": "early", "at": "09:00", "people": ["ana@example.com"]},
    {"name": "later", "at": "09:20", "people": ["ana@example.com"]},
]


def test_downtime_across_fires_enqueues_late_within_grace_and_records_missed(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """Down 08:00-09:30: the 09:20 fire is enqueued late, 09:00 (beyond 15 min) is missed."""
    settings = settings.model_copy(update={"catchup_grace_s": 900})
    clock = ManualClock(utc(2026, 3, 30, 6, 0))  # 08:00 CEST, a Monday
    first = make(settings, redis_client, tmp_path, clock, schedules=SCHEDULES)
    report = first.tick()
    assert report.enqueued == []
    assert report.missed == []
    assert first.cursor() == utc(2026, 3, 30, 6, 0)
    clock.set(utc(2026, 3, 30, 7, 30))  # restarted at 09:30 CEST
    again = make(settings, redis_client, tmp_path, clock, schedules=SCHEDULES)
    report = again.tick()
    early = "schedule:early:ana@example.com:2026-03-30"
    later = "schedule:later:ana@example.com:2026-03-30"
    assert report.missed == [early]
    assert report.enqueued == [later]
    assert report.late == [later]
    queued = queued_triggers(redis_client, settings.namespace)
    assert [(t["id"], t["late"]) for t in queued] == [(later, True)]
    assert queued[0]["occurred_at"].startswith("2026-03-30T07:20:00")
    outcomes = OutcomeLog(redis_client, Keys(settings.namespace)).all()
    assert [(o.trigger_id, o.result) for o in outcomes] == [(early, Result.MISSED)]
    assert "beyond the catch-up grace" in outcomes[0].reason
    # nothing is repeated by a later tick or another restart
    clock.advance(timedelta(minutes=5))
    assert make(settings, redis_client, tmp_path, clock, schedules=SCHEDULES).tick().enqueued == []
    assert len(queued_triggers(redis_client, settings.namespace)) == 1
    assert len(OutcomeLog(redis_client, Keys(settings.namespace)).all()) == 1


def test_first_run_looks_back_only_the_grace_window(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """With no history, a fire 10 min ago is enqueued (late), one 30 min ago is not examined."""
    settings = settings.model_copy(update={"catchup_grace_s": 900})
    clock = ManualClock(utc(2026, 3, 30, 7, 30))
    report = make(settings, redis_client, tmp_path, clock, schedules=SCHEDULES).tick()
    assert report.enqueued == ["schedule:later:ana@example.com:2026-03-30"]
    assert report.missed == []


def test_on_time_fires_are_not_late_and_two_leaders_enqueue_once(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """Two schedulers ticking over the same window (a brief overlap) enqueue every fire once."""
    clock = ManualClock(utc(2026, 3, 30, 6, 59, 30))
    one = make(settings, redis_client, tmp_path, clock, schedules=SCHEDULES)
    two = make(settings, redis_client, tmp_path, clock, schedules=SCHEDULES)
    one.tick()
    two.tick()
    clock.set(utc(2026, 3, 30, 7, 0, 1))
    a, b = one.tick(), two.tick()
    assert a.enqueued == ["schedule:early:ana@example.com:2026-03-30"]
    assert a.late == []
    assert b.enqueued == []
    queued = queued_triggers(redis_client, settings.namespace)
    assert [(t["id"], t["late"]) for t in queued] == [
        ("schedule:early:ana@example.com:2026-03-30", False)
    ]


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_failed_enqueue_keeps_the_fire_for_the_next_tick(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """If the queue is down, the fire is not claimed away: the next tick enqueues it."""
    clock = ManualClock(utc(2026, 3, 30, 6, 59))
    scheduler = make(settings, redis_client, tmp_path, clock, schedules=SCHEDULES)
    scheduler.tick()
    good_queue = scheduler.queue
    dead = redis.Redis(
        host="127.0.0.1", port=_dead_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    scheduler.queue = TriggerQueue(make_broker(dead, Keys(settings.namespace)))
    clock.set(utc(2026, 3, 30, 7, 0, 30))
    report = scheduler.tick()
    assert report.failed
    assert report.enqueued == []
    assert scheduler.cursor() == utc(2026, 3, 30, 6, 59)
    scheduler.queue = good_queue
    clock.advance(timedelta(seconds=1))
    assert scheduler.tick().enqueued == ["schedule:early:ana@example.com:2026-03-30"]
    dead.close()


def test_feed_window_scrolling_is_not_a_cancellation_but_a_deletion_is(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """Yesterday's shift leaving the feed stays planned; tomorrow's leaving it is deleted."""
    settings = settings.model_copy(update={"catchup_grace_s": 900})
    calendars = [
        {
            "name": "win",
            "path": "calendars/window.ics",
            "person": "ana@example.com",
            "poll_interval": "1m",
        }
    ]
    rules_dir = tmp_path / "rules"
    write_rules(rules_dir, calendars=calendars)
    shutil.copy(ICS / "window-v1.ics", rules_dir / "calendars" / "window.ics")
    clock = ManualClock(utc(2026, 3, 9, 7, 0))
    scheduler = make(settings, redis_client, tmp_path, clock, calendars=calendars)
    scheduler.tick()
    clock.set(utc(2026, 3, 9, 8, 5))  # an hour later the plan is re-expanded: tomorrow comes in
    assert scheduler.tick().enqueued == [
        "calendar:win:yesterday@window:2026-03-09T08:00:00Z:start:ana@example.com"
    ]
    ids = scheduler.plans.ids("win")
    assert any("yesterday@window" in i for i in ids)
    assert any("tomorrow@window" in i for i in ids)
    # down until the next day; meanwhile the feed slid (yesterday gone), tomorrow was deleted
    # and Thursday moved an hour later
    shutil.copy(ICS / "window-v2.ics", rules_dir / "calendars" / "window.ics")
    clock.set(utc(2026, 3, 10, 12, 0))
    restarted = make(settings, redis_client, tmp_path, clock, calendars=calendars)
    report = restarted.tick()
    ids = restarted.plans.ids("win")
    yesterday = "calendar:win:yesterday@window:2026-03-09T08:00:00Z"
    assert f"{yesterday}:start:ana@example.com" in ids, "scrolled out, not cancelled"
    assert not any("tomorrow@window" in i for i in ids), "deleted inside the window"
    # the scrolled-out shift was missed while down: recorded, never silently dropped
    assert report.missed == [f"{yesterday}:end:ana@example.com"]
    thursday = [
        f
        for f in restarted.plans.due("win", utc(2026, 3, 12), utc(2026, 3, 13))
        if f.trigger.kind.value == "shift_start"
    ]
    assert [f.at for f in thursday] == [utc(2026, 3, 12, 9)]
    # a single (non-recurring) event has no RECURRENCE-ID: its occurrence key is its start
    assert (
        thursday[0].id == "calendar:win:thursday@window:2026-03-12T09:00:00Z:start:ana@example.com"
    )
    # down again; back 5 minutes after Thursday's (moved) start: enqueued late, once
    clock.set(utc(2026, 3, 12, 9, 5))
    report = make(settings, redis_client, tmp_path, clock, calendars=calendars).tick()
    assert report.enqueued == [thursday[0].id]
    assert report.late == [thursday[0].id]
    assert [t["id"] for t in queued_triggers(redis_client, settings.namespace)] == [
        f"{yesterday}:start:ana@example.com",
        thursday[0].id,
    ]


_EMPTY_FEED = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n"
_LATE_SHIFT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:added-late@test\r\nDTSTAMP:20260309T075300Z\r\n"
    "DTSTART:20260309T075500Z\r\nDTEND:20260309T160000Z\r\nSUMMARY:Cover shift\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_a_shift_added_shortly_before_it_starts_still_fires_late(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """A shift added at 07:53 for 07:55, seen at the 08:06 poll, is enqueued late, once."""
    settings = settings.model_copy(update={"catchup_grace_s": 900})
    calendars = [
        {
            "name": "cover",
            "path": "calendars/cover.ics",
            "person": "ana@example.com",
            "poll_interval": "15m",
        }
    ]
    rules_dir = tmp_path / "rules"
    write_rules(rules_dir, calendars=calendars)
    feed = rules_dir / "calendars" / "cover.ics"
    feed.write_text(_EMPTY_FEED, newline="")
    clock = ManualClock(utc(2026, 3, 9, 7, 50))
    scheduler = make(settings, redis_client, tmp_path, clock, calendars=calendars)
    assert scheduler.tick().enqueued == []
    feed.write_text(_LATE_SHIFT, newline="")  # added at 07:53, after the last poll
    clock.set(utc(2026, 3, 9, 8, 1))
    assert scheduler.tick().enqueued == []  # not polled yet: the cursor moves past 07:55
    clock.set(utc(2026, 3, 9, 8, 6))  # the next poll sees it, 11 minutes after its start
    report = scheduler.tick()
    start = "calendar:cover:added-late@test:2026-03-09T07:55:00Z:start:ana@example.com"
    assert report.enqueued == [start]
    assert report.late == [start]
    clock.advance(timedelta(seconds=30))
    assert scheduler.tick().enqueued == []
    assert [t["id"] for t in queued_triggers(redis_client, settings.namespace)] == [start]
