"""`autoclock simulate` shows each person's triggers of a day and the rules' decisions, offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.scheduler.conftest import write_rules

AUTOCLOCK = str(Path(sys.executable).parent / "autoclock")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "AUTOCLOCK_LOG_FORMAT": "json",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }  # unreachable on purpose: no Redis needed
    return subprocess.run(
        [AUTOCLOCK, "simulate", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_simulate_dst_day_lists_triggers_and_decisions(tmp_path: Path) -> None:
    """On Berlin's spring-forward day: gap shift at 03:30 CEST, day shift, 19:00 stop."""
    rules = write_rules(
        tmp_path / "rules",
        calendars=[
            {"name": "ana", "path": "calendars/berlin-dst.ics", "person": "ana@example.com"}
        ],
        schedules=[{"name": "eod", "at": "19:00", "weekdays": ["sun"]}],
        ics=["berlin-dst.ics"],
    )
    result = _run(
        "--date",
        "2026-03-29",
        "--person",
        "ana@example.com",
        "--rules-dir",
        str(rules),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("  ") and not line.startswith("  - ")  # triggers, not problems
    ]
    assert len(lines) == 5, result.stdout
    # the cancelled and the all-day event of the fixture are named, not dropped in silence
    assert "event 'day@test' warning: not planned: cancelled" in result.stdout
    assert "event 'teamday@test' warning: not planned: an all-day event" in result.stdout
    assert lines[0].split()[:5] == ["03:30", "CEST", "01:30Z", "shift_start", "calendar:ana"]
    assert "start (rule clock-in)" in lines[0]
    assert lines[2].split()[:4] == ["09:00", "CEST", "07:00Z", "shift_start"]
    assert lines[4].split()[:5] == ["19:00", "CEST", "17:00Z", "tick", "schedule:eod"]
    assert lines[4].endswith("stop (rule end-of-day)")
    assert "bo@example.com" not in result.stdout


def test_simulate_everyone_and_unknown_person(tmp_path: Path) -> None:
    """Without --person everyone is listed in their own day; an unknown person is a usage error."""
    rules = write_rules(
        tmp_path / "rules", schedules=[{"name": "eod", "at": "19:00", "weekdays": ["sun"]}]
    )
    result = _run("--date", "2026-03-08", "--rules-dir", str(rules), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "19:00 CDT   00:00Z+1d" in result.stdout  # Chicago, its first CDT day
    assert "19:00 CET   18:00Z" in result.stdout
    assert "19:00 AEDT  08:00Z" in result.stdout
    bad = _run(
        "--date", "2026-03-08", "--person", "x@example.com", "--rules-dir", str(rules), cwd=tmp_path
    )
    assert bad.returncode == 2
    assert "not in the people directory" in bad.stderr
    worse = _run("--date", "2026-02-30", "--rules-dir", str(rules), cwd=tmp_path)
    assert worse.returncode == 2


def test_simulate_lists_every_skipped_or_tolerated_event_by_feed_and_uid(tmp_path: Path) -> None:
    """Exchange export: spaces in BYDAY (read, warned), a meaningless RRULE and an unknown TZID
    (skipped): all three in Problems with the feed and the UID, also for one person."""
    rules = write_rules(
        tmp_path / "rules",
        calendars=[
            {
                "name": "frontdesk",
                "path": "calendars/exchange-malformed.ics",
                "person": "ana@example.com",
            }
        ],
        ics=["exchange-malformed.ics"],
    )
    result = _run(
        "--date",
        "2026-03-02",
        "--person",
        "ana@example.com",
        "--rules-dir",
        str(rules),
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr  # two events cannot be planned
    assert "2 event(s) cannot be planned" in result.stderr
    assert "08:00 CET   07:00Z     shift_start  calendar:frontdesk" in result.stdout
    problems = result.stdout.split("Problems:\n", 1)[1].splitlines()
    assert len(problems) == 3, result.stdout
    assert problems[0].startswith("  - calendar frontdesk: event '040000008200E00074C5B7101A82E0")
    assert "warning: RRULE" in problems[0]
    assert "BADRULE' skipped: RRULE 'FREQ=FORTNIGHTLY;BYDAY=WE' cannot be read" in problems[1]
    assert "NOZONE' skipped: unknown time zone TZID 'Pacific Atlantis Time'" in problems[2]
