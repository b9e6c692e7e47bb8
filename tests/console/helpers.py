"""Outcomes and days for the console tests, shaped like the pipeline records them."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from zoneinfo import ZoneInfo

from worker.console.day import Day, Planned, day_bounds
from worker.models import Outcome, Result, TriggerKind, Verb
from worker.rules.directory import Person

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 12, 2)
_ids = itertools.count()

VERB_OF = {
    Result.STARTED: Verb.START,
    Result.ALREADY_TRACKING: Verb.START,
    Result.STOPPED: Verb.STOP,
    Result.NOT_TRACKING: Verb.STOP,
}


def person(badges: tuple[str, ...] = ("04A1B2C3",), email: str = "dana@example.com") -> Person:
    return Person(
        email=email, name="Dana", timezone="Europe/Berlin", badges=badges, groups=("office",)
    )


def at(hhmm: str, day: date = DAY) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def outcome(
    hhmm: str,
    kind: TriggerKind,
    result: Result,
    *,
    source: str | None = None,
    verb: Verb | None = None,
    email: str = "dana@example.com",
    reason: str = "because",
) -> Outcome:
    n = next(_ids)
    if source is None:
        source = {
            TriggerKind.BADGE_IN: "webhook:kisi-hq",
            TriggerKind.BADGE_OUT: "webhook:kisi-hq",
            TriggerKind.BADGE_SCAN: "webhook:kisi-hq",
            TriggerKind.SHIFT_START: "calendar:team-shifts",
            TriggerKind.SHIFT_END: "calendar:team-shifts",
            TriggerKind.TICK: "schedule:end-of-day",
        }[kind]
    return Outcome(
        result=result,
        reason=reason,
        trigger_id=f"t-{n}",
        delivery_id=f"d-{n}",
        source=source,
        kind=kind,
        subject=email,
        occurred_at=at(hhmm),
        person=email,
        verb=verb if verb is not None else VERB_OF.get(result),
        rule="r",
    )


def day_of(
    outcomes: list[Outcome], planned: list[Planned] | None = None, who: Person | None = None
) -> Day:
    who = who or person()
    start, end = day_bounds(who, DAY)
    return Day(
        who,
        DAY,
        start,
        end,
        outcomes=sorted(outcomes, key=lambda o: o.occurred_at),
        planned=planned or [],
    )
