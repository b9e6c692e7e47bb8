"""Pauses: `autoclock pause` stops a scheduled end-of-day stop and a badge-in, each with a
recorded `paused` outcome; closure days in rules.yaml do the same; `resume` lets them through.

Real parts: the CLI as a process, Redis, the worker threads, the scheduler, a WebWork sandbox.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from tests.pipeline.helpers import BADGE_RULES, synthetic_email, wait_for_outcomes
from tests.pipeline.processes import AUTOCLOCK, worker_env
from worker.models import Result, Trigger, TriggerKind, utcnow
from worker.pipeline.pauses import PauseStore
from worker.rules.directory import Person
from worker.rules.pauses import Pause, paused_reason
from worker.sandbox.seed import Seed
from worker.scheduler.clock import ManualClock
from worker.scheduler.loop import Scheduler
from worker.settings import Settings
from worker.store import Keys

BERLIN = ZoneInfo("Europe/Berlin")


def _rules(directory: Path, *, schedule: dict[str, object] | None = None, **extra: object) -> Path:
    """Two synthetic people: user0 in group plant, user1 in group office."""
    directory.mkdir(parents=True, exist_ok=True)
    people = [
        {"email": synthetic_email(0), "user_id": 1000, "groups": ["plant"]},
        {"email": synthetic_email(1), "user_id": 1001, "groups": ["office"]},
    ]
    (directory / "people.yaml").write_text(
        yaml.safe_dump(
            {
                "defaults": {"timezone": "Europe/Berlin"},
                "groups": ["plant", "office"],
                "people": people,
            }
        )
    )
    (directory / "sources.yaml").write_text(
        yaml.safe_dump({"schedules": [schedule] if schedule else []})
    )
    (directory / "rules.yaml").write_text(yaml.safe_dump({**BADGE_RULES, **extra}))
    return directory


def _cli(settings: Settings, sandbox, rules: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = worker_env(
        api_url=sandbox.api_url,
        token=sandbox.owner_token,
        redis_url=settings.redis_url,
        namespace=settings.namespace,
        rules_dir=rules,
        data_dir=rules.parent / "data",
    )
    return subprocess.run(
        [AUTOCLOCK, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def _badge(person: int, kind: TriggerKind, at: datetime, tag: str) -> Trigger:
    return Trigger(
        id=f"{tag}-{person}-{kind.value}",
        source="webhook:test",
        kind=kind,
        subject=synthetic_email(person),
        occurred_at=at,
    )


def test_a_pause_stops_an_end_of_day_stop_and_a_badge_in_each_with_an_outcome(
    settings: Settings, sandbox_factory, pipeline_factory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(seed=Seed.synthetic(2), rpm=0)
    # the end-of-day schedule fires 3 minutes from now (Berlin wall clock), for user0 only
    fire_at = (utcnow() + timedelta(minutes=3)).replace(second=0, microsecond=0)
    local = fire_at.astimezone(BERLIN)
    rules = _rules(
        tmp_path / "rules",
        schedule={
            "name": "end-of-day",
            "cron": f"{local.minute} {local.hour} * * *",
            "people": [synthetic_email(0)],
        },
    )
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, rules_dir=rules)
    version = pipeline.context.ruleset.version
    assert len(version) == 12

    # user0 starts tracking before the pause
    pipeline.queue.enqueue(_badge(0, TriggerKind.BADGE_IN, utcnow(), "before"))
    (started,) = wait_for_outcomes(pipeline.context.outcomes, 1)
    assert started.result is Result.STARTED
    assert started.rules_version == version

    paused = _cli(
        settings, sandbox, rules,
        "pause", "--group", "plant", "--until", "2h", "--reason", "plant shutdown",
    )  # fmt: skip
    assert paused.returncode == 0, paused.stderr
    assert "automation paused for group plant until" in paused.stdout
    listed = _cli(settings, sandbox, rules, "pauses", "--json")
    assert [json.loads(line)["scope"] for line in listed.stdout.splitlines()] == ["group:plant"]
    status = _cli(settings, sandbox, rules, "status", "--json")
    rows = {row["person"]: row for row in json.loads(status.stdout)}
    assert "plant shutdown" in rows[synthetic_email(0)]["paused"]
    assert rows[synthetic_email(1)]["paused"] == "-"

    # the scheduler fires end-of-day during the pause; user0 badges in again; user1 (office,
    # not paused) badges in
    clock = ManualClock(fire_at + timedelta(seconds=5))
    scheduler = Scheduler(
        settings, pipeline.context.db, pipeline.context.ruleset, pipeline.queue, clock=clock
    )
    assert scheduler.tick().enqueued == [
        f"schedule:end-of-day:{synthetic_email(0)}:{local:%Y-%m-%dT%H:%M}"
    ]
    pipeline.queue.enqueue(_badge(0, TriggerKind.BADGE_IN, utcnow(), "during"))
    pipeline.queue.enqueue(_badge(1, TriggerKind.BADGE_IN, utcnow(), "during"))
    outcomes = wait_for_outcomes(pipeline.context.outcomes, 4)
    by_trigger = {o.trigger_id: o for o in outcomes[1:]}
    eod = by_trigger[f"schedule:end-of-day:{synthetic_email(0)}:{local:%Y-%m-%dT%H:%M}"]
    assert eod.result is Result.PAUSED
    assert "automation paused for group plant" in eod.reason
    assert "plant shutdown" in eod.reason
    assert "rule 'end-of-day-stop' would have decided stop" in eod.reason
    badge_in = by_trigger["during-0-badge_in"]
    assert badge_in.result is Result.PAUSED
    assert "rule 'badge-in-starts' would have decided start" in badge_in.reason
    assert by_trigger["during-1-badge_in"].result is Result.STARTED
    assert {o.rules_version for o in outcomes} == {version}
    # nothing happened to user0: still tracking since the first badge-in, one start call only
    trackers = {t.user_id for t in sandbox.control.state().trackers}
    assert trackers == {1000, 1001}

    # resume: the next badge-out of user0 stops
    resumed = _cli(settings, sandbox, rules, "resume", "--group", "plant")
    assert resumed.returncode == 0, resumed.stderr
    again = _cli(settings, sandbox, rules, "resume", "--group", "plant")
    assert again.returncode == 1
    assert "no active pause for group plant" in again.stderr
    pipeline.queue.enqueue(_badge(0, TriggerKind.BADGE_OUT, utcnow(), "after"))
    outcomes = wait_for_outcomes(pipeline.context.outcomes, 5)
    assert outcomes[-1].result is Result.STOPPED
    assert {t.user_id for t in sandbox.control.state().trackers} == {1001}


def test_a_closure_day_in_rules_yaml_pauses_every_trigger_of_that_local_day(
    sandbox_factory, pipeline_factory, tmp_path: Path
) -> None:
    """closures: today (Berlin) for group plant: user0's badge-in is paused, user1's starts."""
    sandbox = sandbox_factory(seed=Seed.synthetic(2), rpm=0)
    today = utcnow().astimezone(BERLIN).date()
    rules = _rules(
        tmp_path / "rules",
        closures=[
            {"name": "shutdown", "from": str(today - timedelta(days=1)), "to": str(today),
             "groups": ["plant"], "reason": "annual maintenance"}
        ],
    )  # fmt: skip
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, rules_dir=rules)
    pipeline.queue.enqueue(_badge(0, TriggerKind.BADGE_IN, utcnow(), "c"))
    pipeline.queue.enqueue(_badge(1, TriggerKind.BADGE_IN, utcnow(), "c"))
    outcomes = {o.trigger_id: o for o in wait_for_outcomes(pipeline.context.outcomes, 2)}
    closed = outcomes["c-0-badge_in"]
    assert closed.result is Result.PAUSED
    assert f"{today.isoformat()} (Europe/Berlin) is closure day 'shutdown'" in closed.reason
    assert "annual maintenance" in closed.reason
    assert outcomes["c-1-badge_in"].result is Result.STARTED
    assert {t.user_id for t in sandbox.control.state().trackers} == {1001}


def test_a_trigger_from_during_a_pause_is_paused_even_when_evaluated_after_resume(
    settings: Settings, redis_client
) -> None:
    """resume ends a pause at now; a trigger that happened before still falls inside it."""
    store = PauseStore(redis_client, Keys(settings.namespace))
    start = datetime(2026, 3, 30, 8, tzinfo=UTC)
    store.set(Pause("all", start, start + timedelta(hours=8), "strike"))
    ended = store.end("all", start + timedelta(hours=1))
    assert ended is not None
    assert ended.until == start + timedelta(hours=1)
    who = Person(email="a@example.com", timezone="Europe/Berlin")
    kept = store.all(start + timedelta(hours=2))
    assert paused_reason(who, start + timedelta(minutes=30), pauses=kept) is not None
    assert paused_reason(who, start + timedelta(minutes=90), pauses=kept) is None
    assert store.active(start + timedelta(hours=2)) == []
    assert store.end("all", start + timedelta(hours=2)) is None
    # an ended pause is forgotten two days after it ended
    assert store.all(start + timedelta(days=3)) == []


def test_pause_refuses_unknown_names_and_past_times(
    settings: Settings, sandbox_factory, tmp_path: Path
) -> None:
    """A misspelt group or person and an --until in the past are usage errors (exit 2)."""
    sandbox = sandbox_factory(seed=Seed.synthetic(2), rpm=0)
    rules = _rules(tmp_path / "rules")
    typo = _cli(
        settings, sandbox, rules, "pause", "--group", "plnt", "--until", "1h", "--reason", "x"
    )
    assert typo.returncode == 2
    assert "unknown group 'plnt'" in typo.stderr
    assert "did you mean 'plant'" in typo.stderr
    who = _cli(
        settings,
        sandbox,
        rules,
        "pause",
        "--person",
        "nobody@example.com",
        "--until",
        "1h",
        "--reason",
        "x",
    )
    assert who.returncode == 2
    assert "not in the people directory" in who.stderr
    past = _cli(
        settings, sandbox, rules, "pause", "--all", "--until", "2020-01-01T00:00", "--reason", "x"
    )
    assert past.returncode == 2
    assert "is not in the future" in past.stderr
    both = _cli(
        settings,
        sandbox,
        rules,
        "pause",
        "--all",
        "--group",
        "plant",
        "--until",
        "1h",
        "--reason",
        "x",
    )
    assert both.returncode == 2
    assert "exactly one of --group, --person or --all" in both.stderr
    assert _cli(settings, sandbox, rules, "pauses").stdout.startswith("no active pauses")
