"""A planned shift with no clock-in — the console's ``shift-without-clock-in`` flag — tells
the person and their manager once, after the flag's grace, however often and by however many
consumers the sweep runs and across a restart; a shift with a clock-in tells nobody."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import redis
import yaml

from tests.notify.helpers import MANAGER, STAFF, wait_until, write_team, yesterday_at
from worker.console.day import gather_days
from worker.models import Outcome, Result, Trigger, TriggerKind, Verb
from worker.notify.actor import NOTIFY_QUEUE
from worker.notify.runtime import Notifier, build_notifier
from worker.pipeline.broker import queue_stats
from worker.pipeline.outcomes import OutcomeLog
from worker.rules.load import load_ruleset
from worker.rules.review import review
from worker.rules.ruleset import Ruleset
from worker.scheduler.fires import Fire
from worker.scheduler.plans import PlanStore
from worker.settings import Settings
from worker.store import Keys

#: The sweeps' clock: three hours into Ana's 09:00 shift (yesterday, so the day is fixed).
NOW = yesterday_at(12, 0)
K = TriggerKind

_ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//autoclock//tests//EN\r
END:VCALENDAR\r
"""


def _team(directory: Path) -> Path:
    """Ana's shifts come from a calendar; Max's from a schedule of kind shift_start."""
    rules = write_team(directory, ["hook"])
    (rules / "calendars").mkdir()
    (rules / "calendars" / "shifts.ics").write_text(_ICS)
    sources = {
        "calendars": [{"name": "shifts", "path": "calendars/shifts.ics", "person_by": "attendee"}],
        "schedules": [
            {
                "name": "boss-shift",
                "at": "09:00",
                "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "people": [MANAGER],
                "kind": "shift_start",
            }
        ],
    }
    (rules / "sources.yaml").write_text(yaml.safe_dump(sources))
    return rules


def _plan_ana_shift(client: redis.Redis, keys: Keys) -> None:
    """Ana's 09:00-17:00 shift in the calendar's plan, as the scheduler leaves it in Redis."""
    fires = []
    for kind, at in ((K.SHIFT_START, yesterday_at(9, 0)), (K.SHIFT_END, yesterday_at(17, 0))):
        trigger = Trigger(
            id=f"calendar:shifts:{STAFF}:{at.isoformat()}:{kind.value}",
            source="calendar:shifts",
            kind=kind,
            subject=STAFF,
            occurred_at=at,
            attributes={"summary": "Front desk"},
        )
        fires.append(Fire(at=at, trigger=trigger, email=STAFF))
    PlanStore(client, keys).replace("shifts", fires, now=NOW, grace=timedelta(minutes=5))


def _started(person: str, at: datetime) -> Outcome:
    delivery = f"badge-in-{person}-{at.isoformat()}"
    return Outcome(
        result=Result.STARTED, reason="badge", trigger_id=delivery, delivery_id=delivery,
        source="webhook:doors", kind=K.BADGE_IN, subject=person, occurred_at=at,
        person=person, verb=Verb.START, rule="badge-in-starts", recorded_at=at,
    )  # fmt: skip


def _notifier(settings: Settings, client: redis.Redis, ruleset: Ruleset, now: datetime) -> Notifier:
    notifier = build_notifier(settings, client, ruleset)
    notifier.consumer.clock = lambda: now
    return notifier


def _console_flags(client: redis.Redis, keys: Keys, ruleset: Ruleset, email: str) -> list:
    """The shift flags the console shows for ``email``'s day as of :data:`NOW`."""
    person = ruleset.directory.by_email(email)
    assert person is not None
    day = gather_days(client, keys, ruleset, [person], NOW.astimezone(person.zone).date())[email]
    return [f for f in review(day, NOW) if f.code == "shift-without-clock-in"]


def test_a_shift_without_clock_in_notifies_person_and_manager_once(
    settings, redis_client, json_receiver, monkeypatch, tmp_path
):
    monkeypatch.setenv("AUTOCLOCK_NOTIFY_CHANNEL_HOOK", json_receiver.url())
    keys = Keys(settings.namespace)
    ruleset = load_ruleset(_team(tmp_path / "team"))
    _plan_ana_shift(redis_client, keys)
    # Max badged in before his scheduled 09:00 shift: nothing to tell about him
    OutcomeLog(redis_client, keys).record(_started(MANAGER, yesterday_at(8, 58)))
    [flag] = _console_flags(redis_client, keys, ruleset, STAFF)
    assert _console_flags(redis_client, keys, ruleset, MANAGER) == []

    early = _notifier(settings, redis_client, ruleset, yesterday_at(9, 5))
    first = _notifier(settings, redis_client, ruleset, NOW)
    second = _notifier(settings, redis_client, ruleset, NOW)
    notifiers = [early, first, second]
    try:
        assert early.consumer.sweep() == 0  # within the grace a clock-in may still come
        # two consumers sweep at the same moment: one of them tells it
        barrier = threading.Barrier(2)
        found: list[int] = []

        def sweep(notifier: Notifier) -> None:
            barrier.wait()
            found.append(notifier.consumer.sweep())

        threads = [threading.Thread(target=sweep, args=(n,)) for n in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(found) == [0, 1]
        assert first.consumer.sweep() == 0  # swept again
        restarted = _notifier(settings, redis_client, ruleset, NOW)
        notifiers.append(restarted)
        assert restarted.consumer.sweep() == 0  # a new process: the flag is still told

        first.start(2)
        assert wait_until(lambda: len(json_receiver.posts) >= 2)
        assert wait_until(
            lambda: queue_stats(redis_client, keys, NOTIFY_QUEUE).depth == 0, timeout_s=30
        )
        assert len(json_receiver.posts) == 2
        by = {p["recipient"]: p["message"] for p in json_receiver.posts}
        assert set(by) == {STAFF, MANAGER}
        assert by[STAFF].startswith("Your day needs review")
        assert by[MANAGER].startswith("Ana Staff's day needs review")
        for message in by.values():  # the console's flag, word for word
            assert f"Needs review: {flag.message}." in message
            assert "shift from 09:00 to 17:00 (calendar:shifts) has no clock-in" in message
    finally:
        for notifier in notifiers:
            notifier.stop()


def test_a_shift_with_a_clock_in_notifies_nothing(
    settings, redis_client, json_receiver, monkeypatch, tmp_path
):
    monkeypatch.setenv("AUTOCLOCK_NOTIFY_CHANNEL_HOOK", json_receiver.url())
    keys = Keys(settings.namespace)
    ruleset = load_ruleset(_team(tmp_path / "team"))
    _plan_ana_shift(redis_client, keys)
    log = OutcomeLog(redis_client, keys)
    log.record(_started(STAFF, yesterday_at(9, 10)))  # ten minutes late, within the shift
    log.record(_started(MANAGER, yesterday_at(8, 58)))
    assert _console_flags(redis_client, keys, ruleset, STAFF) == []

    notifier = _notifier(settings, redis_client, ruleset, NOW)
    try:
        assert notifier.consumer.sweep() == 0
        assert queue_stats(redis_client, keys, NOTIFY_QUEUE).depth == 0
        assert notifier.log.all() == []
    finally:
        notifier.stop()
