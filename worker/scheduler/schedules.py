"""Fire times of a :class:`~worker.rules.schema.ScheduleSource`, per person, in their own zone.

One schedule ("19:00 Monday to Friday") serves people in several zones: the wall time is
read in each person's IANA zone, on the weekdays of the person's local calendar.

DST policy (the same as RFC 5545 §3.3.5 for calendar times, and what ``zoneinfo`` gives with
``fold=0``):

* a wall time that does not exist on the spring-forward day (02:30 in Europe/Berlin on
  2026-03-29) fires **once, shifted forward by the gap**: it is read with the offset in force
  before the change, so 02:30 CET becomes 01:30Z = **03:30 CEST**;
* a wall time that occurs twice on the fall-back day (02:30 in Berlin on 2026-10-25) fires
  **once, at its first occurrence** (``fold=0``: 02:30 CEST = 00:30Z).

Each (schedule, person, local date) fires at most once, under the trigger id
``schedule:<name>:<email>:<local date>``.

A ``cron:`` schedule (:mod:`.cron`) follows the same policy for each of its wall times, and
may fire several times a day: its trigger id carries the scheduled wall time,
``schedule:<name>:<email>:<local date>T<HH:MM>``, so a second fire on one day is not a
duplicate of the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from worker.models import Trigger
from worker.rules.directory import Directory, Person
from worker.rules.schema import WEEKDAYS, ScheduleSource
from worker.scheduler.cron import cron_fires
from worker.scheduler.fires import Fire

__all__ = ["local_instant", "schedule_fires", "schedule_people", "schedule_trigger"]


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time ``at`` on ``day`` in ``zone``, by the DST policy above."""
    return datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone).astimezone(UTC)


def schedule_people(schedule: ScheduleSource, directory: Directory) -> list[Person]:
    """Who ``schedule`` fires for: its ``people`` and ``groups``; both empty: everyone.

    An email the directory does not know is skipped (``rules check`` reports it).
    """
    if not schedule.people and not schedule.groups:
        return list(directory.people)
    chosen: dict[str, Person] = {}
    for email in schedule.people:
        person = directory.by_email(email)
        if person is not None:
            chosen.setdefault(person.email, person)
    for person in directory.in_groups(schedule.groups):
        chosen.setdefault(person.email, person)
    return list(chosen.values())


def schedule_trigger(schedule: ScheduleSource, person: Person, day: date) -> Fire:
    """The fire of the ``at`` schedule ``schedule`` for ``person`` on the local date ``day``."""
    assert schedule.at is not None, "an at schedule"
    at = local_instant(day, schedule.at, person.zone)
    return _fire(schedule, person, at, f"{day.isoformat()}", schedule.at.strftime("%H:%M"))


def _fire(
    schedule: ScheduleSource, person: Person, at: datetime, occurrence: str, wall: str
) -> Fire:
    local = at.astimezone(person.zone)
    attributes = {
        "schedule": schedule.name,
        "local_time": local.isoformat(),
        "scheduled": wall,
        "timezone": person.timezone,
    }
    if schedule.cron is not None:
        attributes["cron"] = schedule.cron
    trigger = Trigger(
        id=f"schedule:{schedule.name}:{person.email}:{occurrence}",
        source=f"schedule:{schedule.name}",
        kind=schedule.kind,
        subject=person.email,
        occurred_at=at,
        attributes=attributes,
    )
    return Fire(at=at, trigger=trigger, email=person.email)


def _at_fires(
    schedule: ScheduleSource, person: Person, start: datetime, end: datetime
) -> Iterator[Fire]:
    weekdays = {WEEKDAYS.index(d) for d in schedule.weekdays}
    for day in _days(start, end, person.zone):
        if day.weekday() in weekdays:
            fire = schedule_trigger(schedule, person, day)
            if start < fire.at <= end:
                yield fire


def _cron_fires(
    schedule: ScheduleSource, person: Person, start: datetime, end: datetime
) -> Iterator[Fire]:
    assert schedule.cron is not None
    for fire in cron_fires(schedule.cron, person.zone, start, end):
        yield _fire(schedule, person, fire.at, f"{fire.wall:%Y-%m-%dT%H:%M}", f"{fire.wall:%H:%M}")


def _days(start: datetime, end: datetime, zone: ZoneInfo) -> Iterator[date]:
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def schedule_fires(
    schedules: Iterable[ScheduleSource],
    directory: Directory,
    start: datetime,
    end: datetime,
    *,
    people: Iterable[Person] | None = None,
) -> list[Fire]:
    """Every schedule fire with ``start < at <= end``, sorted by instant then id.

    ``people`` restricts the result to those persons (``autoclock simulate --person``).
    """
    only = None if people is None else {p.email for p in people}
    fires: list[Fire] = []
    for schedule in schedules:
        expand = _at_fires if schedule.cron is None else _cron_fires
        for person in schedule_people(schedule, directory):
            if only is None or person.email in only:
                fires.extend(expand(schedule, person, start, end))
    fires.sort(key=lambda f: (f.at, f.id))
    return fires
