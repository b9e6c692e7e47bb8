"""Observability with real processes: ``autoclock worker``/``webhooks`` subprocesses, real Redis,
a sandbox, and their admin listeners scraped over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
import redis

from tests.admin.scrape import Samples, has, scrape, value
from tests.pipeline.helpers import write_rules
from tests.pipeline.processes import (
    AUTOCLOCK,
    WorkerProcess,
    badge,
    wait_until,
    worker_env,
)
from tests.ports import free_port
from tests.webhooks.helpers import KISI_UNLOCK, SECRETS, kisi_headers, queued_triggers
from tests.webhooks.test_cli import write_rules as write_webhook_rules
from worker.models import TriggerKind
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.sandbox.seed import Seed
from worker.store import Keys
from worker.webhooks.ingress import IngressLog

STARTUP_S = 30.0


def _wait_alive(admin: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            if httpx.get(admin + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"no /healthz 200 within {STARTUP_S} s: {log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return int(proc.returncode)


# ---------------------------------------------------------------- waiting actions are visible


@pytest.mark.timeout(180)
def test_actions_waiting_on_a_6_rpm_limit_show_in_queue_depth_and_age(
    sandbox_factory, redis_client: redis.Redis, redis_url: str, namespace: str, tmp_path: Path
) -> None:
    """Five people badge in while the WebWork budget is 6 requests a minute: the worker's
    /metrics counts the waiting actions (delayed for the limiter) and their age grows."""
    people = 5
    sandbox = sandbox_factory(seed=Seed.synthetic(people), rpm=0)
    admin = f"http://127.0.0.1:{free_port()}"
    env = worker_env(
        api_url=sandbox.api_url,
        token=sandbox.owner_token,
        redis_url=redis_url,
        namespace=namespace,
        rules_dir=write_rules(tmp_path / "rules", people),
        data_dir=tmp_path / "data",
        rpm=6,
        AUTOCLOCK_ADMIN_PORT=admin.rsplit(":", 1)[1],
    )
    log = tmp_path / "worker.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([AUTOCLOCK, "worker"], env=env, stdout=out, stderr=out)
    worker = WorkerProcess(proc, log)
    try:
        _wait_alive(admin, proc, log)
        queue = TriggerQueue(make_broker(redis_client, Keys(namespace)))
        enqueued_at = time.time()
        for person in range(people):
            queue.enqueue(badge(person, 0, TriggerKind.BADGE_IN, prefix="rpm6"))

        seen: list[Samples] = []

        def waiting() -> bool:
            seen.append(scrape(admin))
            s = seen[-1]
            return (
                value(s, "autoclock_queue_messages", queue="actions") >= people - 1
                and value(s, "autoclock_queue_messages", queue="actions", state="delayed") >= 1
                and value(s, "autoclock_limiter_waits_total") >= 1
            )

        assert wait_until(waiting, 60, 0.5), seen[-1:]
        # What the old metric read — the queue lists alone — misses them: Dramatiq moves a
        # delayed message into the worker's memory (and its acks set) until it is due.
        # (the lists and a scrape are read a moment apart, while the worker moves messages
        # between them: look for a moment where both are read within the same 10 s)
        base = f"{Keys(namespace).dramatiq}:actions"

        def lists_miss_some() -> bool:
            in_lists = redis_client.llen(base) + redis_client.llen(f"{base}.DQ")
            seen.append(scrape(admin))
            return in_lists < value(seen[-1], "autoclock_queue_messages", queue="actions")

        assert wait_until(lists_miss_some, 10, 0.2), seen[-1:]
        first = value(seen[-1], "autoclock_queue_oldest_message_age_seconds", queue="actions")
        assert 0 < first <= time.time() - enqueued_at + 1
        time.sleep(6)
        later = scrape(admin)
        assert value(later, "autoclock_queue_messages", queue="actions") >= people - 2
        age = value(later, "autoclock_queue_oldest_message_age_seconds", queue="actions")
        assert age >= first + 5, (first, age)
        assert value(later, "autoclock_cluster_metrics_served") == 1
        assert value(later, "autoclock_limiter_wait_seconds_total") > 0
        assert value(later, "autoclock_webwork_requests_total", code="429") == 0
    finally:
        worker.stop()


# ---------------------------------------------------------------- a worker that lost its threads

#: ``autoclock worker``, plus a fault: when the flag file appears, Dramatiq's worker and
#: consumer threads (the pipeline's) are told to stop (as if they had died); nothing else is
#: touched.
_STOPPABLE_WORKER = """
import gc, os, sys, threading, time
from worker.cli import main
from worker.pipeline.runtime import Pipeline

