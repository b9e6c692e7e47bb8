"""The review flags an outcome raises — the console's flags (:mod:`worker.rules.review`),
computed over the person's day as recorded so far — and their identity, so each flag
notifies once.

Only the flags an outcome raises itself are notified here (a stop by a schedule long after
the last badge-out, a start with no evidence, an expired, rejected or failed action, a missed
fire). Of the flags only the passing of time raises, ``still-tracking`` is found by the
consumer's periodic sweep (:func:`still_tracking`, from each person's last outcome);
``shift-without-clock-in`` (it needs the planned shifts) is left to the console and
``autoclock review``.
"""

from __future__ import annotations

from datetime import datetime

from worker.models import TRACKING_AFTER, Outcome
from worker.rules.day import Day, day_bounds
from worker.rules.directory import Person
from worker.rules.review import Flag, review

__all__ = ["TIME_FLAGS", "flag_key", "outcome_flags", "still_tracking"]

#: Flags raised by time passing, not by an outcome.
TIME_FLAGS = frozenset({"shift-without-clock-in", "still-tracking"})


def outcome_flags(
    outcome: Outcome, person: Person, day: list[Outcome], now: datetime
) -> list[Flag]:
    """The flags ``outcome`` raises in ``person``'s ``day`` (the outcomes of that local day)."""
    local_day = outcome.occurred_at.astimezone(person.zone).date()
    start, end = day_bounds(person, local_day)
    flags = review(Day(person, local_day, start, end, outcomes=list(day)), now)
    return [f for f in flags if f.code not in TIME_FLAGS and f.at == outcome.occurred_at]


def still_tracking(person: Person, last: Outcome, now: datetime) -> Flag | None:
    """The ``still-tracking`` flag when ``last`` (the person's most recent outcome, recorded
    during its local day) left the tracker running and that day is over by ``now``."""
    if TRACKING_AFTER.get(last.result) is not True:
        return None
    local_day = last.occurred_at.astimezone(person.zone).date()
    start, end = day_bounds(person, local_day)
    if last.recorded_at >= end:
        return None  # recorded after its day (a catch-up): a stop for that day may follow
    flags = review(Day(person, local_day, start, end, outcomes=[last]), now)
    return next((f for f in flags if f.code == "still-tracking"), None)


def flag_key(person: Person, flag: Flag) -> str:
    """One flag's identity: the person, its code and its time."""
    return f"{person.email}|{flag.code}|{flag.at.isoformat()}"
