"""Part 6: from the webhook's 202 to the WebWork call (at idle and under load), and the Redis
memory every delivery leaves behind.

The whole path, as a user runs it: ``autoclock webhooks``, ``autoclock worker`` processes and
``autoclock sandbox`` as child processes (:func:`bench.fleet.fleet`). Signed Standard Webhooks
``badge.in`` / ``badge.out`` deliveries are sent on a schedule (open loop): first ``idle_n``
one at a time, evenly spaced over ``idle_s``; once they have settled, ``load_rate`` a second
for ``load_s`` over ``CONNECTIONS`` keep-alive connections. Every delivery is a real start or
stop: ``people`` synthetic people, each badging in, out, in, out (``ROUNDS``) with event times
61 s apart (outside the receiver's 60 s debounce), a person's next delivery sent long after
the last one was applied.

Latency: the wall-clock time when the 202's last byte arrived at the client, against the
wall-clock time the sandbox recorded the start/stop call's arrival (``CallRecord.at``; same
machine, same clock). The n-th delivery to a person is matched with the n-th call that changed
that person's tracker; a person whose counts differ is left out and counted as unmatched. It
can be negative: the worker may call WebWork before the client has read the 202.

Memory: ``INFO used_memory`` after everything settled (every outcome recorded, every message
acknowledged) less before the first delivery, divided by the accepted deliveries; beside it
the namespace's own keys (``MEMORY USAGE``, by key class, with their time to live), which
other users of the same Redis do not disturb. The receiver and the workers run under
:mod:`bench.redis_count`, so the whole path's Redis work per delivery is reported as well.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from bench import redis_count
from bench.common import Child, percentile, start_child, wait_for, wait_for_port
from bench.fleet import Fleet, fleet
from bench.loadgen import encode_request, read_response
from bench.pipeline import wait_acked
from bench.redis_memory import measure
from bench.redis_work import RedisWork, per_unit
from tests.pipeline.helpers import synthetic_email
from tests.ports import free_port
from worker.settings import webhook_secret_env

__all__ = ["Delivery", "Sent", "latencies", "run"]

SOURCE = "e2e-std"
SECRET = "whsec_" + base64.b64encode(b"autoclock-bench-end-to-end-202").decode()
ROUNDS = 4
CONNECTIONS = 16
START_USER_ID = 1000  # Seed.synthetic's and write_rules' first user id


@dataclass(frozen=True)
class Delivery:
    seq: int
    user_id: int
    request: bytes


@dataclass(frozen=True)
class Sent:
    seq: int
    user_id: int
    phase: str
    late_ms: float  # sent after its scheduled time by this much (the client could not keep up)
    answered: float  # wall clock when the answer's last byte arrived
    status: int


def _deliveries(total: int, people: int, port: int, run_id: str) -> list[Delivery]:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=61 * (ROUNDS + 1))
    out = []
    for seq in range(total):
        rnd, person = divmod(seq, people)
        msg_id = f"msg_{run_id}_{seq}"
        body = json.dumps(
            {
                "type": "badge.in" if rnd % 2 == 0 else "badge.out",
                "id": msg_id,
                "subject": synthetic_email(person),
                "occurred_at": (t0 + timedelta(seconds=61 * rnd)).isoformat(),
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
        request = encode_request(f"127.0.0.1:{port}", f"/hooks/{SOURCE}", headers, body)
        out.append(Delivery(seq, START_USER_ID + person, request))
    return out


async def _send(
    port: int, batch: list[Delivery], phase: str, rate: float, connections: int
) -> list[Sent]:
    """Send ``batch`` at ``rate`` a second (delivery i at start + i / rate) over up to
    ``connections`` keep-alive connections; a delivery waits for a free connection if all
    are busy (then it is late, and ``late_ms`` says by how much)."""
    sent: list[Sent] = []
    queue = iter(enumerate(batch))
    start = time.time() + 0.05

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i, delivery in queue:
                due = start + i / rate
                await asyncio.sleep(max(0.0, due - time.time()))
                late = time.time() - due
                writer.write(delivery.request)
                status = await read_response(reader)
                answered = time.time()
                sent.append(
                    Sent(delivery.seq, delivery.user_id, phase, late * 1000, answered, status)
                )
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(min(connections, len(batch)))))
    return sent


def latencies(sent: list[Sent], calls: list[tuple[int, float]]) -> tuple[dict[int, float], int]:
    """Per delivery seq: ms from its 202 to its call; and how many deliveries were unmatched.

    ``calls``: (user id, arrival time) of the calls that changed a tracker, in arrival order.
    """
    by_user: dict[int, list[float]] = defaultdict(list)
    for user_id, at in calls:
        by_user[user_id].append(at)
    mine: dict[int, list[Sent]] = defaultdict(list)
    for s in sorted(sent, key=lambda s: s.seq):
        if s.status == 202:
            mine[s.user_id].append(s)
    out: dict[int, float] = {}
    unmatched = 0
    for user_id, deliveries in mine.items():
        arrivals = by_user.get(user_id, [])
        if len(arrivals) != len(deliveries):
            unmatched += len(deliveries)
            continue
        for s, at in zip(deliveries, arrivals, strict=True):
            out[s.seq] = (at - s.answered) * 1000
    return out, unmatched


def _summary(ms: list[float], sent: list[Sent], seconds: float) -> dict[str, Any]:
    ordered = sorted(ms)
    late = sorted(s.late_ms for s in sent)
    return {
        "deliveries": len(sent),
        "matched": len(ordered),
        "sent_per_s": len(sent) / seconds if seconds > 0 else float("nan"),
        "p50_ms": percentile(ordered, 50),
        "p99_ms": percentile(ordered, 99),
        "min_ms": ordered[0] if ordered else float("nan"),
        "max_ms": ordered[-1] if ordered else float("nan"),
        "send_late_p99_ms": percentile(late, 99),
        "statuses": {
            str(k): sum(1 for s in sent if s.status == k) for k in {s.status for s in sent}
        },
    }


def _used_memory(client: redis.Redis) -> int:
    info: dict[str, Any] = client.info("memory")
    return int(info["used_memory"])


def _memory_stats(client: redis.Redis) -> dict[str, float]:
    """``MEMORY STATS``' numeric fields (where ``used_memory`` goes: dataset, clients, the
    main and expires hash tables, scripts ...)."""
    stats: dict[str, Any] = client.memory_stats()
    return {k: float(v) for k, v in stats.items() if isinstance(v, int | float)}


def _settle(f: Fleet, accepted: int) -> None:
    wait_for(
        lambda: f.outcome_count() >= accepted,
        timeout_s=max(120.0, accepted / 20),
        interval_s=0.05,
        what=f"{accepted} outcomes",
    )
    wait_acked(f.client, f.keys.dramatiq)


def run(
    url: str,
    *,
    idle_n: int,
    idle_s: float,
    load_rate: float,
    load_s: float,
    processes: int,
    threads: int,
    workdir: Path,
    logs: Path,
    redis_idle_s: float = 3.0,
) -> dict[str, Any]:
    load_n = max(1, math.ceil(load_rate * load_s))
    total = idle_n + load_n
    people = max(idle_n, math.ceil(total / ROUNDS))
    count_dir = workdir / "redis-counts-e2e"
    with fleet(
        url,
        name="e2e",
        people=people,
        rules=None,
        sources={"webhooks": [{"name": SOURCE, "vendor": "standard"}]},
        sandbox_rpm=0,
        webwork_rpm=1_000_000,
        processes=processes,
        threads=threads,
        workdir=workdir,
        logs=logs,
        count_dir=count_dir,
    ) as f:
        port = free_port()
        argv = redis_count.wrap_argv(count_dir, "worker.cli", "webhooks", "--port", str(port))
        env = {**f.env, webhook_secret_env(SOURCE): SECRET}
        hooks: Child = start_child("webhooks-e2e", argv, env=env, logs=logs)
        try:
            wait_for_port(port, timeout_s=60, child=hooks)
            deliveries = _deliveries(total, people, port, f.ns)
            work = RedisWork(f.client, count_dir, [hooks.pid, *(w.pid for w in f.workers)])
            idle_work = work.idle(redis_idle_s)
            start = work.snapshot()
            memory_before = _used_memory(f.client)
            stats_before = _memory_stats(f.client)
            keys_before = measure(f.client, f.ns)
            idle_sent, idle_secs = _run_phase(
                f, port, deliveries[:idle_n], "idle", idle_n / idle_s, 1
            )
            load_sent, load_secs = _run_phase(
                f, port, deliveries[idle_n:], "load", load_rate, CONNECTIONS
            )
            time.sleep(1.0)  # let the last answers' client buffers go before measuring memory
            redis_work = per_unit(
                work.window(start, work.snapshot()),
                idle_work,
                max(1, sum(1 for s in idle_sent + load_sent if s.status == 202)),
            )
            memory_after = _used_memory(f.client)
            stats_after = _memory_stats(f.client)
            keys_after = measure(f.client, f.ns)
            calls = [
                (c.user_id, c.at.timestamp())
                for c in f.control.calls()
                if c.effect is not None and c.user_id is not None
            ]
        finally:
            hooks.stop()
    accepted = sum(1 for s in idle_sent + load_sent if s.status == 202)
    ms, unmatched = latencies(idle_sent + load_sent, calls)
    phases = {}
    for name, sent, secs in (("idle", idle_sent, idle_secs), ("load", load_sent, load_secs)):
        phases[name] = _summary([ms[s.seq] for s in sent if s.seq in ms], sent, secs)
    phases["idle"]["target_per_s"] = idle_n / idle_s
    phases["load"]["target_per_s"] = load_rate
    classes = _key_classes(keys_before, keys_after, accepted)
    namespace_bytes = sum(c["bytes"] for c in classes.values())
    return {
        "people": people,
        "accepted": accepted,
        "unmatched": unmatched,
        **phases,
        "memory": {
            "used_memory_before": memory_before,
            "used_memory_after": memory_after,
            "bytes_per_trigger": (memory_after - memory_before) / max(1, accepted),
            "retained_bytes_per_trigger": (
                memory_after
                - memory_before
                - (stats_after.get("clients.normal", 0.0) - stats_before.get("clients.normal", 0.0))
            )
            / max(1, accepted),
            "namespace_bytes_per_trigger": namespace_bytes / max(1, accepted),
            "classes": classes,
            "memory_stats_delta": {
                k: v - stats_before.get(k, 0.0)
                for k, v in stats_after.items()
                if v != stats_before.get(k, 0.0)
            },
        },
        "redis": redis_work,
    }


def _run_phase(
    f: Fleet, port: int, batch: list[Delivery], phase: str, rate: float, connections: int
) -> tuple[list[Sent], float]:
    """Send one phase and wait until everything it caused has settled."""
    already = f.outcome_count()
    t = time.perf_counter()
    sent = asyncio.run(_send(port, batch, phase, rate, connections))
    seconds = time.perf_counter() - t
    _settle(f, already + sum(1 for s in sent if s.status == 202))
    return sent, seconds


def _key_classes(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], triggers: int
) -> dict[str, dict[str, Any]]:
    """Per key class: bytes and keys added by the run, per trigger, and the longest TTL."""
    out = {}
    for name in sorted(after, key=lambda n: -after[n]["bytes"]):
        a, b = after[name], before.get(name, {"bytes": 0, "keys": 0})
        added = a["bytes"] - b["bytes"]
        out[name] = {
            "bytes": added,
            "keys": a["keys"] - b["keys"],
            "bytes_per_trigger": round(added / max(1, triggers), 1),
            "max_ttl_s": a["max_ttl_s"],
            "stream_entries": a["entries"],
        }
    return out
