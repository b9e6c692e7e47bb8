"""`autoclock rules check` and `rules explain`, run as a user would (click's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.rules.conftest import SHIPPED, edit
from worker.cli import main


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Invoke ``autoclock`` with a clean environment and a scratch working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTOCLOCK_LOG_FORMAT", "json")
    monkeypatch.delenv("AUTOCLOCK_RULES_DIR", raising=False)
    monkeypatch.delenv("AUTOCLOCK_TIMEZONE", raising=False)

    def invoke(*args: str, stdin: str | None = None):
        return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)

    return invoke


def test_check_passes_on_the_shipped_rules(run) -> None:
    """The shipped example checks clean: exit 0 and a one-line summary."""
    result = run("rules", "check", "--rules-dir", str(SHIPPED))
    assert result.exit_code == 0, result.output
    assert "ok (5 people, 2 groups, 6 webhook sources, 1 calendars" in result.stdout


def test_check_uses_the_rules_dir_setting(run, rules_copy: Path, monkeypatch) -> None:
    """Without --rules-dir, AUTOCLOCK_RULES_DIR is checked."""
    edit(rules_copy / "rules.yaml", "kind: tick", "kind: tock")
    monkeypatch.setenv("AUTOCLOCK_RULES_DIR", str(rules_copy))
    result = run("rules", "check")
    assert result.exit_code == 1
    assert f"{rules_copy / 'rules.yaml'}:" in result.stdout


def test_check_prints_three_mistakes_with_lines_and_exits_1(run, rules_copy: Path) -> None:
    """Three different mistakes: all three printed as file:line: reason, exit code 1."""
    people, sources, rules = (rules_copy / n for n in ("people.yaml", "sources.yaml", "rules.yaml"))
    edit(people, "    groups: [night-shift]", "    groups: [nightshift]")
    edit(sources, '    at: "19:00"', '    at: "19:75"')
    edit(rules, "    max_delay: 2h", "    max_delay: 2h\n    colour: red")
    result = run("rules", "check", "--rules-dir", str(rules_copy))
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3, result.stdout
    assert lines[0].startswith(f"{people}:64: unknown group 'nightshift'")
    assert lines[1].startswith(f"{sources}:33: schedules[0].at: not a time of day: '19:75'")
    assert lines[2].startswith(f"{rules}:36: rules[1].colour: unknown key 'colour'")
    assert "3 problems" in result.stderr


def test_explain_weekday_shift_start_shows_start(run) -> None:
    """A Monday shift start for Dana resolves her and shows the start decision."""
    result = run(
        "rules",
        "explain",
        "--rules-dir",
        str(SHIPPED),
        "--kind",
        "shift_start",
        "--subject",
        "dana.ruiz@example.com",
        "--at",
        "2026-03-30T09:00+02:00",
        "--source",
        "calendar:team-shifts",
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Person   Dana Ruiz <dana.ruiz@example.com> (matched by email)" in out
    assert "MATCH  shift-start" in out
    assert "<- decides" in out
    assert "Action   start dana.ruiz@example.com (contract 20, task 5)" in out


def test_explain_on_a_public_holiday_shows_the_rule_skipped(run) -> None:
    """The same trigger on Christmas Day shows shift-start skipped with the holiday's name."""
    result = run(
        "rules",
        "explain",
        "--rules-dir",
        str(SHIPPED),
        "--kind",
        "shift_start",
        "--subject",
        "dana.ruiz@example.com",
        "--at",
        "2026-12-25T09:00+01:00",
        "--source",
        "calendar:team-shifts",
    )
    assert result.exit_code == 0, result.output
    assert "skipped: 2026-12-25 is a public holiday in DE (Christmas Day)" in result.stdout
    assert "Action   none: the trigger would end as no_rule" in result.stdout


