"""``/metrics`` of one process: its own metrics, plus the cluster-wide ones if designated."""

from __future__ import annotations

from collections.abc import Callable

import redis
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import CollectorRegistry

from worker.clock import Clock, utcnow
from worker.metrics import (
    ClusterCollector,
    ClusterSnapshot,
    Designation,
    notification_counts,
    outcome_counts,
)
from worker.metrics.process import ProcessMetrics, process_metrics
from worker.pipeline.broker import (
    ACTIONS_QUEUE,
    TRIGGERS_QUEUE,
    actions_past_deadline,
    queue_stats,
)
from worker.pipeline.dlq import DeadLetters
from worker.store import Keys

__all__ = ["cluster_snapshot", "metrics_renderer"]


def cluster_snapshot(client: redis.Redis, keys: Keys, clock: Clock = utcnow) -> ClusterSnapshot:
    """The cluster-wide figures, read from Redis now (``clock``'s now, for the deadlines)."""
    memory = client.info("memory")
    return ClusterSnapshot(
        queues=[queue_stats(client, keys, q) for q in (TRIGGERS_QUEUE, ACTIONS_QUEUE)],
        dead_letters=DeadLetters(client, keys).count(),
        outcomes=outcome_counts(client, keys),
        notifications=notification_counts(client, keys),
        actions_past_deadline=actions_past_deadline(client, keys, clock()),
        redis_used_memory_bytes=float(memory.get("used_memory", 0)),
        redis_maxmemory_bytes=float(memory.get("maxmemory", 0)),
    )


def metrics_renderer(
    client: redis.Redis,
    keys: Keys,
    *,
    process: ProcessMetrics | None = None,
    designation: Designation | None = None,
) -> tuple[Callable[[], bytes], Designation]:
    """A ``/metrics`` renderer and the designation it competes for (release it on stop).

    Without Redis the cluster-wide part is left out (``autoclock_cluster_metrics_served 0``)
    and the per-process part is still served.
    """
    own = process or process_metrics()
    lease = designation or Designation(client, keys)
    cluster = CollectorRegistry(auto_describe=False)
    cluster.register(ClusterCollector(lease.held, lambda: cluster_snapshot(client, keys)))

    def render() -> bytes:
        try:
            shared = generate_latest(cluster)
        except (redis.RedisError, OSError):
            shared = b""
        return own.render() + shared

    return render, lease
