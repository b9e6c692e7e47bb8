"""Real ``autoclock worker`` processes for fault tests, and small helpers to read the results.

A worker is started as a subprocess with its settings in the environment (as an operator
would run it); its output goes to a file (never a pipe that could fill and block it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from tests.pipeline.helpers import synthetic_email
from worker.models import Outcome, Trigger, TriggerKind
from worker.sandbox import CallRecord
from worker.store import redis_server_binary

AUTOCLOCK = str(Path(sys.executable).with_name("autoclock"))

#: Trigger times are in the recent past, well inside the rules' 2 h deadline.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)

START_PATH = "/api/v2/time-tracking/start"
STOP_PATH = "/api/v2/time-tracking/stop"


@dataclass
class WorkerProcess:
    """One ``autoclock worker`` subprocess and its log file."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acks, locks and in-flight marks left behind."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout_s: float = 20.0) -> int:
        """SIGTERM and wait (bounded); SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        return int(self.process.returncode)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def worker_env(
    *,
    api_url: str,
    token: str,
    redis_url: str,
    namespace: str,
    rules_dir: Path,
    data_dir: Path,
    rpm: int = 100_000,
    threads: int = 8,
    **extra: str,
) -> dict[str, str]:
    """The environment of a worker process pointed at a sandbox and a Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBWORK_", "AUTOCLOCK_"))}
    env.update(
        {
            "WEBWORK_BASE_URL": api_url,
            "WEBWORK_TOKEN": token,
            "WEBWORK_WORKSPACE_ID": "1",
            "WEBWORK_RPM": str(rpm),
            "WEBWORK_TIMEOUT_S": "3",
            "REDIS_URL": redis_url,
            "AUTOCLOCK_NAMESPACE": namespace,
            "AUTOCLOCK_RULES_DIR": str(rules_dir),
            "AUTOCLOCK_DATA_DIR": str(data_dir),
            "AUTOCLOCK_WORKER_THREADS": str(threads),
            "AUTOCLOCK_LOG_FORMAT": "json",
            "AUTOCLOCK_LOG_LEVEL": "warning",
            **extra,
        }
    )
    return env


def start_worker(env: dict[str, str], log_path: Path) -> WorkerProcess:
    """Start ``autoclock worker`` with ``env``; its stdout and stderr go to ``log_path``."""
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [AUTOCLOCK, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return WorkerProcess(process=process, log_path=log_path)


def badge(person: int, step: int, kind: TriggerKind, *, prefix: str = "t") -> Trigger:
    """A badge trigger for synthetic person ``person``, ``step`` minutes after T0."""
    return Trigger(
        id=f"{prefix}-{person}-{step}",
        source="webhook:test",
        kind=kind,
        subject=synthetic_email(person),
        occurred_at=T0 + timedelta(minutes=step),
    )


def alternating(
    person: int, steps: int, *, ends_tracking: bool, prefix: str = "t"
) -> list[Trigger]:
    """``steps`` triggers alternating in/out, the last one ``badge_in`` iff ``ends_tracking``."""
    last_in = ends_tracking
    kinds = []
    for step in range(steps):
        from_end = steps - 1 - step
        is_in = last_in if from_end % 2 == 0 else not last_in
        kinds.append(TriggerKind.BADGE_IN if is_in else TriggerKind.BADGE_OUT)
    return [badge(person, step, kind, prefix=prefix) for step, kind in enumerate(kinds)]


def effects_by_user(calls: list[CallRecord]) -> dict[int, list[str]]:
    """Each user's effective start/stop calls in the sandbox's order."""
    found: dict[int, list[str]] = defaultdict(list)
    for call in sorted(calls, key=lambda c: c.seq):
        if call.effect is not None and call.user_id is not None:
            found[call.user_id].append(call.effect)
    return found


def start_stop_calls(calls: list[CallRecord]) -> list[CallRecord]:
    return [c for c in calls if c.path in (START_PATH, STOP_PATH)]


def per_trigger(outcomes: list[Outcome]) -> Counter[str]:
    return Counter(o.trigger_id for o in outcomes)


def wait_until(predicate: object, timeout_s: float, interval_s: float = 0.2) -> bool:
    """Poll ``predicate()`` until true or ``timeout_s`` passed; returns its last answer."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())


def durable_redis_server(directory: Path, port: int) -> subprocess.Popen[bytes]:
    """A durable redis-server (AOF, fsync on every write) on ``port`` with its files in
    ``directory``; returns once it answers."""
    server = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
        ],
        stdout=(directory / "redis.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.5)
    try:
        assert wait_until(lambda: _pings(client), 15, 0.1), "redis-server did not start"
    finally:
        client.close()
    return server


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
