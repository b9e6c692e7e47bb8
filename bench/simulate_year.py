"""How long ``autoclock simulate --from 2026-03-01 --to 2026-11-10 --json`` takes over a year
of shifts (not part of the suite; speed is measured here, never asserted in a test).

    uv run python -m bench.simulate_year [--people 20]

Writes a rules directory with ``--people`` people, a team calendar (``person_by: attendee``)
holding one event per person per weekday (the days a shift-planning tool exports: no RRULE),
a personal RRULE calendar and two schedules; runs the CLI once as a user would and prints
the wall time, the number of triggers and the peak RSS of the child.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import yaml

FIRST, LAST = date(2026, 3, 1), date(2026, 11, 10)


def write(root: Path, people: int) -> int:
    emails = [f"p{n:03d}@example.com" for n in range(people)]
    (root / "calendars").mkdir(parents=True)
    (root / "people.yaml").write_text(
        yaml.safe_dump(
            {
                "people": [
                    {"email": e, "timezone": "Europe/Berlin" if n % 2 else "America/Chicago"}
                    for n, e in enumerate(emails)
                ]
            }
        )
    )
    (root / "sources.yaml").write_text(
        yaml.safe_dump(
            {
                "calendars": [
                    {"name": "team", "path": "calendars/team.ics", "person_by": "attendee"},
                    {"name": "own", "path": "calendars/own.ics", "person": emails[0]},
                ],
                "schedules": [
                    {"name": "eod", "at": "19:00", "weekdays": ["mon", "tue", "wed", "thu", "fri"]},
                    {"name": "sat", "cron": "0 12 * * sat", "people": emails[:3]},
                ],
            }
        )
    )
    (root / "rules.yaml").write_text(
        yaml.safe_dump(
            {
                "rules": [
                    {"name": "in", "on": {"kind": "shift_start"}, "do": {"action": "start"}},
                    {"name": "out", "on": {"kind": "shift_end"}, "do": {"action": "stop"}},
                    {"name": "eod", "on": {"kind": "tick"}, "do": {"action": "stop"}},
                ]
            }
        )
    )
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN"]
    events = 0
    day = FIRST
    while day <= LAST:
        if day.weekday() < 5:
            for n, email in enumerate(emails):
                zone = "Europe/Berlin" if n % 2 else "America/Chicago"
                lines += [
                    "BEGIN:VEVENT",
                    f"UID:{day:%Y%m%d}-{n}@bench",
                    "DTSTAMP:20260101T000000Z",
                    f"DTSTART;TZID={zone}:{day:%Y%m%d}T{8 + n % 3:02d}0000",
                    f"DTEND;TZID={zone}:{day:%Y%m%d}T{16 + n % 3:02d}0000",
                    f"SUMMARY:Shift {n}",
                    f"ATTENDEE:mailto:{email}",
                    "END:VEVENT",
                ]
                events += 1
        day += timedelta(days=1)
    lines.append("END:VCALENDAR")
    (root / "calendars" / "team.ics").write_text("\r\n".join(lines) + "\r\n")
    (root / "calendars" / "own.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
        "UID:own@bench\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20260301T220000\r\n"
        "DTEND;TZID=Europe/Berlin:20260302T060000\r\n"
        "RRULE:FREQ=WEEKLY;BYDAY=SU,WE\r\nSUMMARY:Night\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=20)
    args = parser.parse_args()
    autoclock = str(Path(sys.executable).parent / "autoclock")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "rules"
        events = write(root, args.people)
        command = [
            autoclock, "simulate", "--from", FIRST.isoformat(), "--to", LAST.isoformat(),
            "--json", "--rules-dir", str(root),
        ]  # fmt: skip
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    triggers = len(result.stdout.splitlines())
    print(
        f"simulate {FIRST}..{LAST}: {args.people} people, {events} calendar events ->"
        f" {triggers} triggers in {took:.1f} s (exit {result.returncode}, peak RSS {peak:.0f} MB)"
    )
    if result.returncode not in (0, 1):
        print(result.stderr, file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
