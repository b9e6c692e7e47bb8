"""Calendar feeds → occurrences → shift fires.

An ICS body is parsed with ``icalendar`` and expanded with ``recurring-ical-events``
(``skip_bad_series=True``: one broken series does not hide the rest of the feed), which
applies RRULE/RDATE/EXDATE, moved occurrences (``RECURRENCE-ID``), ``X-WR-TIMEZONE`` and
Windows zone names (``W. Europe Standard Time`` → ``Europe/Berlin``).

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
occurrence is the ``RECURRENCE-ID`` (the original start of the instance, for a moved one too)
in UTC ISO 8601, or the date for all-day events: stable across re-polls and restarts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from pydantic import ValidationError

from worker.models import Trigger, TriggerKind
from worker.rules.directory import Directory, Person
from worker.rules.schema import CalendarSource
from worker.scheduler.fires import Fire

__all__ = [
    "CalendarError",
    "CalendarPlan",
    "Occurrence",
    "calendar_fires",
    "expand",
    "parse_calendar",
    "people_for",
]


class CalendarError(ValueError):
    """An ICS body that cannot be parsed as a calendar."""


@dataclass(frozen=True)
class Occurrence:
    """One expanded event instance, times as the feed gave them.

    ``start``/``end`` are aware datetimes, naive datetimes (floating) or dates (all-day);
    ``recurrence_id`` is the instance's original start in the same form.
    """

    uid: str
    recurrence_id: datetime | date
    start: datetime | date
    end: datetime | date
    summary: str = ""
    location: str = ""
    attendees: tuple[str, ...] = ()
    cancelled: bool = False

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


@dataclass
class CalendarPlan:
    """The fires of one feed in a window, and what could not be mapped (for reports)."""

    fires: list[Fire] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_calendar(body: bytes) -> icalendar.Calendar:
    """Parse an ICS body; :class:`CalendarError` if it is not a VCALENDAR."""
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise CalendarError(f"not an iCalendar file: {exc}") from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise CalendarError("not an iCalendar file: no VCALENDAR")
    return calendar


def _attendees(event: Any) -> tuple[str, ...]:
    raw = event.get("ATTENDEE")
    if raw is None:
        return ()
    values = raw if isinstance(raw, list) else [raw]
    found = []
    for value in values:
        text = str(value).strip()
        if text.lower().startswith("mailto:"):
            found.append(text[len("mailto:") :].strip().lower())
    return tuple(found)


def _end_of(event: Any, start: datetime | date) -> datetime | date:
    if event.get("DTEND") is not None:
        value: datetime | date = event["DTEND"].dt
        return value
    if event.get("DURATION") is not None:
        duration: timedelta = event["DURATION"].dt
        return start + duration
    return start if isinstance(start, datetime) else start + timedelta(days=1)


def expand(calendar: icalendar.Calendar, start: date, end: date) -> list[Occurrence]:
    """Every event instance overlapping the local dates ``[start, end)``, cancelled ones flagged."""
    query = recurring_ical_events.of(calendar, skip_bad_series=True)
    found: list[Occurrence] = []
    for event in query.between(start, end):
        if event.get("DTSTART") is None:
            continue
        begin: datetime | date = event["DTSTART"].dt
        rid_prop = event.get("RECURRENCE-ID")
        recurrence_id: datetime | date = rid_prop.dt if rid_prop is not None else begin
        found.append(
            Occurrence(
                uid=str(event.get("UID", "")).strip() or f"no-uid-{begin.isoformat()}",
                recurrence_id=recurrence_id,
                start=begin,
                end=_end_of(event, begin),
                summary=str(event.get("SUMMARY", "")),
                location=str(event.get("LOCATION", "")),
                attendees=_attendees(event),
                cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
            )
        )
    return found


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
    for occ in expand(calendar, first, last):
        if occ.cancelled or (occ.all_day and not source.include_all_day):
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
                plan.fires.append(Fire(at=at, trigger=trigger, email=person.email))
    plan.fires.sort(key=lambda f: (f.at, f.id))
    return plan
