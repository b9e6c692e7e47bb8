"""Review flags: what a payroll clerk should look at in one person's day.

Pure: :func:`review` reads a :class:`~worker.rules.day.Day` and returns its flags. The
console's Person's day page, ``autoclock review`` and notify (which tells the person and
their manager once per flag) use the same flags.

===========================  ==========================================================
code                         when
===========================  ==========================================================
``stop-by-schedule``         a schedule stopped the tracker and the last badge-out that day
                             was ``BADGE_OUT_GAP`` or more earlier, or there was none: the
                             stop time is a guess, the real end was probably earlier
``shift-without-clock-in``   a planned shift started (in the past) and no start was applied
                             or confirmed between an hour before it and its end
``start-without-evidence``   a start applied for someone with badges, with no badge scan
                             within ``EVIDENCE_WINDOW`` of it
``action-expired``           an action ended ``expired`` (applied too late, so not at all)
``action-rejected``          an action ended ``rejected`` or ``failed``
``fire-missed``              a scheduled fire was missed (autoclock was down too long)
``still-tracking``           the day is over and no stop is known after the last start
===========================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from worker.models import Outcome, Result, TriggerKind, Verb
from worker.rules.day import BADGE_KINDS, Day
from worker.rules.evaluate import format_duration

__all__ = ["BADGE_OUT_GAP", "EVIDENCE_WINDOW", "Flag", "review"]

#: A scheduled stop this long after the last badge-out is flagged.
BADGE_OUT_GAP = timedelta(minutes=30)
#: A start needs a badge scan this close to it (either side) when the person has badges.
EVIDENCE_WINDOW = timedelta(minutes=60)
#: How early before a shift a start still counts as its clock-in.
EARLY_START = timedelta(hours=1)

_STARTS = {Result.STARTED, Result.ALREADY_TRACKING}


@dataclass(frozen=True)
class Flag:
    code: str
    at: datetime
    message: str

    def as_json(self, person: str) -> dict[str, str]:
        return {"person": person, "code": self.code, "at": self.at.isoformat(), "why": self.message}


def review(day: Day, now: datetime) -> list[Flag]:
    """The review flags of ``day`` as of ``now``, in time order."""
    flags: list[Flag] = []
    for o in day.outcomes:
        flags.extend(_outcome_flags(day, o))
    flags.extend(_shift_flags(day, now))
    flags.extend(_still_tracking_flags(day, now))
    return sorted(flags, key=lambda f: (f.at, f.code))


def _local(day: Day, at: datetime) -> str:
    return at.astimezone(day.person.zone).strftime("%H:%M")


def _outcome_flags(day: Day, o: Outcome) -> list[Flag]:
    """The flags one outcome raises on its own (with the day's badges beside it)."""
    flags: list[Flag] = []
    if o.result is Result.STOPPED and o.source.startswith("schedule:"):
        flags.extend(_schedule_stop_flags(day, o))
    if o.result is Result.EXPIRED:
        flags.append(Flag("action-expired", o.occurred_at, f"{_what(o.verb)} expired: {o.reason}"))
    if o.result in (Result.REJECTED, Result.FAILED):
        flags.append(
            Flag(
                "action-rejected",
                o.occurred_at,
                f"{_what(o.verb)} {o.result.value}: {o.reason}",
            )
        )
    if o.result is Result.MISSED:
        flags.append(Flag("fire-missed", o.occurred_at, f"{o.source} missed: {o.reason}"))
    if o.result is Result.STARTED:
        flags.extend(_evidence_flags(day, o))
    return flags


def _schedule_stop_flags(day: Day, o: Outcome) -> list[Flag]:
    """A stop by a schedule with no badge-out that day, or long after the last one."""
    badge_outs = [
        b.occurred_at
        for b in day.outcomes
        if b.kind in (TriggerKind.BADGE_OUT, TriggerKind.BADGE_SCAN)
    ]
    before = [t for t in badge_outs if t <= o.occurred_at]
    if not before:
        return [
            Flag(
                "stop-by-schedule",
                o.occurred_at,
                f"stopped by {o.source} at {_local(day, o.occurred_at)} with no badge-out "
                "that day: the end time is a guess",
            )
        ]
    last = max(before)
    if o.occurred_at - last < BADGE_OUT_GAP:
        return []
    return [
        Flag(
            "stop-by-schedule",
            o.occurred_at,
            f"stopped by {o.source} at {_local(day, o.occurred_at)} although the last "
            f"badge-out was {format_duration(o.occurred_at - last)} earlier "
            f"({_local(day, last)})",
        )
    ]


def _evidence_flags(day: Day, o: Outcome) -> list[Flag]:
    """A start (not by a badge) for someone with badges, with no badge scan near it."""
    scans = [b.occurred_at for b in day.outcomes if b.kind in BADGE_KINDS]
    if (
        not day.person.badges
        or o.kind in BADGE_KINDS
        or any(abs(t - o.occurred_at) <= EVIDENCE_WINDOW for t in scans)
    ):
        return []
    return [
        Flag(
            "start-without-evidence",
            o.occurred_at,
            f"started by {o.source} at {_local(day, o.occurred_at)} with no badge scan within "
            f"{format_duration(EVIDENCE_WINDOW)}",
        )
    ]


def _shift_flags(day: Day, now: datetime) -> list[Flag]:
    """Shifts that started by ``now`` with no start applied or confirmed for them."""
    starts = [o for o in day.outcomes if o.result in _STARTS]
    flags: list[Flag] = []
    for shift in day.shifts():
        if shift.start is None or shift.start > now:
            continue
        end = shift.end or day.end
        clocked = any(shift.start - EARLY_START <= s.occurred_at <= end for s in starts)
        if not clocked:
            flags.append(
                Flag(
                    "shift-without-clock-in",
                    shift.start,
                    f"shift from {_local(day, shift.start)}"
                    + (f" to {_local(day, shift.end)}" if shift.end else "")
                    + f" ({shift.source}) has no clock-in",
                )
            )
    return flags


def _still_tracking_flags(day: Day, now: datetime) -> list[Flag]:
    """The day is over and no stop is known after the last start."""
    if now < day.end:
        return []
    return [
        Flag(
            "still-tracking",
            interval.start,
            f"tracking since {_local(day, interval.start)} with no stop known by the end "
            "of the day",
        )
        for interval in day.tracked(now)
        if interval.open_end
    ]


def _what(verb: Verb | None) -> str:
    return f"the {verb.value}" if verb else "the action"
