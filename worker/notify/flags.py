"""The review flags notify tells — the console's flags (:mod:`worker.rules.review`), computed
over the person's day as recorded so far — and their identity, so each flag notifies once.

The flags an outcome raises itself (a stop by a schedule long after the last badge-out, a
start with no evidence, an expired, rejected or failed action, a missed fire) are found when
that outcome is read (:func:`outcome_flags`). The flags only the passing of time raises are
found by the consumer's periodic sweep:

* ``still-tracking`` (:func:`still_tracking`), from each person's last outcome;
* ``shift-without-clock-in`` (:func:`shifts_without_clock_in`), over the day of each planned
  shift that started :data:`SHIFT_GRACE` to :data:`SHIFT_LOOKBACK` ago
  (:func:`shift_starts`). The flag is the console's, word for word; notify only waits out
  the grace before telling it, because a clock-in may still come in the first minutes of a
  shift (a badge-in a few minutes late, the shift's own trigger on its way through the
  pipeline) and a message cannot be taken back the way the console's flag disappears.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from worker.models import TRACKING_AFTER, Outcome, TriggerKind
from worker.rules.day import Day, Planned, day_bounds
from worker.rules.directory import Person
from worker.rules.review import Flag, review

__all__ = [
    "SHIFT_FLAG",
    "SHIFT_GRACE",
    "SHIFT_LOOKBACK",
    "TIME_FLAGS",
    "flag_key",
    "outcome_flags",
    "shift_key",
    "shift_starts",
    "shift_window",
    "shifts_without_clock_in",
    "still_tracking",
]

SHIFT_FLAG = "shift-without-clock-in"
#: Flags raised by time passing, not by an outcome.
TIME_FLAGS = frozenset({SHIFT_FLAG, "still-tracking"})
#: A shift's clock-in may come this long after its start before anyone is told.
SHIFT_GRACE = timedelta(minutes=15)
#: A shift that started longer ago than this is no longer told (a notifier that was down for
#: longer does not send old news; the console still shows the flag). Shorter than the flags'
#: dedupe memory (``DEDUPE_TTL_S``), so a flag is never told twice.
SHIFT_LOOKBACK = timedelta(hours=24)


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


def shift_window(now: datetime) -> tuple[datetime, datetime]:
    """The shift starts a sweep at ``now`` tells about: ``start < at <= end``."""
    return now - SHIFT_LOOKBACK, now - SHIFT_GRACE


def shift_starts(planned: Iterable[Planned], now: datetime) -> list[datetime]:
    """The planned shift starts in :func:`shift_window` of ``now``."""
    start, end = shift_window(now)
    return [p.at for p in planned if p.kind is TriggerKind.SHIFT_START and start < p.at <= end]


def shifts_without_clock_in(day: Day, now: datetime) -> list[Flag]:
    """The ``shift-without-clock-in`` flags of ``day`` (its outcomes and planned fires) whose
    shift started in :func:`shift_window` of ``now``."""
    start, end = shift_window(now)
    return [f for f in review(day, now) if f.code == SHIFT_FLAG and start < f.at <= end]


def flag_key(person: Person, flag: Flag) -> str:
    """One flag's identity: the person, its code and its time."""
    return f"{person.email}|{flag.code}|{flag.at.isoformat()}"


def shift_key(person: Person, start: datetime) -> str:
    """The identity of the ``shift-without-clock-in`` flag of the shift starting at ``start``
    (a flag's time is its shift's start), known before the day is read."""
    return flag_key(person, Flag(SHIFT_FLAG, start, ""))
