"""Cluster-wide metrics: figures kept in Redis, the same whichever process reads them.

Served by one process at a time — the holder of the ``metrics:designee`` lease
(:class:`Designation`) — so that ``sum()`` over every scraped process counts them once.
The lease is claimed or renewed when a process is scraped and lapses ``ttl_s`` after its
holder was last scraped; then the next process scraped takes over. Every process serves
``autoclock_cluster_metrics_served`` (1 on the designee) so a dashboard can tell which.

Counter names (Redis keys) written by the pipeline and by notify live here too:
:func:`outcomes_key`, :func:`notifications_key`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from worker.models import Result
from worker.store import COMPARE_AND_DELETE, Keys

__all__ = [
    "DESIGNATION_TTL_S",
    "NOTIFICATION_RESULTS",
    "ClusterCollector",
    "ClusterSnapshot",
    "Designation",
    "QueueStats",
    "notification_counts",
    "notifications_key",
    "outcome_counts",
    "outcomes_key",
]

#: How long the designee keeps serving the cluster-wide metrics without being scraped.
#: Longer than a scrape interval (Prometheus' default is 60 s), so the lease stays put.
DESIGNATION_TTL_S = 150


def outcomes_key(keys: Keys) -> str:
    """The Redis hash ``result -> count`` of recorded outcomes (written with the outcome)."""
    return keys("metrics", "outcomes")


def outcome_counts(client: redis.Redis, keys: Keys) -> dict[str, float]:
    """Recorded outcomes by result; every :class:`Result` present, 0 if none yet."""
    counts = {result.value: 0.0 for result in Result}
    for name, value in client.hgetall(outcomes_key(keys)).items():
        key = name.decode() if isinstance(name, bytes) else str(name)
        counts[key] = float(value)
    return counts


#: How one attempt of a notification can end (``worker.notify.model.NoticeResult``, which this
#: layer cannot import; a test keeps the two equal): each is served from 0.
NOTIFICATION_RESULTS = ("sent", "retrying", "failed", "held")


def notifications_key(keys: Keys) -> str:
    """The Redis hash ``result -> count`` of notification attempts that ended (written with
    the notification's own record)."""
    return keys("metrics", "notifications")


def notification_counts(client: redis.Redis, keys: Keys) -> dict[str, float]:
    """Recorded notification attempts by result; every known result present, 0 if none yet."""
    counts = dict.fromkeys(NOTIFICATION_RESULTS, 0.0)
    for name, value in client.hgetall(notifications_key(keys)).items():
        key = name.decode() if isinstance(name, bytes) else str(name)
        counts[key] = float(value)
    return counts


@dataclass(frozen=True)
class QueueStats:
    """One queue's messages that are not yet acknowledged."""

    queue: str
    ready: int
    """In the queue, not yet fetched by a worker."""
    delayed: int
    """Waiting for their time: a retry backoff, the rate limiter, a busy person."""
    fetched: int
    """Fetched by a worker: being processed, or prefetched and about to be."""
    oldest_age_s: float
    """Age of the oldest of them, from when its message was first enqueued (0 if none)."""

    @property
    def depth(self) -> int:
        return self.ready + self.delayed + self.fetched


@dataclass(frozen=True)
class ClusterSnapshot:
    queues: list[QueueStats]
    dead_letters: int
    outcomes: Mapping[str, float] = field(default_factory=dict)
    notifications: Mapping[str, float] = field(default_factory=dict)
    actions_past_deadline: int = 0
    redis_used_memory_bytes: float = 0.0
    redis_maxmemory_bytes: float = 0.0
    """0: no limit."""


class ClusterCollector(Collector):
    """Renders a :class:`ClusterSnapshot` when this process is the designee."""

    def __init__(
        self, designated: Callable[[], bool], snapshot: Callable[[], ClusterSnapshot]
    ) -> None:
        self.designated = designated
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        serving = self.designated()
        yield GaugeMetricFamily(
            "autoclock_cluster_metrics_served",
            "1 if this process serves the cluster-wide metrics (queues, dead letters, outcomes)",
            value=1.0 if serving else 0.0,
        )
        if not serving:
            return
        snap = self.snapshot()
        depth = GaugeMetricFamily(
            "autoclock_queue_messages",
            "Messages not yet acknowledged, by queue and state (ready, delayed, fetched)",
            labels=["queue", "state"],
        )
        age = GaugeMetricFamily(
            "autoclock_queue_oldest_message_age_seconds",
            "Age of the oldest unacknowledged message (delayed and fetched ones included), "
            "since it was first enqueued",
            labels=["queue"],
        )
        for stats in snap.queues:
            depth.add_metric([stats.queue, "ready"], float(stats.ready))
            depth.add_metric([stats.queue, "delayed"], float(stats.delayed))
            depth.add_metric([stats.queue, "fetched"], float(stats.fetched))
            age.add_metric([stats.queue], stats.oldest_age_s)
        yield depth
        yield age
        yield GaugeMetricFamily(
            "autoclock_actions_past_deadline",
            "Unacknowledged actions whose rule deadline has passed (they will end expired)",
            value=float(snap.actions_past_deadline),
        )
        yield GaugeMetricFamily(
            "autoclock_redis_used_memory_bytes",
            "Memory the Redis server uses (INFO memory used_memory)",
            value=snap.redis_used_memory_bytes,
        )
        yield GaugeMetricFamily(
            "autoclock_redis_maxmemory_bytes",
            "The Redis server's maxmemory (0: no limit)",
            value=snap.redis_maxmemory_bytes,
        )
        yield GaugeMetricFamily(
            "autoclock_dead_letters",
            "Actions in the dead-letter store (autoclock dlq list)",
            value=float(snap.dead_letters),
        )
        outcomes = CounterMetricFamily(
            "autoclock_outcomes", "Trigger deliveries by final result", labels=["result"]
        )
        for result, count in sorted(snap.outcomes.items()):
            outcomes.add_metric([result], count)
        yield outcomes
        notifications = CounterMetricFamily(
            "autoclock_notifications",
            "Notification attempts that ended, by result (sent, retrying, failed, held)",
            labels=["result"],
        )
        for result, count in sorted(snap.notifications.items()):
            notifications.add_metric([result], count)
        yield notifications


_CLAIM = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] or not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class Designation:
    """A Redis lease naming the one process that serves the cluster-wide metrics."""

    def __init__(
        self, client: redis.Redis, keys: Keys, *, ttl_s: float = DESIGNATION_TTL_S
    ) -> None:
        self.client = client
        self.key = keys("metrics", "designee")
        self.token = uuid.uuid4().hex
        self.ttl_ms = int(ttl_s * 1000)
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(COMPARE_AND_DELETE)

    def held(self) -> bool:
        """Claim or renew the lease; True if this process holds it (False without Redis)."""
        try:
            return bool(self._claim(keys=[self.key], args=[self.token, self.ttl_ms]))
        except (redis.RedisError, OSError):
            return False

    def release(self) -> None:
        """Give the lease up (on a clean stop), so another process takes over at once."""
        with contextlib.suppress(redis.RedisError, OSError):
            self._release(keys=[self.key], args=[self.token])
