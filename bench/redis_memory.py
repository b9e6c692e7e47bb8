"""Redis memory per trigger: what each webhook delivery leaves in Redis, and for how long.

``autoclock webhooks`` and ``autoclock worker`` (child processes) run against an in-process
WebWork sandbox; ``--triggers`` signed Standard Webhooks deliveries (alternating badge in and
out over ``--people`` people) go through the receiver, the queues and the worker until every
one has its outcome. Then every key of the run's namespace is measured with ``MEMORY USAGE
key SAMPLES 0`` and grouped by class (the key's first segment after the namespace), with
the class's time to live. Only the namespace's own keys are measured, so other users of the
same Redis do not disturb the figure (``INFO used_memory`` would count them).

    uv run python -m bench.redis_memory --triggers 2000 --people 200

Prints one JSON object: bytes per trigger for each class, its retention, and the formula
docs/operations.md ("Redis memory") is written from.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
import yaml

from bench.common import autoclock_exe, free_port, namespace, start_child, wait_for_port
from tests.pipeline.helpers import synthetic_email, write_rules
from worker.pipeline.outcomes import OutcomeLog
from worker.sandbox import SandboxConfig, Seed, start_sandbox
from worker.settings import webhook_secret_env
from worker.store import Keys

SOURCE = "mem-std"
SECRET = "whsec_" + base64.b64encode(b"autoclock-bench-redis-memory-24").decode()


def _delivery(seq: int, people: int, run: str) -> tuple[bytes, dict[str, str]]:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    msg_id = f"msg_{run}_{seq}"
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=61 * (seq // people))
    body = json.dumps(
        {
            "type": "badge.in" if (seq // people) % 2 else "badge.out",
            "id": msg_id,
            "subject": synthetic_email(seq % people),
            "occurred_at": occurred.isoformat(),
            "door": "Main Entrance",
        }
    ).encode()
    ts = str(int(time.time()))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return body, {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }


def measure(client: redis.Redis, ns: str, batch: int = 500) -> dict[str, dict[str, Any]]:
    """Bytes, key count and the longest TTL of each key class under ``ns`` (pipelined, so
    tens of thousands of keys take a second, not a minute)."""
    classes: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"bytes": 0, "keys": 0, "max_ttl_s": -1, "entries": 0}
    )
    keys = [raw.decode() for raw in client.scan_iter(match=f"{ns}*", count=2000)]
    for start in range(0, len(keys), batch):
        chunk = keys[start : start + batch]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.memory_usage(key, samples=0)
            pipe.ttl(key)
            pipe.type(key)
        answers = pipe.execute()
        streams = []
        for i, key in enumerate(chunk):
            size, ttl, kind = answers[3 * i : 3 * i + 3]
            name = "dramatiq" if key.startswith(f"{ns}.dramatiq") else key[len(ns) + 1 :]
            entry = classes[name.split(":", 1)[0]]
            entry["bytes"] += int(size or 0)
            entry["keys"] += 1
            entry["max_ttl_s"] = max(entry["max_ttl_s"], int(ttl))
            if kind == b"stream":
                streams.append((entry, key))
        for entry, key in streams:
            entry["entries"] += int(client.xlen(key))
    return dict(classes)


def run(url: str, triggers: int, people: int) -> dict[str, Any]:
    client = redis.Redis.from_url(url)
    sandbox = start_sandbox(Seed.synthetic(people), SandboxConfig(rpm=0))
    with tempfile.TemporaryDirectory() as tmp, namespace(url, "memory") as ns:
        work = Path(tmp)
        rules = write_rules(work / "rules", people)
        (rules / "sources.yaml").write_text(
            yaml.safe_dump({"webhooks": [{"name": SOURCE, "vendor": "standard"}]})
        )
        hooks = free_port()
        env = {
            "REDIS_URL": url,
            "AUTOCLOCK_NAMESPACE": ns,
            "AUTOCLOCK_RULES_DIR": str(rules),
            "AUTOCLOCK_DATA_DIR": str(work / "data"),
            "AUTOCLOCK_LOG_FORMAT": "json",
            "AUTOCLOCK_LOG_LEVEL": "warning",
            "AUTOCLOCK_WEBHOOK_PORT": str(hooks),
            "WEBWORK_BASE_URL": sandbox.api_url,
            "WEBWORK_TOKEN": sandbox.owner_token,
            "WEBWORK_WORKSPACE_ID": "1",
            "WEBWORK_RPM": "100000",
            webhook_secret_env(SOURCE): SECRET,
        }
        logs = work / "logs"
        children = [
            start_child("webhooks", [autoclock_exe(), "webhooks"], env=env, logs=logs),
            start_child("worker", [autoclock_exe(), "worker"], env=env, logs=logs),
        ]
        try:
            wait_for_port(hooks, timeout_s=60, child=children[0])
            answers: dict[int, int] = defaultdict(int)
            with httpx.Client(base_url=f"http://127.0.0.1:{hooks}", timeout=30) as http:
                for seq in range(triggers):
                    body, headers = _delivery(seq, people, ns)
                    answers[
                        http.post(f"/hooks/{SOURCE}", content=body, headers=headers).status_code
                    ] += 1
            accepted = answers.get(202, 0)
            outcomes = OutcomeLog(client, Keys(ns))
            deadline = time.monotonic() + 600
            while len(outcomes.all()) < accepted and time.monotonic() < deadline:
                time.sleep(0.5)
            recorded = len(outcomes.all())
            time.sleep(2)  # the last acknowledgements
            classes = measure(client, ns)
        finally:
            for child in children:
                child.stop()
            sandbox.stop()
    total = sum(c["bytes"] for c in classes.values())
    per_trigger = {
        name: {**c, "bytes_per_trigger": round(c["bytes"] / triggers, 1)}
        for name, c in sorted(classes.items(), key=lambda kv: -kv[1]["bytes"])
    }
    return {
        "triggers": triggers,
        "people": people,
        "answers": dict(answers),
        "outcomes": recorded,
        "total_bytes": total,
        "bytes_per_trigger": round(total / triggers, 1),
        "classes": per_trigger,
        "redis_version": client.info("server").get("redis_version"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=2000)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    json.dump(run(args.redis_url, args.triggers, args.people), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
