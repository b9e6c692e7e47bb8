"""The review flags an outcome raises — the console's flags (:mod:`worker.rules.review`),
computed over the person's day as recorded so far — and their identity, so each flag
notifies once.

Only the flags an outcome raises itself are notified here (a stop by a schedule long after
the last badge-out, a start with no evidence, an expired, rejected or failed action, a missed
fire). The flags that only the passing of time raises (``shift-without-clock-in``,
``still-tracking``) are left to the console and ``autoclock review``.
"""

from __future__ import annotations

from datetime import datetime

from worker.models import Outcome
from worker.rules.day import Day, day_bounds
from worker.rules.directory import Person
from worker.rules.review import Flag, review

__all__ = ["TIME_FLAGS", "flag_key", "outcome_flags"]

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


def flag_key(person: Person, flag: Flag) -> str:
    """One flag's identity: the person, its code and its time."""
    return f"{person.email}|{flag.code}|{flag.at.isoformat()}"
