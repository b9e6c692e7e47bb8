"""Real `autoclock scheduler` processes on one Redis: each fire once, SIGKILL hand-over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from tests.scheduler.conftest import write_rules
from tests.scheduler.helpers import queued_triggers
from worker.models import Result
from worker.pipeline.outcomes import OutcomeLog
from worker.store import Keys

AUTOCLOCK = str(Path(sys.executable).parent / "autoclock")
TTL_S = 2.0


def _env(redis_url: str, namespace: str, rules: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOCLOCK_", "WEBWORK_"))}
    env.update(
        REDIS_URL=redis_url,
        AUTOCLOCK_NAMESPACE=namespace,
        AUTOCLOCK_RULES_DIR=str(rules),
        AUTOCLOCK_LOG_FORMAT="json",
        AUTOCLOCK_LEADER_TTL_S=str(TTL_S),
        AUTOCLOCK_SCHEDULER_TICK_S="0.25",
        AUTOCLOCK_CATCHUP_GRACE_S="900",
        **extra,
    )
    return env


def _start(
    env: dict[str, str], log: Path, start: datetime, speed: float, epoch: float
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            AUTOCLOCK,
            "scheduler",
            "--clock-start",
            start.isoformat(),
            "--clock-speed",
            str(speed),
            "--clock-epoch",
            repr(epoch),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=5)


def _holder(client: redis.Redis, namespace: str) -> bytes | None:
    value = client.get(Keys(namespace)("scheduler", "leader"))
    return value if value is None or isinstance(value, bytes) else str(value).encode()


def _schedules() -> list[dict[str, object]]:
    """Every 5 minutes from 08:00Z to 08:55Z on Monday 2026-03-30, for each of three zones."""
    found: list[dict[str, object]] = []
    for minute in range(0, 60, 5):
        for prefix, hour, email in (
            ("b", 10, "ana@example.com"),  # Berlin, CEST (+2)
            ("c", 3, "bo@example.com"),  # Chicago, CDT (-5)
            ("s", 19, "cy@example.com"),
        ):  # Sydney, AEDT (+11)
            found.append(
                {
                    "name": f"{prefix}-{minute:02d}",
                    "at": f"{hour:02d}:{minute:02d}",
                    "people": [email],
                    "weekdays": ["mon"],
                }
            )
    return found


@pytest.mark.slow
def test_two_replicas_enqueue_each_fire_once_and_hand_over_on_sigkill(
    redis_url: str, namespace: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """Simulated hour, 36 fires, leader SIGKILLed: takeover within TTL, none lost or doubled."""
    rules = write_rules(tmp_path / "rules", schedules=_schedules())
    env = _env(redis_url, namespace, rules)
    speed = 120.0  # 2 simulated minutes per real second: the hour takes 30 s
    start = datetime(2026, 3, 30, 7, 59, tzinfo=UTC)
    epoch = time.time() + 6.0  # both replicas import and connect first (slow on a busy machine)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_start(env, logs[0], start, speed, epoch), _start(env, logs[1], start, speed, epoch)]
    try:
        # mid-way (about 08:25 simulated) kill whoever leads
        time.sleep(max(0.0, epoch + 13.0 - time.time()))
        before = len(queued_triggers(redis_client, namespace))
        assert 0 < before < 36, before
        token = _holder(redis_client, namespace)
        assert token is not None
        leader = next(i for i, log in enumerate(logs) if "leadership acquired" in log.read_text())
        procs[leader].send_signal(signal.SIGKILL)
        procs[leader].wait(timeout=5)
        killed_at = time.monotonic()
        while True:
            holder = _holder(redis_client, namespace)
            if holder is not None and holder != token:
                break
            assert time.monotonic() - killed_at < TTL_S * 1.5, "no takeover within the TTL"
            time.sleep(0.05)
        takeover_s = time.monotonic() - killed_at
        assert takeover_s <= TTL_S + TTL_S / 3 + 0.3
        survivor = procs[1 - leader]
        # run to the end of the simulated hour (08:59), then a little more: nothing more may come
        time.sleep(max(0.0, epoch + 30.0 - time.time()))
        deadline = time.monotonic() + 10
        while len(queued_triggers(redis_client, namespace)) < 36 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        assert _stop(survivor) == 0
    finally:
        for proc in procs:
            _stop(proc)
    queued = queued_triggers(redis_client, namespace)
    ids = [t["id"] for t in queued]
    expected = {f"schedule:{s['name']}:{s['people'][0]}:2026-03-30" for s in _schedules()}  # type: ignore[index]
    assert len(ids) == 36, ids
    assert set(ids) == expected, sorted(set(expected) - set(ids))
    survivor_log = logs[1 - leader].read_text()
    assert "leadership acquired" in survivor_log
    assert sum(1 for log in logs if "leadership acquired" in log.read_text()) == 2


@pytest.mark.slow
def test_restart_across_fire_times_enqueues_late_within_grace_and_records_missed(
    redis_url: str, namespace: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """Stopped at 08:53, restarted at 09:30 (Berlin): 09:20 enqueued late, 09:00 recorded missed."""
    rules = write_rules(
        tmp_path / "rules",
        schedules=[
            {"name": "early", "at": "09:00", "people": ["ana@example.com"]},
            {"name": "later", "at": "09:20", "people": ["ana@example.com"]},
        ],
    )
    env = _env(redis_url, namespace, rules)
    first = _start(
        env, tmp_path / "first.log", datetime(2026, 3, 30, 6, 50, tzinfo=UTC), 60.0, time.time()
    )
    # Stop it once it has ticked (its clock runs 60x from 06:50Z, so it must stop well before
    # 07:00Z): wait for its cursor rather than a fixed time, which a slow start overran.
    cursor_key = Keys(namespace)("scheduler", "cursor")
    started = time.monotonic()
    while redis_client.get(cursor_key) is None and time.monotonic() - started < 8:
        time.sleep(0.05)
    time.sleep(0.5)
    assert _stop(first) == 0
    assert queued_triggers(redis_client, namespace) == []
    cursor = float(redis_client.get(cursor_key) or 0)
    assert datetime(2026, 3, 30, 6, 50, tzinfo=UTC).timestamp() < cursor
    assert cursor < datetime(2026, 3, 30, 7, 0, tzinfo=UTC).timestamp()
    second = _start(
        env, tmp_path / "second.log", datetime(2026, 3, 30, 7, 30, tzinfo=UTC), 1.0, time.time()
    )
    deadline = time.monotonic() + 15
    while not queued_triggers(redis_client, namespace) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    assert _stop(second) == 0
    queued = queued_triggers(redis_client, namespace)
    assert [(t["id"], t["late"]) for t in queued] == [
        ("schedule:later:ana@example.com:2026-03-30", True)
    ]
    outcomes = OutcomeLog(redis_client, Keys(namespace)).all()
    assert [(o.trigger_id, o.result) for o in outcomes] == [
        ("schedule:early:ana@example.com:2026-03-30", Result.MISSED)
    ]
    assert outcomes[0].occurred_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert timedelta(0) < datetime(2026, 3, 30, 7, 30, tzinfo=UTC) - outcomes[0].occurred_at


def test_scheduler_refuses_invalid_rules(redis_url: str, namespace: str, tmp_path: Path) -> None:
    """Broken rules: `autoclock scheduler` exits 3 and names the problem; nothing starts."""
    rules = write_rules(tmp_path / "rules", schedules=[{"name": "eod", "at": "25:00"}])
    result = subprocess.run(
        [AUTOCLOCK, "scheduler"],
        env=_env(redis_url, namespace, rules),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "sources.yaml" in result.stderr
    assert "25:00" in result.stderr
