"""Shadow mode: every trigger the scheduler would produce on one day, and what the rules decide.

For each person, the day is their own local calendar day ``[00:00, 24:00)``. Calendar feeds
are read (file, or one plain GET of the URL), schedules expanded, and each trigger evaluated
with :func:`worker.rules.evaluate.evaluate` and :class:`~worker.rules.facts.StaticFacts`
(holidays from the ``holidays`` package; leave and tracker state unknown). Nothing touches
WebWork or Redis, and nothing is enqueued.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import httpx

from worker.rules.directory import Person
from worker.rules.evaluate import Decision, evaluate
from worker.rules.facts import Facts, StaticFacts
from worker.rules.ruleset import Ruleset
from worker.rules.schema import CalendarSource
from worker.scheduler.calendars import CalendarError, calendar_fires, parse_calendar
from worker.scheduler.feeds import FeedError, download
from worker.scheduler.fires import Fire
from worker.scheduler.schedules import schedule_fires

__all__ = ["DayReport", "PersonDay", "render", "simulate_day"]

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


def simulate_day(
    ruleset: Ruleset,
    day: date,
    *,
    person: str | None = None,
    facts: Facts | None = None,
    read_feed: FeedReader | None = None,
) -> DayReport:
    """The triggers of ``day`` for everyone (or the person with email ``person``).

    ``read_feed`` returns a calendar source's ICS body (default: read the file or GET the
    URL once); a feed that cannot be read is listed in ``problems``, not fatal.
    """
    facts = facts or StaticFacts()
    report = DayReport(day=day)
    if person is not None:
        found = ruleset.directory.by_email(person)
        if found is None:
            raise LookupError(f"{person} is not in the people directory")
        people: list[Person] = [found]
    else:
        people = list(ruleset.directory.people)
    calendars = []
    with httpx.Client(timeout=15.0, follow_redirects=True) as http:
        reader = read_feed or (lambda s: download(s, ruleset.root, http)[0])
        for source in ruleset.sources.calendars:
            try:
                calendars.append((source, parse_calendar(reader(source))))
            except (FeedError, CalendarError) as exc:
                report.problems.append(f"calendar {source.name}: {exc}")
    for who in people:
        start, end = _local_day(day, who)
        lo, hi = start - timedelta(microseconds=1), end - timedelta(microseconds=1)
        fires = schedule_fires(ruleset.sources.schedules, ruleset.directory, lo, hi, people=[who])
        for source, calendar in calendars:
            plan = calendar_fires(source, calendar, ruleset.directory, lo, hi, people=[who])
            fires.extend(plan.fires)
            # events skipped or tolerated concern everyone; "maps to nobody" only everyone
            lines = plan.problems if person is None else [e.line(source.name) for e in plan.events]
            report.problems.extend(p for p in lines if p not in report.problems)
        fires.sort(key=lambda f: (f.at, f.id))
        entry = PersonDay(person=who, start=start, end=end)
        for fire in fires:
            entry.items.append(
                (fire, evaluate(fire.trigger, who, ruleset, now=fire.at, facts=facts))
            )
        report.people.append(entry)
    return report


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
