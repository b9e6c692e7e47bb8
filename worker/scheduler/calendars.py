"""Calendar feeds → occurrences → shift fires.

An ICS body is read by :mod:`.ical` (times put into their own zones, series expanded with
``recurring-ical-events``, each occurrence identified by UID and original start, everything
skipped or tolerated reported as an :class:`~.ical.EventProblem`).

Each occurrence becomes two fires for each person it maps to: ``shift_start`` at its start
plus the source's ``start_offset`` and ``shift_end`` at its end plus ``end_offset``.

* ``STATUS:CANCELLED`` (on one occurrence or on the whole series) never fires.
* All-day events (``VALUE=DATE``) are ignored unless ``include_all_day``; then they run from
  local midnight to local midnight of their (exclusive) end date.
* Floating times (no ``Z``, no ``TZID``) are read in the feed's ``X-WR-TIMEZONE``, else the
  source's ``timezone``, else the person's zone. Nonexistent/ambiguous local times follow
  RFC 5545: the offset before the gap; the first occurrence (``fold=0``).
* A night shift crossing midnight is just an end on the next day.
* Person mapping: the source's ``person``; or ``person_by: attendee`` (``mailto:`` attendees
  found in the directory); or ``person_by: summary`` (``summary_pattern`` with a group named
  ``email`` or ``name``); with none of these, everyone who lists the calendar in
  ``people.yaml: calendars``.

Fire ids are ``calendar:<feed>:<UID>:<occurrence>:<start|end>:<email>``, where the
occurrence is the original start of the instance (``RECURRENCE-ID`` for a moved one, its own
start in the series for one after a ``RANGE=THISANDFUTURE`` override, the RDATE for an RDATE
instance) in UTC ISO 8601, or the date for all-day events: stable across re-polls and
restarts, and unique — two different fires with one id are reported as a collision and only
the first is planned (:func:`~.fires.unique_fires`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from pydantic import ValidationError

from worker.models import Trigger, TriggerKind
from worker.rules.directory import Directory, Person
from worker.rules.schema import CalendarSource
from worker.scheduler.fires import Fire, unique_fires
from worker.scheduler.ical import (
    CalendarError,
    EventProblem,
    Occurrence,
    expand,
    normalise,
    parse_calendar,
)

__all__ = [
    "CalendarError",
    "CalendarPlan",
    "EventProblem",
    "Occurrence",
    "calendar_fires",
    "calendar_problems",
    "expand",
    "parse_calendar",
    "people_for",
]

COLLISION = "collision"


@dataclass
class CalendarPlan:
    """The fires of one feed in a window, and what could not be planned (for reports).

    ``problems`` are report lines (each names the feed and the UID); ``events`` the same
    for events the expansion skipped, tolerated or found colliding, with their kind.
    """

    fires: list[Fire] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    events: list[EventProblem] = field(default_factory=list)

    def report(self, feed: str, problem: EventProblem) -> None:
        self.events.append(problem)
        line = problem.line(feed)
        if line not in self.problems:
            self.problems.append(line)


def calendar_problems(source: CalendarSource, calendar: icalendar.Calendar) -> list[EventProblem]:
    """Every event of ``calendar`` that is skipped or read with a tolerance, whatever the
    window (``autoclock rules check`` for local files)."""
    return list(normalise(calendar).problems)


def people_for(
    source: CalendarSource, occurrence: Occurrence, directory: Directory
) -> list[Person]:
    """Who ``occurrence`` in ``source`` is a shift of (see the module docstring)."""
    if source.person:
        person = directory.by_email(source.person)
        return [person] if person else []
    if source.person_by == "attendee":
        chosen: dict[str, Person] = {}
        for email in occurrence.attendees:
            found = directory.by_email(email)
            if found is not None:
                chosen.setdefault(found.email, found)
        return list(chosen.values())
    if source.person_by == "summary" and source.summary_pattern:
        match = re.search(source.summary_pattern, occurrence.summary)
        if match is None:
            return []
        groups = match.groupdict()
        if groups.get("email"):
            found = directory.by_email(groups["email"])
            return [found] if found else []
        if groups.get("name"):
            wanted = " ".join(groups["name"].split()).casefold()
            return [
                p
                for p in directory.people
                if p.name and " ".join(p.name.split()).casefold() == wanted
            ][:1]
        return []
    return [p for p in directory.people if source.name in p.calendars]


def _aware(value: datetime | date, zone: ZoneInfo) -> datetime:
    """An aware UTC instant: floating datetimes and dates are read in ``zone`` (fold=0)."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone, fold=0)
    return value.astimezone(UTC)


