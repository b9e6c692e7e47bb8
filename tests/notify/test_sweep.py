"""The flag only time raises: a day over with the tracker still running (as far as autoclock
knows) tells the person and their manager once, however often the sweep runs."""

from __future__ import annotations

from datetime import timedelta

from tests.notify.helpers import MANAGER, STAFF, wait_until, write_team, yesterday_at
from worker.models import Outcome, Result, TriggerKind, Verb
from worker.notify.flags import still_tracking
from worker.notify.runtime import build_notifier
from worker.pipeline.outcomes import OutcomeLog
from worker.rules.directory import Person
from worker.rules.load import load_ruleset
from worker.store import Keys

ANA = Person(email=STAFF, timezone="Europe/Berlin")


def test_still_tracking_after_the_day_notifies_once(
    settings, redis_client, json_receiver, monkeypatch, tmp_path
):
    monkeypatch.setenv("AUTOCLOCK_NOTIFY_CHANNEL_HOOK", json_receiver.url())
    rules = write_team(tmp_path / "team", ["hook"])
    log = OutcomeLog(redis_client, Keys(settings.namespace))

    def started(person: str, delivery: str, hour: int) -> Outcome:
        return Outcome(
            result=Result.STARTED, reason="badge", trigger_id=delivery, delivery_id=delivery,
            source="webhook:doors", kind=TriggerKind.BADGE_IN, subject=person,
            occurred_at=yesterday_at(hour, 5), person=person, verb=Verb.START,
            rule="badge-in-starts", recorded_at=yesterday_at(hour, 6),
        )  # fmt: skip

    log.record(started(STAFF, "d-staff", 8))  # never stopped
    log.record(started(MANAGER, "d-boss", 9))
    log.record(
        started(MANAGER, "d-boss-stop", 17).model_copy(
            update={"result": Result.STOPPED, "verb": Verb.STOP}
        )
    )
    # recorded after its day (a catch-up): a stop for that day may still follow, no flag
    late = started(STAFF, "d-late", 7).model_copy(
        update={"recorded_at": yesterday_at(23, 59) + timedelta(minutes=2)}
    )
    assert still_tracking(ANA, late, late.recorded_at + timedelta(days=1)) is None
    notifier = build_notifier(settings, redis_client, load_ruleset(rules))
    assert notifier.consumer.sweep() == 1
    assert notifier.consumer.sweep() == 0
    notifier.start(1)
    try:
        assert wait_until(lambda: len(json_receiver.posts) == 2)
        by = {p["recipient"]: p["message"] for p in json_receiver.posts}
        assert set(by) == {STAFF, MANAGER}
        assert (
            "Needs review: tracking since 08:05 with no stop known by the end of the day"
            in (by[STAFF])
        )
        assert by[STAFF].startswith("Your day needs review")
        assert by[MANAGER].startswith("Ana Staff's day needs review")
        assert notifier.consumer.sweep() == 0
    finally:
        notifier.stop()
