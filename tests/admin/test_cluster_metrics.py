"""The cluster-wide figures read from Redis, and the lease that makes one process serve them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import dramatiq
import redis

from tests.admin.scrape import value
from worker.admin.metrics import cluster_snapshot, metrics_renderer
from worker.metrics import Designation, ProcessMetrics
from worker.models import Action, Result, Trigger, TriggerKind, Verb
from worker.pipeline.broker import ACTIONS_QUEUE, make_broker, queue_stats
from worker.store import Keys


def _action(n: int, deadline: datetime | None) -> Action:
    trigger = Trigger(
        id=f"t-{n}",
        source="manual",
        kind=TriggerKind.BADGE_IN,
        subject="dana@example.com",
        occurred_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    return Action(
        trigger=trigger,
        delivery_id=f"delivery-{n}",
        person="dana@example.com",
        verb=Verb.START,
        rule="badge-in",
        deadline=deadline,
    )


def _send(broker: object, action: Action, *, delay_ms: int | None = None, age_s: float = 0) -> None:
    message: dramatiq.Message[object] = dramatiq.Message(
        queue_name=ACTIONS_QUEUE,
        actor_name="apply_action",
        args=(action.model_dump(mode="json"),),
        kwargs={},
        options={},
        message_timestamp=int((time.time() - age_s) * 1000),
    )
    broker.enqueue(message, delay=delay_ms)  # type: ignore[attr-defined]


def test_ready_and_delayed_actions_count_with_their_oldest_age_and_deadline(
    redis_client: redis.Redis, namespace: str
) -> None:
    """Ready and delayed messages both count; the age is the oldest's since first enqueued;
    actions past their deadline are counted apart."""
    keys = Keys(namespace)
    broker = make_broker(redis_client, keys)
    now = datetime.now(UTC)
    _send(broker, _action(1, now + timedelta(hours=1)), age_s=30)
    _send(broker, _action(2, now - timedelta(minutes=1)), delay_ms=600_000, age_s=400)
    _send(broker, _action(3, None), delay_ms=600_000)
    stats = queue_stats(redis_client, keys, ACTIONS_QUEUE)
    assert (stats.ready, stats.delayed, stats.fetched) == (1, 2, 0)
    assert stats.depth == 3
    assert 399 <= stats.oldest_age_s <= 420
    snapshot = cluster_snapshot(redis_client, keys)
    assert snapshot.actions_past_deadline == 1
    assert snapshot.redis_used_memory_bytes > 0
    assert set(snapshot.outcomes) == {r.value for r in Result}
    empty = queue_stats(redis_client, keys, "triggers")
    assert (empty.depth, empty.oldest_age_s) == (0, 0.0)


def test_one_designee_at_a_time_and_a_clean_stop_hands_over(
    redis_client: redis.Redis, namespace: str
) -> None:
    """Of two processes only the first scraped serves the cluster-wide metrics; it keeps the
    lease while scraped; released, the other takes it."""
    keys = Keys(namespace)
    first, second = Designation(redis_client, keys), Designation(redis_client, keys)
    assert (first.held(), second.held(), first.held(), second.held()) == (
        True,
        False,
        True,
        False,
    )
    first.release()
    assert (second.held(), first.held()) == (True, False)
    short = Designation(redis_client, Keys(namespace + "-ttl"), ttl_s=0.2)
    other = Designation(redis_client, Keys(namespace + "-ttl"), ttl_s=0.2)
    assert short.held()
    assert not other.held()
    time.sleep(0.3)  # the holder was not scraped for longer than the lease: another takes over
    assert other.held()
    redis_client.delete(Keys(namespace + "-ttl")("metrics", "designee"))


def test_the_renderer_serves_cluster_metrics_only_when_designated(
    redis_client: redis.Redis, namespace: str
) -> None:
    """The designee's /metrics has queue figures and every outcome at 0; the other's has only
    its own metrics and ``autoclock_cluster_metrics_served 0``."""
    from prometheus_client.parser import text_string_to_metric_families

    keys = Keys(namespace)
    renders = [metrics_renderer(redis_client, keys, process=ProcessMetrics())[0] for _ in "ab"]
    parsed = []
    for render in renders:
        samples = {}
        for family in text_string_to_metric_families(render().decode()):
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        parsed.append(samples)
    served, other = parsed
    assert value(served, "autoclock_cluster_metrics_served") == 1
    assert value(other, "autoclock_cluster_metrics_served") == 0
    assert ("autoclock_outcomes_total", (("result", "expired"),)) in served
    assert not any(name.startswith("autoclock_queue_") for name, _ in other)
    for samples in parsed:
        assert (
            "autoclock_webwork_requests_total",
            (("code", "401"), ("method", "POST"), ("path", "/time-tracking/start")),
        ) in samples
        assert ("autoclock_scheduler_fires_total", (("result", "missed"),)) in samples


def test_known_webhook_sources_and_feeds_start_at_zero() -> None:
    """A source or feed named by the rules has its series at 0 before its first request, so
    the first signature failure is an increase; an unknown source name is one bounded label."""
    metrics = ProcessMetrics()
    metrics.webhook_sources(["kisi-hq"])
    metrics.feeds(["team"])
    metrics.webhook_request(None, "rejected", 404)
    text = metrics.render().decode()
    assert (
        'autoclock_webhook_requests_total{code="401",result="rejected",source="kisi-hq"} 0.0'
        in text
    )
    assert 'autoclock_calendar_feed_errors_total{feed="team"} 0.0' in text
    assert (
        'autoclock_webhook_requests_total{code="404",result="rejected",source="_unknown"} 1.0'
        in text
    )


def test_an_unreachable_redis_leaves_out_the_cluster_part_only(namespace: str) -> None:
    """Without Redis /metrics still answers with this process's metrics."""
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    render, _ = metrics_renderer(dead, Keys(namespace), process=ProcessMetrics())
    text = render().decode()
    assert "autoclock_build_info" in text
    assert "autoclock_cluster_metrics_served 0.0" in text
