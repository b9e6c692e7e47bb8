"""The Health page's readings: Redis, the scheduler leader, each feed, queues, API budget,
429s and WebWork auth — whatever autoclock records. Every reading is independent: one that
fails shows its error and the others still show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import redis
from prometheus_client.parser import text_string_to_metric_families

from worker.metrics import render
from worker.pipeline.broker import ACTIONS_QUEUE, TRIGGERS_QUEUE
from worker.rules.ruleset import Ruleset
from worker.scheduler.leader import LeaderLock
from worker.settings import Settings
from worker.store import Keys

__all__ = ["Health", "read_health"]

_FEED_FIELDS = ("fetched_at", "checked_at", "failures", "last_error", "last_error_at", "sha256")


@dataclass
class Health:
    redis: dict[str, str] = field(default_factory=dict)
    leader: dict[str, str] = field(default_factory=dict)
    feeds: list[dict[str, str]] = field(default_factory=list)
    queues: list[dict[str, str]] = field(default_factory=list)
    api: dict[str, str] = field(default_factory=dict)
    api_calls: list[tuple[str, str, int]] = field(default_factory=list)
    outcomes: list[tuple[str, int]] = field(default_factory=list)
    metrics: list[tuple[str, str, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_health(client: redis.Redis, keys: Keys, settings: Settings, ruleset: Ruleset) -> Health:
    h = Health()
    started = time.perf_counter()
    try:
        client.ping()
        info = client.info("server")
        memory = client.info("memory")
        h.redis = {
            "status": "ok",
            "ping": f"{(time.perf_counter() - started) * 1000:.1f} ms",
            "version": str(info.get("redis_version", "?")),
            "memory": str(memory.get("used_memory_human", "?")),
            "policy": str(memory.get("maxmemory_policy", "?")),
        }
    except (redis.RedisError, OSError) as exc:
        h.redis = {"status": f"unavailable: {type(exc).__name__}"}
        h.problems.append("Redis is unavailable")
        return h

    lock = LeaderLock(client, keys("scheduler", "leader"), ttl_s=settings.leader_ttl_s)
    holder = lock.holder()
    h.leader = (
        {"status": "elected", "holder": holder[:8] + "…", "expires": f"{client.pttl(lock.key)} ms"}
        if holder
        else {"status": "none: no scheduler is running on this namespace"}
    )
    if holder is None and (ruleset.sources.calendars or ruleset.sources.schedules):
        h.problems.append("no scheduler leader: calendar and schedule fires are not being made")

    for calendar in ruleset.sources.calendars:
        values = client.hmget(keys("scheduler", "feed", calendar.name), list(_FEED_FIELDS))
        row = {"name": calendar.name}
        row.update({k: _text(v) for k, v in zip(_FEED_FIELDS, values, strict=True) if v})
        if row.get("last_error"):
            h.problems.append(f"feed {calendar.name}: {row['last_error']}")
        h.feeds.append(row)

    for queue in (TRIGGERS_QUEUE, ACTIONS_QUEUE):
        # waiting now, and delayed (waiting for API budget, a person's lock, or a retry)
        name = f"{keys.dramatiq}:{queue}"
        h.queues.append(
            {
                "queue": queue,
                "ready": str(client.llen(name)),
                "delayed": str(client.zcard(f"{name}.DQ")),
            }
        )

    families = text_string_to_metric_families(render(client, keys).decode())
    calls: dict[tuple[str, str], int] = {}
    for family in families:
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            h.metrics.append((sample.name, labels, float(sample.value)))
            if sample.name == "autoclock_api_calls_total":
                key = (sample.labels.get("endpoint", "?"), sample.labels.get("status", "?"))
                calls[key] = int(sample.value)
            if sample.name == "autoclock_outcomes_total":
                h.outcomes.append((sample.labels.get("result", "?"), int(sample.value)))
            if sample.name == "autoclock_queue_lag_seconds":
                for row in h.queues:
                    if row["queue"] == sample.labels.get("queue"):
                        row["oldest"] = f"{sample.value:.0f} s"
    h.api_calls = sorted((e, s, n) for (e, s), n in calls.items())
    total = sum(calls.values())
    by_status: dict[str, int] = {}
    for (_endpoint, status), count in calls.items():
        by_status[status] = by_status.get(status, 0) + count
    unauthorised = by_status.get("401", 0) + by_status.get("403", 0)
    pause_ms = client.pttl(keys("rl", "pause"))
    h.api = {
        "budget": f"{settings.webwork_rpm} requests/minute, shared by every process",
        "calls": str(total),
        "429s": str(by_status.get("429", 0)),
        "paused": f"for {pause_ms / 1000:.0f} s more (after a 429)" if pause_ms > 0 else "no",
        "auth": (
            f"{unauthorised} call(s) refused with 401/403: check WEBWORK_TOKEN"
            if unauthorised
            else ("ok" if total else "no calls yet")
        ),
    }
    if unauthorised:
        h.problems.append(f"WebWork refused {unauthorised} call(s) with 401/403")
    h.outcomes.sort()
    return h