def _occurrence_key(value: datetime | date, zone: ZoneInfo) -> str:
    if not isinstance(value, datetime):
        return value.isoformat()
    return _aware(value, zone).strftime("%Y-%m-%dT%H:%M:%SZ")


def _floating_zone(source: CalendarSource, person: Person) -> ZoneInfo:
    return ZoneInfo(source.timezone) if source.timezone else person.zone


def _trigger(
    source: CalendarSource,
    occ: Occurrence,
    key: str,
    edge: str,
    kind: TriggerKind,
    at: datetime,
    person: Person,
    begin: datetime,
    finish: datetime,
) -> Trigger:
    """The trigger of one edge (start or end) of one occurrence for one person."""
    return Trigger(
        id=f"calendar:{source.name}:{occ.uid}:{key}:{edge}:{person.email}",
        source=f"calendar:{source.name}",
        kind=kind,
        subject=person.email,
        occurred_at=at,
        attributes={
            "summary": occ.summary,
            "uid": occ.uid,
            "location": occ.location,
            "local_time": at.astimezone(person.zone).isoformat(),
            "timezone": person.timezone,
            "shift_start": begin.astimezone(person.zone).isoformat(),
            "shift_end": finish.astimezone(person.zone).isoformat(),
        },
    )


def _report_not_planned(plan: CalendarPlan, source: CalendarSource, occ: Occurrence) -> None:
    """A cancelled or all-day event is not planned by design; still, no event goes unnamed:
    one warning line per feed and UID (warnings do not make ``simulate`` fail)."""
    if occ.cancelled:
        kind, reason = "cancelled", "not planned: cancelled (STATUS:CANCELLED)"
    else:
        kind, reason = "all_day", "not planned: an all-day event (include_all_day is off)"
    problem = EventProblem(occ.uid, reason, kind, skipped=False)
    if problem.line(source.name) not in plan.problems:
        plan.report(source.name, problem)


def calendar_fires(
    source: CalendarSource,
    calendar: icalendar.Calendar,
    directory: Directory,
    start: datetime,
    end: datetime,
    *,
    people: Iterable[Person] | None = None,
) -> CalendarPlan:
    """Every shift fire of ``source`` with ``start < at <= end``, sorted by instant then id.

    ``people`` restricts the result to those persons (``autoclock simulate --person``).
    """
    only = None if people is None else {p.email for p in people}
    margin = timedelta(days=2) + max(abs(source.start_offset), abs(source.end_offset))
    first = (start - margin).date()
    last = (end + margin).date() + timedelta(days=1)
    plan = CalendarPlan()
    expansion = expand(calendar, first, last)
    for problem in expansion.problems:
        plan.report(source.name, problem)
    fires: list[Fire] = []
    for occ in expansion.occurrences:
        if occ.cancelled or (occ.all_day and not source.include_all_day):
            _report_not_planned(plan, source, occ)
            continue
        persons = people_for(source, occ, directory)
        if not persons:
            plan.problems.append(
                f"calendar {source.name}: event {occ.uid!r} ({occ.summary!r}) maps to nobody"
            )
            continue
        for person in persons:
            if only is not None and person.email not in only:
                continue
            zone = _floating_zone(source, person)
            if occ.all_day:
                zone = person.zone
            begin = _aware(occ.start, zone)
            finish = _aware(occ.end, zone)
            key = _occurrence_key(occ.recurrence_id, zone)
            for edge, kind, at in (
                ("start", TriggerKind.SHIFT_START, begin + source.start_offset),
                ("end", TriggerKind.SHIFT_END, finish + source.end_offset),
            ):
                if not start < at <= end:
                    continue
                try:
                    trigger = _trigger(source, occ, key, edge, kind, at, person, begin, finish)
                except ValidationError as exc:
                    plan.problems.append(
                        f"calendar {source.name}: event {occ.uid[:80]!r} skipped: "
                        f"{exc.errors()[0]['msg']}"
                    )
                    continue
                fires.append(Fire(at=at, trigger=trigger, email=person.email))
    fires.sort(key=lambda f: (f.at, f.id))
    plan.fires, collisions = unique_fires(fires)
    for kept, dropped in collisions:
        plan.report(
            source.name,
            EventProblem(
                dropped.trigger.attributes.get("uid", "?"),
                f"two different fires share the id {dropped.id!r} "
                f"({kept.at.isoformat()} and {dropped.at.isoformat()}); "
                "only the first is planned",
                COLLISION,
            ),
        )
    return plan