def stop_dramatiq_threads_on_flag():
    flag = os.environ["TEST_STOP_THREADS_FLAG"]
    while not os.path.exists(flag):
        time.sleep(0.02)
    # the pipeline's Dramatiq worker (the notifications have a Dramatiq worker of their own)
    for pipeline in [o for o in gc.get_objects() if isinstance(o, Pipeline)]:
        w = pipeline.worker
        for thread in [*w.workers, *w.consumers.values()]:
            thread.stop()

threading.Thread(target=stop_dramatiq_threads_on_flag, daemon=True).start()
sys.argv = ["autoclock", "worker"]
main()
"""


@pytest.mark.timeout(120)
def test_a_worker_whose_dramatiq_threads_stopped_fails_healthz_then_exits(
    sandbox, redis_url: str, namespace: str, tmp_path: Path
) -> None:
    """/healthz is 200 while the Dramatiq threads run; once they stop it is 503 naming
    them, and the worker exits with status 4 for its supervisor."""
    admin = f"http://127.0.0.1:{free_port()}"
    flag = tmp_path / "stop-threads"
    env = worker_env(
        api_url=sandbox.api_url,
        token=sandbox.owner_token,
        redis_url=redis_url,
        namespace=namespace,
        rules_dir=write_rules(tmp_path / "rules", 1),
        data_dir=tmp_path / "data",
        threads=2,
        AUTOCLOCK_ADMIN_PORT=admin.rsplit(":", 1)[1],
        TEST_STOP_THREADS_FLAG=str(flag),
    )
    log = tmp_path / "worker.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _STOPPABLE_WORKER], env=env, stdout=out, stderr=out
        )
    try:
        _wait_alive(admin, proc, log)
        assert httpx.get(admin + "/readyz", timeout=5).status_code == 200
        flag.touch()
        answers: list[tuple[int, dict[str, object]]] = []
        deadline = time.monotonic() + 30
        with httpx.Client(timeout=0.5) as client:
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    r = client.get(admin + "/healthz")
                except httpx.TransportError:
                    continue
                answers.append((r.status_code, r.json()))
                if r.status_code == 503:
                    break
        assert answers, log.read_text()[-3000:]
        status, body = answers[-1]
        assert status == 503, answers[-3:]
        assert any("Dramatiq threads stopped" in str(r) for r in body["reasons"]), body  # type: ignore[union-attr]
        proc.wait(60)
        assert proc.returncode == 4, log.read_text()[-3000:]
    finally:
        _stop(proc)


# ---------------------------------------------------------------- two receivers sum correctly


def _kisi(event: str) -> bytes:
    payload = json.loads(KISI_UNLOCK)
    payload["uuid"] = event
    return json.dumps(payload).encode()


def _webhooks(
    env: dict[str, str], tmp_path: Path, name: str
) -> tuple[str, str, subprocess.Popen[bytes], Path]:
    hooks, admin = free_port(), free_port()
    env = {
        **env,
        "AUTOCLOCK_WEBHOOK_PORT": str(hooks),
        "AUTOCLOCK_ADMIN_PORT": str(admin),
    }
    log = tmp_path / f"{name}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([AUTOCLOCK, "webhooks"], env=env, stdout=out, stderr=out)
    return f"http://127.0.0.1:{hooks}", f"http://127.0.0.1:{admin}", proc, log


@pytest.mark.timeout(120)
def test_a_scrape_of_two_receivers_sums_to_the_truth(
    redis_client: redis.Redis, redis_url: str, namespace: str, tmp_path: Path
) -> None:
    """Two ``autoclock webhooks`` on one Redis: the sum over both scrapes of the webhook
    request counters equals the ingress log, and the queue depth, dead letters and outcomes
    are counted once (one process serves them; after it stops, the other does)."""
    rules = write_webhook_rules(
        tmp_path / "rules",
        sources={
            "webhooks": [{"name": "kisi-hq", "vendor": "kisi", "doors": {"Main Entrance": "both"}}]
        },
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AUTOCLOCK_", "WEBWORK_"))},
        "REDIS_URL": redis_url,
        "AUTOCLOCK_NAMESPACE": namespace,
        "AUTOCLOCK_RULES_DIR": str(rules),
        "AUTOCLOCK_DATA_DIR": str(tmp_path / "data"),
        "AUTOCLOCK_WEBHOOK_HOST": "127.0.0.1",
        "AUTOCLOCK_LOG_FORMAT": "json",
        "AUTOCLOCK_WEBHOOK_SECRET_KISI_HQ": SECRETS["kisi-hq"],
    }
    receivers = [_webhooks(env, tmp_path, f"webhooks-{i}") for i in range(2)]
    try:
        for _, admin, proc, log in receivers:
            _wait_alive(admin, proc, log)
        sent = 0
        with httpx.Client(timeout=10) as client:
            for i, (hooks, _, _, _) in enumerate(receivers):
                for _n in range(3 + 2 * i):  # 3 deliveries to one, 5 to the other
                    body = _kisi(str(uuid.uuid4()))
                    client.post(
                        hooks + "/hooks/kisi-hq",
                        content=body,
                        headers=kisi_headers(body, SECRETS["kisi-hq"]),
                    )
                    sent += 1
                body = _kisi(str(uuid.uuid4()))
                for _ in range(2):  # the same event twice: accepted or ignored, then duplicate
                    client.post(
                        hooks + "/hooks/kisi-hq",
                        content=body,
                        headers=kisi_headers(body, SECRETS["kisi-hq"]),
                    )
                    sent += 1
                bad = _kisi(str(uuid.uuid4()))
                client.post(hooks + "/hooks/kisi-hq", content=bad, headers=kisi_headers(bad, "x"))
                client.post(
                    hooks + f"/hooks/nope-{i}",
                    content=b"{}",
                    headers={"Content-Type": "application/json"},
                )
                sent += 2

        keys = Keys(namespace)
        truth = Counter(
            (e["source"] if e["source"] == "kisi-hq" else "_unknown", e["decision"], e["status"])
            for e in IngressLog(redis_client, keys).tail(1000)
        )
        assert sum(truth.values()) == sent
        scrapes = [scrape(admin) for _, admin, _, _ in receivers]
        summed = Counter()
        for s in scrapes:
            for (name, labels), v in s.items():
                if name == "autoclock_webhook_requests_total" and v:
                    d = dict(labels)
                    summed[(d["source"], d["result"], d["code"])] += int(v)
        assert summed == truth
        assert truth[("kisi-hq", "rejected", "401")] == 2  # signature failures, one per receiver
        assert all(
            (
                "autoclock_webhook_requests_total",
                (("code", "401"), ("result", "rejected"), ("source", "kisi-hq")),
            )
            in s
            for s in scrapes
        )

        depth = len(queued_triggers(redis_client, keys))
        assert depth > 0
        served = [value(s, "autoclock_cluster_metrics_served") for s in scrapes]
        assert sorted(served) == [0, 1]
        assert sum(value(s, "autoclock_queue_messages", queue="triggers") for s in scrapes) == depth
        assert sum(value(s, "autoclock_outcomes_total", result="failed") for s in scrapes) == 0
        assert sum(has(s, "autoclock_outcomes_total") for s in scrapes) == 1

        # The designee stops cleanly: the other receiver serves the cluster-wide metrics now.
        designee = served.index(1)
        assert _stop(receivers[designee][2]) == 0
        other = scrape(receivers[1 - designee][1])
        assert value(other, "autoclock_cluster_metrics_served") == 1
        assert value(other, "autoclock_queue_messages", queue="triggers") == depth
    finally:
        for _, _, proc, _ in receivers:
            _stop(proc)