def test_explain_night_badge_out_matches_the_night_window(run) -> None:
    """A badge-out at 01:30 by badge id matches the 22:00-06:00 night rule and stops."""
    result = run(
        "rules",
        "explain",
        "--rules-dir",
        str(SHIPPED),
        "--kind",
        "badge_out",
        "--subject",
        "04C3D4E5",
        "--at",
        "2026-03-31T01:30+02:00",
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Alex Night <alex.night@example.com> (matched by badge)" in out
    assert "source webhook:kisi-hq assumed" in out
    assert "inside 22:00-06:00" in out
    assert "Action   stop alex.night@example.com (contract 23, task 6)" in out


def test_explain_json_trigger_file_facts_and_json_output(run, tmp_path: Path) -> None:
    """A trigger from a JSON file, with known tracking state, explained as JSON."""
    file = tmp_path / "t.json"
    file.write_text(
        json.dumps(
            {
                "source": "schedule:end-of-day",
                "kind": "tick",
                "subject": "kim.park@example.com",
                "occurred_at": "2026-03-30T19:00:00-05:00",
            }
        )
    )
    base = ("rules", "explain", "--rules-dir", str(SHIPPED), "--trigger", str(file), "--json")
    idle = json.loads(run(*base, "--tracking", "no").stdout)
    assert idle["action"] is None
    assert idle["result"] == "no_rule"
    assert "is not tracking" in idle["verdicts"][-1]["reason"]
    busy = json.loads(run(*base, "--tracking", "yes").stdout)
    assert (busy["action"], busy["rule"], busy["contract_id"]) == ("stop", "end-of-day", 22)
    assert busy["person"] == "kim.park@example.com"


def test_explain_unknown_subject_and_naive_time(run) -> None:
    """An unknown badge is reported as unknown_person; a time without offset is local."""
    unknown = run(
        "rules",
        "explain",
        "--rules-dir",
        str(SHIPPED),
        "--kind",
        "badge_in",
        "--subject",
        "DEADBEEF",
        "--at",
        "2026-03-30T09:00",
    )
    assert unknown.exit_code == 0
    assert "unknown_person" in unknown.stdout
    local = run(
        "rules",
        "explain",
        "--rules-dir",
        str(SHIPPED),
        "--kind",
        "badge_in",
        "--subject",
        "kim.park@example.com",
        "--at",
        "2026-03-30T09:00",
        "--json",
    )
    assert json.loads(local.stdout)["trigger"]["occurred_at"] == "2026-03-30T09:00:00-05:00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kind", "badge_out", "--subject", "x", "--at", "yesterday"), "not an ISO 8601 time"),
        (("--kind", "badge_out", "--subject", "x", "--attr", "door"), "is not KEY=VALUE"),
        (("--kind", "badge_out"), "--kind and --subject are required"),
        (("--kind", "teleport", "--subject", "x"), "Invalid value for '--kind'"),
    ],
)
def test_explain_bad_input_is_a_usage_error(run, args: tuple[str, ...], message: str) -> None:
    """Bad flags exit 2 with a message naming the problem, never a traceback."""
    result = run("rules", "explain", "--rules-dir", str(SHIPPED), *args)
    assert result.exit_code == 2
    assert message in result.output


def test_explain_bad_trigger_file_is_a_usage_error(run, tmp_path: Path) -> None:
    """A trigger file with broken JSON names the line; a wrong field names the field."""
    file = tmp_path / "t.json"
    file.write_text('{"kind": "badge_out",\n "subject": }')
    broken = run("rules", "explain", "--rules-dir", str(SHIPPED), "--trigger", str(file))
    assert broken.exit_code == 2
    assert "t.json:2: invalid JSON" in broken.output
    file.write_text(
        json.dumps(
            {
                "kind": "badge_out",
                "subject": "x",
                "source": "manual",
                "occurred_at": "2026-03-30T09:00:00",
            }
        )
    )
    naive = run("rules", "explain", "--rules-dir", str(SHIPPED), "--trigger", str(file))
    assert naive.exit_code == 2
    assert "occurred_at" in naive.output


def test_explain_refuses_an_invalid_ruleset(run, rules_copy: Path) -> None:
    """explain on broken rules prints the problems and exits 3 (invalid configuration)."""
    edit(rules_copy / "rules.yaml", "kind: tick", "kind: tock")
    result = run(
        "rules",
        "explain",
        "--rules-dir",
        str(rules_copy),
        "--kind",
        "tick",
        "--subject",
        "dana.ruiz@example.com",
        "--at",
        "2026-03-30T19:00+02:00",
    )
    assert result.exit_code == 3
    assert "got 'tock'" in result.stderr
