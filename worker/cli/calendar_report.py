"""Calendar events that are not planned as written: in ``rules check`` (local calendar files,
``file:line``) and ``autoclock status`` (what each feed's latest plan skipped or tolerated)."""

from __future__ import annotations

from pathlib import Path

import click
import redis

from worker.rules.ruleset import Ruleset
from worker.scheduler.attendees import unknown_attendees
from worker.scheduler.calendars import CalendarError, calendar_problems, parse_calendar
from worker.scheduler.plans import PlanStore
from worker.store import Keys

__all__ = ["echo_feed_problems", "local_calendar_problems", "local_unknown_attendees"]


def _uid_lines(text: str) -> dict[str, int]:
    """The line number of each ``UID:`` property (folded lines unfolded)."""
    found: dict[str, int] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line, number = lines[i], i + 1
        while i + 1 < len(lines) and lines[i + 1][:1] in (" ", "\t"):
            i += 1
            line += lines[i][1:]
        name, _, value = line.partition(":")
        if name.split(";", 1)[0].strip().upper() == "UID":
            found.setdefault(value.strip(), number)
        i += 1
    return found


def local_calendar_problems(ruleset: Ruleset) -> tuple[list[str], int]:
    """Every event of a local calendar file that is skipped or read with a warning, as
    ``path:line: reason`` lines; and how many are skipped."""
    lines: list[str] = []
    skipped = 0
    for source in ruleset.sources.calendars:
        if source.path is None:
            continue
        path = Path(source.path)
        if not path.is_absolute():
            path = ruleset.root / path
        try:
            body = path.read_bytes()
            calendar = parse_calendar(body)
        except (OSError, CalendarError):
            continue  # a missing or unreadable file is already a rules problem
        where = _uid_lines(body.decode("utf-8", errors="replace"))
        for problem in calendar_problems(source, calendar):
            line = where.get(problem.uid, 1)
            lines.append(f"{path}:{line}: {problem.line(source.name)}")
            skipped += problem.skipped
    return lines, skipped


def local_unknown_attendees(ruleset: Ruleset) -> list[str]:
    """``path:line:`` lines naming attendees of local ``person_by: attendee`` calendar files
    who are not in the people directory (they get no shift; printed, not an error)."""
    lines: list[str] = []
    for source in ruleset.sources.calendars:
        if source.path is None or source.person_by != "attendee":
            continue
        path = Path(source.path)
        if not path.is_absolute():
            path = ruleset.root / path
        try:
            body = path.read_bytes()
            calendar = parse_calendar(body)
        except (OSError, CalendarError):
            continue  # reported elsewhere
        where = _uid_lines(body.decode("utf-8", errors="replace"))
        for item in unknown_attendees(source, calendar, ruleset.directory):
            lines.append(f"{path}:{where.get(item.uid, 1)}: {item.line(source.name)}")
    return lines


def echo_feed_problems(client: redis.Redis, keys: Keys, ruleset: Ruleset) -> None:
    """What each calendar feed's latest plan skipped or read with a warning."""
    problems = PlanStore(client, keys).problems()
    for source in ruleset.sources.calendars:
        record = problems.get(source.name)
        if record is None:
            click.echo(f"calendar {source.name}: not planned yet")
            continue
        click.echo(
            f"calendar {source.name}: planned {record['at'][:19]}Z, "
            f"{record['skipped']} event(s) skipped, {record['warnings']} warning(s)"
        )
        for line in record["lines"][:20]:
            click.echo(f"  - {line}")
        if len(record["lines"]) > 20:
            click.echo(f"  ... and {len(record['lines']) - 20} more")
