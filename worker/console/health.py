"""The Health page's readings: Redis, the scheduler leader, each feed, queues, API budget,
429s and WebWork auth — whatever autoclock records. Every reading is independent: one that
fails shows its error and the others still show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import redis
from prometheus_client.parser import text_string_to_metric_families

from worker.metrics import outcome_counts, process_metrics
from worker.models import Outcome
from worker.pipeline.broker import ACTIONS_QUEUE, TRIGGERS_QUEUE, queue_stats
from worker.pipeline.dlq import DeadLetters
from worker.pipeline.limiter import RateLimiter
from worker.pipeline.outcomes import OutcomeLog
from worker.rules.ruleset import Ruleset
from worker.scheduler.leader import LeaderLock
from worker.settings import Settings
from worker.store import Keys

__all__ = ["Health", "read_health"]

#: How many of the newest outcomes are read for 429s and 401/403s.
RECENT_OUTCOMES = 2_000
_FEED_FIELDS = ("fetched_at", "checked_at", "failures", "last_error", "last_error_at", "sha256")


@dataclass
class Health:
    redis: dict[str, str] = field(default_factory=dict)
    leader: dict[str, str] = field(default_factory=dict)
    feeds: list[dict[str, str]] = field(default_factory=list)
    queues: list[dict[str, str]] = field(default_factory=list)
    api: dict[str, str] = field(default_factory=dict)
    outcomes: list[tuple[str, int]] = field(default_factory=list)
    metrics: list[tuple[str, str, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_health(client: redis.Redis, keys: Keys, settings: Settings, ruleset: Ruleset) -> Health:
    h = Health()
    if not _read_redis(client, h):
        return h
    _read_leader(client, keys, settings, ruleset, h)
    _read_feeds(client, keys, ruleset, h)
    _read_queues(client, keys, h)
    _read_api(client, keys, settings, h)
    _read_process_metrics(h)
    h.outcomes.sort()
    return h


def _read_redis(client: redis.Redis, h: Health) -> bool:
    """Redis itself; False (and the page stops there) when it does not answer."""
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
        return False
    return True


def _read_leader(
    client: redis.Redis, keys: Keys, settings: Settings, ruleset: Ruleset, h: Health
) -> None:
    lock = LeaderLock(client, keys("scheduler", "leader"), ttl_s=settings.leader_ttl_s)
    holder = lock.holder()
    h.leader = (
        {"status": "elected", "holder": holder[:8] + "…", "expires": f"{client.pttl(lock.key)} ms"}
        if holder
        else {"status": "none: no scheduler is running on this namespace"}
    )
    if holder is None and (ruleset.sources.calendars or ruleset.sources.schedules):
        h.problems.append("no scheduler leader: calendar and schedule fires are not being made")


def _read_feeds(client: redis.Redis, keys: Keys, ruleset: Ruleset, h: Health) -> None:
    for calendar in ruleset.sources.calendars:
        values = client.hmget(keys("scheduler", "feed", calendar.name), list(_FEED_FIELDS))
        row = {"name": calendar.name}
        row.update({k: _text(v) for k, v in zip(_FEED_FIELDS, values, strict=True) if v})
        if row.get("last_error"):
            h.problems.append(f"feed {calendar.name}: {row['last_error']}")
        h.feeds.append(row)


def _read_queues(client: redis.Redis, keys: Keys, h: Health) -> None:
    """The queues, the outcome counters and the dead letters."""
    for queue in (TRIGGERS_QUEUE, ACTIONS_QUEUE):
        stats = queue_stats(client, keys, queue)
        h.queues.append(
            {
                "queue": queue,
                "ready": str(stats.ready),
                "delayed": str(stats.delayed),
                "fetched": str(stats.fetched),
                "oldest": f"{stats.oldest_age_s:.0f} s",
            }
        )
    h.outcomes = [(result, int(n)) for result, n in outcome_counts(client, keys).items() if n]
    dead = DeadLetters(client, keys).count()
    if dead:
        h.problems.append(f"{dead} dead letter(s) wait for a replay or a drop")


def _read_api(client: redis.Redis, keys: Keys, settings: Settings, h: Health) -> None:
    """Cluster-wide: what the newest outcomes say about the API."""
    statuses: dict[int, int] = {}
    for _id, raw in OutcomeLog(client, keys).scan(RECENT_OUTCOMES):
        if b'"http_status":' not in raw:
            continue
        status = Outcome.model_validate_json(raw).http_status
        if status is not None:
            statuses[status] = statuses.get(status, 0) + 1
    refused = statuses.get(401, 0) + statuses.get(403, 0)
    pause_ms = int(client.pttl(keys("rl", "pause")))
    # the shared limiter's schedule: how far ahead its slots are already promised
    seconds, micros = client.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    tat = float(client.get(keys("rl", "tat")) or 0)
    spacing = RateLimiter(
        client, keys, rpm=settings.webwork_rpm, burst=settings.webwork_burst
    ).spacing_ms
    ahead_ms = max(0.0, tat - now_ms)
    h.api = {
        "budget": f"{settings.webwork_rpm} requests/minute, shared by every process",
        "in use": (
            f"slots promised {ahead_ms / 1000:.1f} s ahead (about {ahead_ms / spacing:.0f} calls)"
            if ahead_ms > 0
            else "idle: the next call may go now"
        ),
        "paused": f"for {pause_ms / 1000:.0f} s more (after a 429)" if pause_ms > 0 else "no",
        "429s": f"{statuses.get(429, 0)} in the newest {RECENT_OUTCOMES:,} outcomes",
        "auth": (
            f"{refused} action(s) refused with 401/403 in the newest {RECENT_OUTCOMES:,} "
            "outcomes: check WEBWORK_TOKEN"
            if refused
            else "no 401/403 in the newest outcomes"
        ),
    }
    if refused:
        h.problems.append(f"WebWork refused {refused} recent action(s) with 401/403")


def _read_process_metrics(h: Health) -> None:
    """This process's own counters (calls it made, limiter waits): per-process metrics."""
    for family in text_string_to_metric_families(process_metrics().render().decode()):
        for sample in family.samples:
            if not sample.name.startswith(("autoclock_webwork", "autoclock_limiter")):
                continue
            if sample.name.endswith(("_bucket", "_created")) or not sample.value:
                continue  # known label values sit at 0 until used
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            h.metrics.append((sample.name, labels, float(sample.value)))
