"""Events that are skipped or read with a warning reach the operator: `rules check` for local
calendar files (file:line), and `autoclock status` after the scheduler planned a feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner, Result

from tests.scheduler.conftest import write_rules
from worker.cli import main
from worker.metrics.process import process_metrics
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.rules.load import load_ruleset
from worker.scheduler.clock import ManualClock
from worker.scheduler.loop import Scheduler
from worker.settings import Settings
from worker.store import Keys


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTOCLOCK_LOG_FORMAT", "json")
    monkeypatch.delenv("AUTOCLOCK_RULES_DIR", raising=False)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


def _rules(tmp_path: Path, *files: str) -> Path:
    calendars = [
        {"name": f.split("-")[0], "path": f"calendars/{f}", "person": "ana@example.com"}
        for f in files
    ]
    return write_rules(tmp_path / "rules", calendars=calendars, ics=list(files))


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_rules_check_names_each_skipped_event_with_file_line_and_exits_1(run, tmp_path) -> None:
    rules = _rules(tmp_path, "exchange-malformed.ics")
    result = run("rules", "check", "--rules-dir", str(rules))
    assert result.exit_code == 1, result.output
    ics = rules / "calendars" / "exchange-malformed.ics"
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3, result.stdout
    assert lines[0].startswith(f"{ics}:{_line_of(ics, 'A1B2C3D4')}: calendar exchange: event '")
    assert "warning: RRULE" in lines[0]
    assert lines[1].startswith(f"{ics}:{_line_of(ics, 'BADRULE')}: calendar exchange: event '")
    assert "skipped: RRULE 'FREQ=FORTNIGHTLY;BYDAY=WE' cannot be read" in lines[1]
    assert lines[2].startswith(f"{ics}:{_line_of(ics, 'NOZONE')}: calendar exchange: event '")
    assert "skipped: unknown time zone TZID 'Pacific Atlantis Time'" in lines[2]
    assert "2 calendar event(s)" in result.stderr


def test_rules_check_prints_warnings_but_passes_when_everything_is_planned(run, tmp_path) -> None:
    rules = _rules(tmp_path, "lotus-masterless-period.ics", "davx5-thisandfuture.ics")
    result = run("rules", "check", "--rules-dir", str(rules))
    assert result.exit_code == 0, result.output
    ics = rules / "calendars" / "lotus-masterless-period.ics"
    first, last = result.stdout.strip().splitlines()
    assert first.startswith(f"{ics}:{_line_of(ics, 'UID:')}: calendar lotus: event 'A47D3F0B")
    assert "warning: no master event" in first
    assert (
        last.endswith(
            "ok (3 people, 2 groups, 0 webhook sources, 2 calendars, 0 schedules, 3 rules)"
        )
        or " ok (" in last
    )


def test_status_shows_what_each_feeds_latest_plan_skipped(
    run, tmp_path: Path, settings: Settings, redis_client: redis.Redis, monkeypatch
) -> None:
    rules = _rules(tmp_path, "exchange-malformed.ics", "davx5-thisandfuture.ics")
    clock = ManualClock(datetime(2026, 3, 2, 6, tzinfo=UTC))
    queue = TriggerQueue(make_broker(redis_client, Keys(settings.namespace)))
    Scheduler(settings, redis_client, load_ruleset(rules), queue, clock=clock).tick()
    monkeypatch.setenv("REDIS_URL", settings.redis_url or "")
    monkeypatch.setenv("AUTOCLOCK_NAMESPACE", settings.namespace)
    monkeypatch.setenv("AUTOCLOCK_RULES_DIR", str(rules))
    result = run("status")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert (
        "calendar exchange: planned 2026-03-02T06:00:00Z, 2 event(s) skipped, 1 warning(s)" in out
    )
    assert "  - calendar exchange: event '040000008200E00074C5B7101A82E00800000000BADBAD" in out
    assert "Pacific Atlantis Time" in out
    assert "calendar davx5: planned 2026-03-02T06:00:00Z, 0 event(s) skipped, 0 warning(s)" in out
    feeds = {f["feed"]: f for f in json.loads(run("status", "--feeds", "--json").stdout)}
    assert feeds["exchange"]["plan"]["skipped"] == 2
    assert feeds["exchange"]["plan"]["kinds"] == {"malformed_rrule": 2, "unknown_zone": 1}
    assert len(feeds["exchange"]["plan"]["lines"]) == 3
    assert feeds["davx5"]["plan"]["lines"] == []
    # and the leader's metrics say the same
    metrics = process_metrics().render().decode()
    for labels, value in [
        ('feed="exchange",kind="malformed_rrule",severity="skipped"', 1),
        ('feed="exchange",kind="malformed_rrule",severity="warning"', 1),
        ('feed="exchange",kind="unknown_zone",severity="skipped"', 1),
        ('feed="exchange",kind="orphan",severity="warning"', 0),
        ('feed="davx5",kind="malformed_rrule",severity="skipped"', 0),
    ]:
        assert f"autoclock_calendar_event_problems{{{labels}}} {value:.1f}" in metrics
