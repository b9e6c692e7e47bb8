"""One person's local day, as autoclock recorded it: the pure part.

:class:`Day` holds a person's outcomes, ignored scans and planned fires of one local calendar
day and derives shifts and tracked intervals from them. Gathering a day from Redis is the
readers' job (the console's ``gather_days``, notify's outcome consumer and sweep; the planned
fires of both from :mod:`worker.scheduler.planned`); the review flags over a day are
:mod:`worker.rules.review`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from worker.models import TRACKING_AFTER, Outcome, Result, TriggerKind
from worker.rules.directory import Person

__all__ = ["APPLIED", "BADGE_KINDS", "Day", "Interval", "Planned", "Shift", "day_bounds"]

BADGE_KINDS = frozenset({TriggerKind.BADGE_IN, TriggerKind.BADGE_OUT, TriggerKind.BADGE_SCAN})
#: Results that applied (or confirmed) an action: the tracker's state is known after them.
APPLIED = frozenset(TRACKING_AFTER)


@dataclass(frozen=True)
class Planned:
    """A planned fire: a calendar shift edge or a schedule tick."""

    at: datetime
    kind: TriggerKind
    source: str
    trigger_id: str
    label: str = ""


@dataclass(frozen=True)
class Shift:
    """A planned shift: a calendar start paired with its end (either may be missing)."""

    start: datetime | None
    end: datetime | None
    source: str
    label: str = ""


@dataclass(frozen=True)
class Interval:
    """A stretch of tracked time as far as autoclock knows it."""

    start: datetime
    end: datetime
    open_start: bool = False
    """The tracker was found running (``already_tracking``): it started earlier."""
    open_end: bool = False
    """No stop is known before the end of the day (or now)."""


@dataclass
class Day:
    """Everything known about one person on one local day."""

    person: Person
    day: date
    start: datetime
    end: datetime
    outcomes: list[Outcome] = field(default_factory=list)
    ignored_scans: list[dict[str, str]] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)

    @property
    def badges(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind in BADGE_KINDS]

    @property
    def actions(self) -> list[Outcome]:
        """Outcomes of triggers that a rule turned into a start or stop (and their result)."""
        return [o for o in self.outcomes if o.verb is not None]

    def add_planned(self, fires: Iterable[Planned]) -> None:
        """Keep those of ``fires`` (the person's planned fires) that fall in this day."""
        self.planned.extend(p for p in fires if self.start <= p.at < self.end)

    def shifts(self) -> list[Shift]:
        """Planned shifts: calendar starts and ends from the plan and from the outcomes."""
        edges: dict[tuple[str, datetime, TriggerKind], str] = {}
        for p in self.planned:
            if p.kind in (TriggerKind.SHIFT_START, TriggerKind.SHIFT_END):
                edges[(p.source, p.at, p.kind)] = p.label
        for o in self.outcomes:
            if o.kind in (TriggerKind.SHIFT_START, TriggerKind.SHIFT_END):
                edges.setdefault((o.source, o.occurred_at, o.kind), "")
        shifts: list[Shift] = []
        pending: dict[str, tuple[datetime, str]] = {}
        for (source, at, kind), label in sorted(edges.items(), key=lambda e: e[0][1]):
            if kind is TriggerKind.SHIFT_START:
                if source in pending:
                    start, text = pending.pop(source)
                    shifts.append(Shift(start, None, source, text))
                pending[source] = (at, label)
            else:
                opened = pending.pop(source, None)
                shifts.append(
                    Shift(opened[0] if opened else None, at, source, opened[1] if opened else label)
                )
        shifts.extend(Shift(at, None, source, label) for source, (at, label) in pending.items())
        return sorted(shifts, key=lambda s: s.start or s.end or self.start)

    def tracked(self, now: datetime) -> list[Interval]:
        """Tracked intervals from the applied actions, in time order."""
        intervals: list[Interval] = []
        opened: tuple[datetime, bool] | None = None
        known_until = self.start  # the last instant the state is known (idle since then)
        for o in sorted(self.outcomes, key=lambda x: x.occurred_at):
            tracking = TRACKING_AFTER.get(o.result)
            if tracking is None:
                continue
            at = max(self.start, min(o.occurred_at, self.end))
            if tracking and opened is None:
                opened = (at, o.result is Result.ALREADY_TRACKING)
            elif not tracking:
                if opened is not None:
                    intervals.append(Interval(opened[0], at, open_start=opened[1]))
                    opened = None
                elif o.result is Result.STOPPED:
                    # stopped a tracker started outside autoclock's view, some time after
                    # the state was last known
                    intervals.append(Interval(known_until, at, open_start=True))
            known_until = at
        if opened is not None:
            intervals.append(
                Interval(opened[0], max(opened[0], min(now, self.end)), opened[1], open_end=True)
            )
        return intervals


def day_bounds(person: Person, day: date) -> tuple[datetime, datetime]:
    """The person's local day ``day`` as aware datetimes ``[start, end)``."""
    start = datetime.combine(day, time(0), tzinfo=person.zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=person.zone)
    return start, end
