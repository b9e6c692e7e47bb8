"""``simulate --from/--to`` in one process, ``--json``, exit 1 when incomplete; ``rules check``
names attendees who map to nobody."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from tests.scheduler.conftest import write_rules
from worker.rules.load import load_ruleset
from worker.scheduler.simulate import simulate_range, trigger_records

AUTOCLOCK = str(Path(sys.executable).parent / "autoclock")
SCHEDULES = [{"name": "eod", "at": "19:00", "weekdays": ["fri", "sun"]}]
ANA_DST = {"name": "ana", "path": "calendars/berlin-dst.ics", "person": "ana@example.com"}
TEAM = {"name": "team", "path": "calendars/team-attendee.ics", "person_by": "attendee"}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "AUTOCLOCK_LOG_FORMAT": "json",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    return subprocess.run(
        [AUTOCLOCK, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _key(record: dict[str, object]) -> tuple[str, str, str]:
    return (str(record["person"]), str(record["utc"]), str(record["id"]))


def test_a_range_is_exactly_its_days(tmp_path: Path) -> None:
    """One pass over 2026-03-25..04-02 (Berlin's DST change inside) gives the triggers of the
    nine single-day runs, no more, no fewer."""
    ruleset = load_ruleset(
        write_rules(
            tmp_path / "rules",
            calendars=[ANA_DST, TEAM],
            schedules=SCHEDULES,
            ics=["berlin-dst.ics", "team-attendee.ics"],
        )
    )
    first, last = date(2026, 3, 25), date(2026, 4, 2)
    whole = sorted(trigger_records(simulate_range(ruleset, first, last)), key=_key)
    days = []
    day = first
    while day <= last:
        days += list(trigger_records(simulate_range(ruleset, day, day)))
        day += timedelta(days=1)
    assert whole == sorted(days, key=_key)
    assert len(whole) >= 20
    for record in whole:
        assert datetime.fromisoformat(record["local_time"]) == datetime.fromisoformat(
            record["utc"].replace("Z", "+00:00")
        )


def test_json_lines_one_per_trigger_and_exit_1_for_attendees_who_map_to_nobody(
    tmp_path: Path,
) -> None:
    rules = write_rules(
        tmp_path / "rules",
        calendars=[ANA_DST, TEAM],
        schedules=SCHEDULES,
        ics=["berlin-dst.ics", "team-attendee.ics"],
    )
    args = ("simulate", "--from", "2026-03-28", "--to", "2026-03-29", "--json", "--rules-dir")
    result = _run(*args, str(rules), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    (gap,) = [
        r
        for r in records
        if r["source"] == "calendar:ana" and r["local_time"].startswith("2026-03-29T03:30")
    ]
    assert gap["local_time"] == "2026-03-29T03:30:00+02:00"
    assert gap["utc"] == "2026-03-29T01:30:00Z"
    assert gap["person"] == "ana@example.com"
    assert gap["kind"] == "shift_start"
    assert gap["source"] == "calendar:ana"
    assert set(gap) >= {"id", "person", "kind", "source", "local_time", "utc", "summary"}
    early = [r for r in records if r["source"] == "calendar:team" and r["summary"] == "Early shift"]
    assert [r["local_time"] for r in early] == [
        "2026-03-29T06:00:00+02:00",
        "2026-03-29T14:00:00+02:00",
    ]
    assert "attendee visitor@elsewhere.org maps to nobody" in result.stderr
    assert "attendee open-shifts@example.org maps to nobody" in result.stderr
    assert "the simulation is incomplete" in result.stderr


def test_exit_0_when_complete_and_1_when_a_feed_failed(tmp_path: Path) -> None:
    fine = write_rules(
        tmp_path / "fine", calendars=[ANA_DST], schedules=SCHEDULES, ics=["berlin-dst.ics"]
    )
    ok = _run(
        "simulate",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--rules-dir",
        str(fine),
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert "Simulated 2026-03-01 to 2026-03-31" in ok.stdout
    assert "2026-03-29 03:30 CEST  2026-03-29 01:30Z  shift_start" in ok.stdout
    dead = write_rules(
        tmp_path / "dead",
        calendars=[
            {"name": "remote", "url": "http://127.0.0.1:9/shifts.ics", "person": "ana@example.com"}
        ],
        schedules=SCHEDULES,
    )
    failed = _run(
        "simulate", "--date", "2026-03-06", "--json", "--rules-dir", str(dead), cwd=tmp_path
    )
    assert failed.returncode == 1
    assert "1 feed(s) failed" in failed.stderr
    assert "calendar remote: ConnectError from 127.0.0.1" in failed.stderr
    assert [json.loads(line)["source"] for line in failed.stdout.splitlines()] == [
        "schedule:eod"
    ] * 3


def test_bad_ranges_are_usage_errors(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", schedules=SCHEDULES)
    for args in (
        ("--date", "2026-03-01", "--from", "2026-03-01", "--to", "2026-03-02"),
        ("--from", "2026-03-02", "--to", "2026-03-01"),
        ("--from", "2026-03-02"),
        ("--from", "2020-01-01", "--to", "2026-01-01"),
    ):
        result = _run("simulate", *args, "--rules-dir", str(rules), cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout, result.stderr)


def test_rules_check_names_attendees_who_map_to_nobody(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "rules", calendars=[TEAM], ics=["team-attendee.ics"])
    result = _run("rules", "check", "--rules-dir", str(rules), cwd=tmp_path)
    path = rules / "calendars" / "team-attendee.ics"
    assert (
        f"{path}:20: calendar team: event 'early@team' ('Early shift'): "
        "attendee visitor@elsewhere.org maps to nobody"
    ) in result.stdout, result.stdout + result.stderr
    assert f"{path}:37: calendar team: event 'nobody@team'" in result.stdout
