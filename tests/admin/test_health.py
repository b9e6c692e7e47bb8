"""Liveness of the scheduler loop, and an admin port that cannot be bound."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis

from tests.scheduler.conftest import write_rules
from tests.webhooks.helpers import serve
from worker.admin import Health, create_admin_app
from worker.cli._admin import SCHEDULER_STALL_S, scheduler_health
from worker.metrics import process_metrics
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.rules.load import load_ruleset
from worker.scheduler.loop import Scheduler
from worker.settings import Settings
from worker.store import Keys

AUTOCLOCK = str(Path(sys.executable).parent / "autoclock")


def test_a_scheduler_whose_loop_stalls_fails_healthz(
    settings: Settings, redis_client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    """/healthz is 200 while the loop iterates, 503 naming the stall once it has not
    completed an iteration for longer than the limit (60 s at a 1 s tick)."""
    ruleset = load_ruleset(write_rules(tmp_path / "rules"), default_timezone="UTC")
    keys = Keys(namespace)
    scheduler = Scheduler(
        settings, redis_client, ruleset, TriggerQueue(make_broker(redis_client, keys))
    )
    app = create_admin_app(
        liveness=scheduler_health(scheduler, tick_s=1.0),
        readiness=Health,
        metrics=process_metrics().render,
    )
    with serve(app) as url:
        assert httpx.get(url + "/healthz").status_code == 200
        scheduler.loop_at = time.monotonic() - SCHEDULER_STALL_S - 5  # the loop is stuck
        stalled = httpx.get(url + "/healthz")
        ready = httpx.get(url + "/readyz")
    assert stalled.status_code == 503
    assert "scheduler loop stalled" in stalled.json()["reasons"][0]
    assert ready.status_code == 503  # a process that is not alive is not ready either


def test_an_admin_port_in_use_is_exit_3_naming_the_setting(
    redis_url: str, namespace: str, tmp_path: Path
) -> None:
    """`autoclock scheduler` with its admin port taken: exit 3, one line naming the setting."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOCLOCK_", "WEBWORK_"))}
        env.update(
            REDIS_URL=redis_url,
            AUTOCLOCK_NAMESPACE=namespace,
            AUTOCLOCK_RULES_DIR=str(write_rules(tmp_path / "rules")),
            AUTOCLOCK_ADMIN_PORT=str(port),
        )
        done = subprocess.run(
            [AUTOCLOCK, "scheduler"], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 3, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("autoclock:")]
    assert len(lines) == 1, done.stderr
    assert "AUTOCLOCK_ADMIN_PORT" in lines[0]
    assert f"127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in done.stderr
