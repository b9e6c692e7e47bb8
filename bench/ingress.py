"""Part 2: signed Standard Webhooks requests against ``autoclock webhooks`` (one uvicorn
worker, a child process) against a bare Starlette endpoint served the same way.

Every request is a distinct ``badge.in`` / ``badge.out`` event for one of ``people``
directory entries, signed per the Standard Webhooks scheme (HMAC-SHA256 over
``id.timestamp.body`` with the ``whsec_`` key), so each one passes verification, dedupe,
direction and the enqueue of a trigger to Redis before its 202. A person's scans are 61 s
apart in event time, so none falls in the source's default 60 s debounce window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import sys
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bench.common import Child, autoclock_exe, free_port, namespace, start_child, wait_for_port
from bench.loadgen import LoadResult, RequestFactory, run_load
from bench.profiling import Sampler, summarise
from tests.pipeline.helpers import synthetic_email, write_rules
from worker.settings import webhook_secret_env

__all__ = ["run"]

SOURCE = "bench-std"
SECRET = "whsec_" + base64.b64encode(b"autoclock-bench-standard-webhooks").decode()


def _signer(people: int, run_id: str) -> RequestFactory:
    """Distinct signed events; its own sequence continues across the slices of one side."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    path = f"/hooks/{SOURCE}"
    now = datetime.now(UTC).replace(microsecond=0)
    sequence = itertools.count()

    def make(_slot: int) -> tuple[str, dict[str, str], bytes]:
        seq = next(sequence)
        msg_id = f"msg_{run_id}_{seq}"
        # A person's next scan is 61 s earlier than the last: outside the 60 s debounce.
        occurred = now - timedelta(seconds=61 * (seq // people))
        body = json.dumps(
            {
                "type": "badge.in" if seq % 2 == 0 else "badge.out",
                "id": msg_id,
                "subject": synthetic_email(seq % people),
                "occurred_at": occurred.isoformat(),
                "door": "Main Entrance",
            }
        ).encode()
        ts = str(int(time.time()))
        mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        }
        return path, headers, body

    return make


def _serve(name: str, argv: list[str], env: dict[str, str], port: int, logs: Path) -> Child:
    child = start_child(name, argv, env=env, logs=logs)
    wait_for_port(port, timeout_s=60, child=child)
    return child


def run(
    url: str,
    *,
    people: int,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    rounds: int,
    workdir: Path,
    logs: Path,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Both sides of part 2, both servers up, measured in alternating slices (bare first) of
    ``duration_s / rounds`` each, so a noisy neighbour hits both sides alike."""
    rules = write_rules(workdir / "rules-ingress", people)
    (rules / "sources.yaml").write_text(
        yaml.safe_dump({"webhooks": [{"name": SOURCE, "vendor": "standard"}]})
    )
    slice_s = duration_s / rounds
    results: dict[str, list[LoadResult]] = {"bare": [], "autoclock": []}
    with namespace(url, "ingress") as ns:
        bare_port, port = free_port(), free_port()
        env = {
            "REDIS_URL": url,
            "AUTOCLOCK_NAMESPACE": ns,
            "AUTOCLOCK_RULES_DIR": str(rules),
            "AUTOCLOCK_DATA_DIR": str(workdir / "data"),
            "AUTOCLOCK_LOG_FORMAT": "json",
            "AUTOCLOCK_LOG_LEVEL": "info",
            webhook_secret_env(SOURCE): SECRET,
        }
        servers = [
            _serve(
                "bare-starlette",
                [sys.executable, "-m", "bench.bare_app", str(bare_port)],
                {},
                bare_port,
                logs,
            ),
            _serve("webhooks", [autoclock_exe(), "webhooks", "--port", str(port)], env, port, logs),
        ]
        try:
            signers = {side: _signer(people, f"{ns}-{side}") for side in results}
            profiled: Sampler | None = None
            for r in range(rounds):
                for side, target in (("bare", bare_port), ("autoclock", port)):
                    last = side == "autoclock" and r == rounds - 1
                    if profile is not None and last:
                        profiled = Sampler(servers[1].pid, profile)
                    with profiled if last and profiled else nullcontext():
                        results[side].append(
                            run_load(
                                target,
                                signers[side],
                                concurrency=concurrency,
                                warmup_s=warmup_s,
                                duration_s=slice_s,
                            )
                        )
        finally:
            for server in servers:
                server.stop()
    a = LoadResult.merge(results["autoclock"]).summary()
    b = LoadResult.merge(results["bare"]).summary()
    result: dict[str, Any] = {
        "concurrency": concurrency,
        "duration_s": duration_s,
        "rounds": rounds,
        "people": people,
        "autoclock": a,
        "bare_starlette": b,
        "ratio": a["per_s"] / b["per_s"],
    }
    if profiled is not None:
        result["profile"] = profiled.error or summarise(profiled.out)
    return result
