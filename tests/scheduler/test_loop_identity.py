"""Over a month of real-shaped exports, the scheduler loop enqueues every calendar fire that
``simulate`` shows, each exactly once (issue 22's acceptance, run on a manual clock)."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import redis

from tests.scheduler.conftest import ICS, write_rules
from tests.scheduler.helpers import queued_triggers
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.rules.load import load_ruleset
from worker.scheduler.clock import ManualClock
from worker.scheduler.loop import Scheduler
from worker.scheduler.simulate import simulate_day
from worker.settings import Settings
from worker.store import Keys

FEEDS = {
    "davx5": ("davx5-thisandfuture.ics", {"person": "ana@example.com"}),
    "lotus": ("lotus-masterless-period.ics", {"person": "ana@example.com"}),
    "exchange": ("exchange-malformed.ics", {"person": "ana@example.com"}),
    "google": ("google-orphan.ics", {"person_by": "attendee"}),
}


def test_a_month_of_thisandfuture_rdate_and_orphans_enqueues_every_simulated_fire_once(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"catchup_grace_s": 900, "scheduler_tick_s": 600})
    calendars = [
        {"name": name, "path": f"calendars/{file}", "poll_interval": "1h", **extra}
        for name, (file, extra) in FEEDS.items()
    ]
    rules_dir = write_rules(tmp_path / "rules", calendars=calendars)
    for file, _ in FEEDS.values():
        shutil.copy(ICS / file, rules_dir / "calendars" / file)
    ruleset = load_ruleset(rules_dir)
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    queue = TriggerQueue(make_broker(redis_client, Keys(settings.namespace)))
    scheduler = Scheduler(settings, redis_client, ruleset, queue, clock=clock)
    missed: list[str] = []
    enqueued: list[str] = []
    while clock.now() < datetime(2026, 4, 1, tzinfo=UTC):
        report = scheduler.tick()
        assert not report.failed
        enqueued.extend(report.enqueued)
        missed.extend(report.missed)
        clock.advance(timedelta(minutes=10))
    assert missed == []

    queued = [t["id"] for t in queued_triggers(redis_client, settings.namespace)]
    assert [i for i, n in Counter(queued).items() if n > 1] == []
    assert sorted(enqueued) == sorted(queued)

    simulated: dict[str, datetime] = {}
    problems: set[str] = set()
    day = date(2026, 3, 1)
    while day < date(2026, 4, 1):
        report = simulate_day(ruleset, day)
        for entry in report.people:
            for fire, _ in entry.items:
                assert simulated.setdefault(fire.id, fire.at) == fire.at
        problems.update(report.problems)
        day += timedelta(days=1)
    # simulate's days are local days; the loop ran over March in UTC
    march = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    expected = {i for i, at in simulated.items() if march[0] < at <= march[1]}
    assert set(queued) == expected
    davx5 = [i for i in queued if i.startswith("calendar:davx5:")]
    assert len(davx5) == 2 * 21  # 20 weekday shifts + 1 RDATE PERIOD, start and end
    lotus = [i for i in queued if i.startswith("calendar:lotus:")]
    assert len(lotus) == 2 * 4
    exchange = [i for i in queued if i.startswith("calendar:exchange:")]
    assert len(exchange) == 2 * 10
    # every event that did not expand is a problem naming its feed and UID
    assert any(p.startswith("calendar exchange: event '") and "FORTNIGHTLY" in p for p in problems)
    assert any(
        p.startswith("calendar exchange: event '") and "Pacific Atlantis" in p for p in problems
    )
    assert any(p.startswith("calendar lotus: event '") and "no master" in p for p in problems)
    assert any(p.startswith("calendar google: event '4k9s") for p in problems)
