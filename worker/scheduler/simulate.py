"""Shadow mode: every trigger the scheduler would produce on some days, and what the rules decide.

For each person, a day is their own local calendar day ``[00:00, 24:00)``; a range of days
is simulated in one pass (each feed read, parsed and expanded once). Calendar feeds are read
(file, or one fetch of the URL with the scheduler's limits), schedules expanded, and each
trigger evaluated
with :func:`worker.rules.evaluate.evaluate` and :class:`~worker.rules.facts.StaticFacts`
(holidays from the ``holidays`` package; leave and tracker state unknown). Nothing touches
WebWork or Redis, and nothing is enqueued.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

from worker.clock import utcnow
from worker.rules.directory import Person
from worker.rules.evaluate import Decision, evaluate
from worker.rules.facts import Facts, StaticFacts
from worker.rules.ruleset import Ruleset
from worker.rules.schema import CalendarSource
from worker.scheduler.attendees import unknown_attendees
from worker.scheduler.calendars import CalendarError, calendar_fires, expand, parse_calendar
from worker.scheduler.feeds import FeedError, download
from worker.scheduler.fires import Fire
from worker.scheduler.schedules import schedule_fires

__all__ = [
    "DayReport",
    "PersonDay",
    "RangeReport",
    "render",
    "render_range",
    "simulate_day",
    "simulate_range",
    "trigger_records",
]

FeedReader = Callable[[CalendarSource], bytes]


@dataclass
class PersonDay:
    """One person's triggers on the day, each with the rules' decision."""

    person: Person
    start: datetime
    end: datetime
    items: list[tuple[Fire, Decision]] = field(default_factory=list)


@dataclass
class DayReport:
    day: date
    people: list[PersonDay] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _local_day(day: date, person: Person) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=person.zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=person.zone).astimezone(UTC)
    return start, end


@dataclass
class RangeReport:
    """Every trigger of ``first``..``last`` (each person's local days), per person, plus:

    ``feed_failures``: calendars that could not be read or parsed (their shifts are missing);
    ``unmapped``: calendar events, or attendees of ``person_by: attendee`` feeds, that map to
    nobody in the directory (their shifts would never fire for that person);
    ``skipped``: calendar events that cannot be planned (malformed RRULE, unknown zone...);
    ``problems``: every report line, the two above included.
    """

    first: date
    last: date
    people: list[PersonDay] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    feed_failures: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when the simulation is known to be incomplete (exit 1)."""
        return bool(self.feed_failures or self.unmapped or self.skipped)

    def note(self, line: str) -> None:
        if line not in self.problems:
            self.problems.append(line)


def _unknown_attendees(
    source: CalendarSource, calendar: Any, ruleset: Ruleset, first: date, last: date
) -> list[str]:
    """Attendees of ``person_by: attendee`` events in the window who are not in the directory."""
    if source.person_by != "attendee":
        return []
    in_window = {occ.uid for occ in expand(calendar, first, last).occurrences if not occ.cancelled}
    return [
        item.line(source.name)
        for item in unknown_attendees(source, calendar, ruleset.directory)
        if item.uid in in_window
    ]


def _people(ruleset: Ruleset, person: str | None) -> list[Person]:
    if person is None:
        return list(ruleset.directory.people)
    found = ruleset.directory.by_email(person)
    if found is None:
        raise LookupError(f"{person} is not in the people directory")
    return [found]


def _read_calendars(
    ruleset: Ruleset, report: RangeReport, read_feed: FeedReader | None
) -> list[tuple[CalendarSource, Any]]:
    """Each calendar parsed once; a feed that cannot be read is a ``feed_failures`` entry."""
    calendars = []
    with httpx.Client(timeout=15.0, follow_redirects=False) as http:
        reader = read_feed or (lambda s: download(s, ruleset.root, http)[0])
        for source in ruleset.sources.calendars:
            try:
                calendars.append((source, parse_calendar(reader(source))))
            except (FeedError, CalendarError) as exc:
                line = f"calendar {source.name}: {exc}"
                report.feed_failures.append(line)
                report.note(line)
    return calendars


def _calendar_fires(
    ruleset: Ruleset,
    report: RangeReport,
    calendars: list[tuple[CalendarSource, Any]],
    window: tuple[datetime, datetime],
    people: list[Person],
    everyone: bool,
) -> list[Fire]:
    """The fires of every calendar in ``window``; their problems noted in ``report``."""
    fires: list[Fire] = []
    span = (report.first - timedelta(days=1), report.last + timedelta(days=2))
    for source, calendar in calendars:
        plan = calendar_fires(source, calendar, ruleset.directory, *window, people=people)
        fires.extend(plan.fires)
        # events skipped or tolerated concern everyone; "maps to nobody" only everyone
        lines = plan.problems if everyone else [e.line(source.name) for e in plan.events]
        for line in lines:
            report.note(line)
            if everyone and line.endswith("maps to nobody"):
                report.unmapped.append(line)
        for event in plan.events:
            line = event.line(source.name)
            if event.skipped and line not in report.skipped:
                report.skipped.append(line)
        if everyone:
            for line in _unknown_attendees(source, calendar, ruleset, *span):
                report.note(line)
                report.unmapped.append(line)
    return fires


def simulate_range(
    ruleset: Ruleset,
    first: date,
    last: date,
    *,
    person: str | None = None,
    facts: Facts | None = None,
    read_feed: FeedReader | None = None,
) -> RangeReport:
    """The triggers of the days ``first``..``last`` (inclusive) for everyone (or ``person``).

    Each feed is read and parsed once and expanded once for the whole range; each person's
    days are their own local days. ``read_feed`` returns a calendar source's ICS body
    (default: read the file or fetch the URL, with the scheduler's limits); a feed that
    cannot be read is a ``feed_failures`` entry, not fatal.
    """
    if last < first:
        raise ValueError("the last day is before the first")
    facts = facts or StaticFacts()
    report = RangeReport(first=first, last=last)
    people = _people(ruleset, person)
    calendars = _read_calendars(ruleset, report, read_feed)
    entries = {
        p.email: PersonDay(person=p, start=_local_day(first, p)[0], end=_local_day(last, p)[1])
        for p in people
    }
    lo = min((e.start for e in entries.values()), default=utcnow())
    hi = max((e.end for e in entries.values()), default=lo)
    window = (lo - timedelta(microseconds=1), hi - timedelta(microseconds=1))
    fires = schedule_fires(ruleset.sources.schedules, ruleset.directory, *window, people=people)
    fires += _calendar_fires(ruleset, report, calendars, window, people, person is None)
    fires.sort(key=lambda f: (f.at, f.id))
    for fire in fires:
        entry = entries.get(fire.email)
        if entry is not None and entry.start <= fire.at < entry.end:
            decision = evaluate(fire.trigger, entry.person, ruleset, now=fire.at, facts=facts)
            entry.items.append((fire, decision))
    report.people = [entries[p.email] for p in people]
    return report


def simulate_day(
    ruleset: Ruleset,
    day: date,
    *,
    person: str | None = None,
    facts: Facts | None = None,
    read_feed: FeedReader | None = None,
) -> DayReport:
    """The triggers of ``day`` for everyone (or the person with email ``person``)."""
    found = simulate_range(ruleset, day, day, person=person, facts=facts, read_feed=read_feed)
    return DayReport(day=day, people=found.people, problems=found.problems)


def trigger_records(report: RangeReport) -> Iterator[dict[str, Any]]:
    """One plain object per trigger (``simulate --json``), in each person's time order."""
    for entry in report.people:
        for fire, decision in entry.items:
            local = fire.at.astimezone(entry.person.zone)
            attributes = fire.trigger.attributes
            yield {
                "id": fire.id,
                "person": entry.person.email,
                "kind": fire.trigger.kind.value,
                "source": fire.trigger.source,
                "local_time": local.isoformat(),
                "timezone": entry.person.timezone,
                "utc": fire.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "summary": attributes.get("summary") or attributes.get("scheduled") or "",
                "action": decision.verb.value if decision.verb is not None else None,
                "rule": decision.rule,
                "reason": decision.reason,
            }


def _decision(decision: Decision) -> str:
    if decision.verb is None:
        return f"no action: {decision.reason}"
    return f"{decision.verb.value} (rule {decision.rule})"


def render(report: DayReport) -> str:
    """The report as text, one block per person, times in local and UTC."""
    lines = [
        f"Simulated day {report.day.isoformat()} - decisions only: no API calls, nothing enqueued",
        "",
    ]
    for entry in report.people:
        who = entry.person
        lines.append(f"{who.display}  [{who.timezone}]")
        if not entry.items:
            lines.append("  (no triggers)")
        for fire, decision in entry.items:
            local = fire.at.astimezone(who.zone)
            utc = fire.at.astimezone(UTC)
            detail = fire.trigger.attributes.get("summary") or fire.trigger.attributes.get(
                "scheduled", ""
            )
            shift = (utc.date() - local.date()).days
            mark = f"{shift:+d}d" if shift else "   "
            lines.append(
                f"  {local:%H:%M} {local.tzname():<5} {utc:%H:%M}Z{mark}  "
                f"{fire.trigger.kind.value:<11}  {fire.trigger.source:<24} "
                f"{detail[:24]:<24}  -> {_decision(decision)}"
            )
        lines.append("")
    if report.problems:
        lines.append("Problems:")
        lines.extend(f"  - {p}" for p in report.problems)
    return "\n".join(lines).rstrip() + "\n"


def render_range(report: RangeReport) -> str:
    """A range as text: one block per person, each trigger with its local date and time."""
    lines = [
        f"Simulated {report.first.isoformat()} to {report.last.isoformat()} - decisions only:"
        " no API calls, nothing enqueued",
        "",
    ]
    for entry in report.people:
        who = entry.person
        lines.append(f"{who.display}  [{who.timezone}]  {len(entry.items)} trigger(s)")
        for fire, decision in entry.items:
            local = fire.at.astimezone(who.zone)
            utc = fire.at.astimezone(UTC)
            attributes = fire.trigger.attributes
            detail = attributes.get("summary") or attributes.get("scheduled", "")
            lines.append(
                f"  {local:%Y-%m-%d %H:%M} {local.tzname():<5} {utc:%Y-%m-%d %H:%M}Z  "
                f"{fire.trigger.kind.value:<11}  {fire.trigger.source:<24} "
                f"{detail[:24]:<24}  -> {_decision(decision)}"
            )
        lines.append("")
    if report.problems:
        lines.append("Problems:")
        lines.extend(f"  - {p}" for p in report.problems)
    return "\n".join(lines).rstrip() + "\n"
