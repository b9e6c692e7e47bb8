"""Part 1 (and the RSS half of part 5): triggers/s through ``autoclock worker`` processes
against messages/s of a bare Dramatiq no-op actor, same Redis, processes and threads.

Both sides are measured the same way: N messages are enqueued under a *staging* namespace
while the workers idle, then moved into the workers' queue with two atomic ``RENAME``s, so
the workers are warm and the producer does not compete with them. The clock runs from the
first acknowledged message to the last completion (an outcome in the stream for autoclock;
an empty message hash for the no-op), polled every 10 ms.

Redis work per trigger (and per no-op message) on both sides, by :mod:`bench.redis_work`:
the workers run under :mod:`bench.redis_count`; ``idle_s`` of idle workers are measured
after the staging (the idle rate), then the window runs from just before the release until
every message is acknowledged (no ``.msgs`` hash left with an entry).

autoclock's triggers: ``people = N / 4`` synthetic people, four rounds (badge in, out, in,
out), one round after the other, so every trigger is a real start or stop in the sandbox
(no rejections, no lock contention) and each one passes rules, the dedupe ledger, the
per-person lock, the shared rate limiter (set far above the load), one HTTP call to the
sandbox and the outcome log.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import redis
from dramatiq.brokers.redis import RedisBroker

from bench import noop_worker, redis_count
from bench.common import RssSampler, namespace, wait_for
from bench.fleet import fleet, start_workers
from bench.profiling import Sampler, summarise
from bench.redis_work import RedisWork, per_unit
from tests.pipeline.helpers import synthetic_email
from worker.models import Trigger, TriggerKind
from worker.pipeline.broker import TRIGGERS_QUEUE, TriggerQueue, make_broker
from worker.store import Keys

__all__ = ["run", "wait_acked"]

ROUNDS = 4
POLL_S = 0.01


def _release(client: redis.Redis, stage_prefix: str, prefix: str, queue: str) -> None:
    """Move a staged Dramatiq queue (hash first, then list) under the live namespace."""
    pipe = client.pipeline(transaction=True)
    pipe.rename(f"{stage_prefix}:{queue}.msgs", f"{prefix}:{queue}.msgs")
    pipe.rename(f"{stage_prefix}:{queue}", f"{prefix}:{queue}")
    pipe.execute()


def _drain(
    started: Callable[[], bool], done: Callable[[], bool], timeout_s: float
) -> tuple[float, float]:
    """Poll until ``started`` (first ack) and ``done``; (seconds from release to first ack,
    seconds from first ack to done)."""
    t_release = time.perf_counter()
    t_first: float | None = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = time.perf_counter()
        if t_first is None and started():
            t_first = now
        if t_first is not None and done():
            return t_first - t_release, now - t_first
        time.sleep(POLL_S)
    raise RuntimeError(f"the queue did not drain within {timeout_s:.0f}s")


def wait_acked(client: redis.Redis, prefix: str) -> None:
    """Until no Dramatiq message hash under ``prefix`` holds a message (all acknowledged)."""

    def acked() -> bool:
        keys = list(client.scan_iter(match=f"{prefix}:*.msgs", count=1000))
        return all(int(client.hlen(key)) == 0 for key in keys)

    wait_for(acked, timeout_s=60, interval_s=0.05, what="the last acknowledgements")


def _triggers(n: int, people: int) -> list[Trigger]:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    out = []
    for i in range(n):
        rnd, person = divmod(i, people)
        out.append(
            Trigger(
                id=f"bench-{rnd}-{person}",
                source="webhook:bench",
                kind=TriggerKind.BADGE_IN if rnd % 2 == 0 else TriggerKind.BADGE_OUT,
                subject=synthetic_email(person),
                occurred_at=t0 + timedelta(minutes=rnd),
            )
        )
    return out


def run_autoclock(
    url: str,
    n: int,
    processes: int,
    threads: int,
    workdir: Path,
    logs: Path,
    profile: Path | None = None,
    idle_s: float = 3.0,
) -> dict[str, Any]:
    people = max(1, math.ceil(n / ROUNDS))
    count_dir = workdir / "redis-counts-pipeline"
    with fleet(
        url,
        name="pipeline",
        people=people,
        rules=None,
        sandbox_rpm=0,
        webwork_rpm=1_000_000,
        processes=processes,
        threads=threads,
        workdir=workdir,
        logs=logs,
        count_dir=count_dir,
    ) as f:
        stage = Keys(f"{f.ns}-stage")
        queue = TriggerQueue(make_broker(f.client, stage))
        triggers = _triggers(n, people)
        t = time.perf_counter()
        for trigger in triggers:
            queue.enqueue(trigger)
        enqueue_s = time.perf_counter() - t
        msgs = f"{f.keys.dramatiq}:{TRIGGERS_QUEUE}.msgs"
        procs = [psutil.Process(c.pid) for c in [*f.workers, f.sandbox]]
        cpu_before = [_cpu(p) for p in procs]
        sampler = Sampler(f.workers[0].pid, profile) if profile else None
        work = RedisWork(f.client, count_dir, [w.pid for w in f.workers])
        idle = work.idle(idle_s)
        start = work.snapshot()
        with RssSampler([w.pid for w in f.workers]) as rss, sampler or nullcontext():
            _release(f.client, stage.dramatiq, f.keys.dramatiq, TRIGGERS_QUEUE)
            pickup_s, drain_s = _drain(
                lambda: int(f.client.hlen(msgs)) < n,
                lambda: f.outcome_count() >= n,
                timeout_s=max(120.0, n / 20),
            )
        cpu = [_cpu(p) - before for p, before in zip(procs, cpu_before, strict=True)]
        wait_acked(f.client, f.keys.dramatiq)
        redis_work = per_unit(work.window(start, work.snapshot()), idle, n)
        counts = f.results()
        retries = sum(
            w.log.read_text(errors="replace").count("Retrying message") for w in f.workers
        )
    result: dict[str, Any] = {
        "triggers": n,
        "people": people,
        "seconds": drain_s,
        "per_s": n / drain_s,
        "pickup_s": pickup_s,
        "enqueue_per_s": n / enqueue_s,
        "results": counts,
        "dramatiq_retries": retries,
        "peak_rss_mb": rss.max_mb,
        "rss_mb_per_process": [round(v / 2**20, 1) for v in rss.peak.values()],
        "cpu_ms_per_trigger": {
            "workers": sum(cpu[:-1]) * 1000 / n,
            "sandbox": cpu[-1] * 1000 / n,
        },
        "redis": redis_work,
    }
    if sampler is not None:
        result["profile"] = sampler.error or summarise(sampler.out)
    return result


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def run_bare(
    url: str, n: int, processes: int, threads: int, workdir: Path, logs: Path, idle_s: float = 3.0
) -> dict[str, Any]:
    client = redis.Redis.from_url(url)
    counts = workdir / "redis-counts-noop"
    try:
        with namespace(url, "noop") as ns:
            argv = redis_count.wrap_argv(counts, "bench.noop_worker", url, ns, str(threads))
            workers = start_workers(processes, {}, logs, "worker-noop", argv=argv, ready="ready")
            try:
                stage = f"{ns}-stage"
                broker = RedisBroker(client=client, namespace=stage)  # type: ignore[no-untyped-call]
                actor = noop_worker.declare(broker)
                t = time.perf_counter()
                for _ in range(n):
                    actor.send()
                enqueue_s = time.perf_counter() - t
                msgs = f"{ns}:{noop_worker.QUEUE}.msgs"
                procs = [psutil.Process(w.pid) for w in workers]
                cpu_before = sum(_cpu(p) for p in procs)
                work = RedisWork(client, counts, [w.pid for w in workers])
                idle = work.idle(idle_s)
                start = work.snapshot()
                with RssSampler([w.pid for w in workers]) as rss:
                    _release(client, stage, ns, noop_worker.QUEUE)
                    pickup_s, drain_s = _drain(
                        lambda: int(client.hlen(msgs)) < n,
                        lambda: int(client.hlen(msgs)) == 0,
                        timeout_s=max(60.0, n / 100),
                    )
                cpu = sum(_cpu(p) for p in procs) - cpu_before
                redis_work = per_unit(work.window(start, work.snapshot()), idle, n)
            finally:
                for worker in workers:
                    worker.stop()
    finally:
        client.close()
    return {
        "messages": n,
        "seconds": drain_s,
        "per_s": n / drain_s,
        "pickup_s": pickup_s,
        "enqueue_per_s": n / enqueue_s,
        "peak_rss_mb": rss.max_mb,
        "cpu_ms_per_message": cpu * 1000 / n,
        "redis": redis_work,
    }


def run(
    url: str,
    *,
    n: int,
    processes: int,
    threads: int,
    workdir: Path,
    logs: Path,
    profile: Path | None = None,
    idle_s: float = 3.0,
) -> dict[str, Any]:
    """Both sides of part 1; the bare baseline first. ``profile``: py-spy one worker there.
    ``idle_s``: how long idle workers are watched for the Redis baseline."""
    bare = run_bare(url, n, processes, threads, workdir, logs, idle_s)
    autoclock = run_autoclock(url, n, processes, threads, workdir, logs, profile, idle_s)
    return {
        "processes": processes,
        "threads": threads,
        "autoclock": autoclock,
        "bare_dramatiq": bare,
        "ratio": autoclock["per_s"] / bare["per_s"],
    }
