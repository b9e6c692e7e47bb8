"""Prometheus metrics, kept in Redis so every worker process and host adds to one set.

Workers write counters with ``HINCRBY`` (outcomes by result, API calls by endpoint and
status, API latency buckets, limiter waits); ``/metrics`` on the webhook server reads them
and the queue depths, and renders the Prometheus text format with ``prometheus_client``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import redis
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from worker.pipeline.broker import ACTIONS_QUEUE, TRIGGERS_QUEUE
from worker.store import Keys

__all__ = ["CONTENT_TYPE_LATEST", "ApiObserver", "metrics_route", "render"]

#: Upper bounds (seconds) of the API latency histogram buckets.
LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiObserver:
    """The WebWork client's ``observer``: counts every call and its latency in Redis."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def __call__(self, endpoint: str, status: int | None, latency_ms: float) -> None:
        seconds = latency_ms / 1000
        pipe = self.client.pipeline(transaction=False)
        pipe.hincrby(self.keys("metrics", "api_calls"), f"{endpoint}|{status or 'error'}", 1)
        hist = self.keys("metrics", "api_latency")
        for bound in LATENCY_BUCKETS_S:
            if seconds <= bound:
                pipe.hincrby(hist, str(bound), 1)
        pipe.hincrby(hist, "+Inf", 1)
        pipe.hincrbyfloat(hist, "sum", seconds)
        with contextlib.suppress(redis.RedisError):  # metrics must never fail a call
            pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class _RedisCollector(Collector):
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def collect(self) -> Iterator[Metric]:
        outcomes = CounterMetricFamily(
            "autoclock_outcomes", "Trigger deliveries by final result", labels=["result"]
        )
        for result, count in self.client.hgetall(self.keys("metrics", "outcomes")).items():
            outcomes.add_metric([_text(result)], float(count))
        yield outcomes

        calls = CounterMetricFamily(
            "autoclock_api_calls",
            "WebWork API calls by endpoint and status",
            labels=["endpoint", "status"],
        )
        for field, count in self.client.hgetall(self.keys("metrics", "api_calls")).items():
            endpoint, _, status = _text(field).rpartition("|")
            calls.add_metric([endpoint, status], float(count))
        yield calls

        hist = {
            _text(k): float(v)
            for k, v in self.client.hgetall(self.keys("metrics", "api_latency")).items()
        }
        buckets = [(str(b), hist.get(str(b), 0.0)) for b in LATENCY_BUCKETS_S]
        buckets.append(("+Inf", hist.get("+Inf", 0.0)))
        latency = HistogramMetricFamily("autoclock_api_latency_seconds", "WebWork API call latency")
        latency.add_metric([], buckets, hist.get("sum", 0.0))
        yield latency

        limiter = {
            _text(k): float(v)
            for k, v in self.client.hgetall(self.keys("metrics", "limiter")).items()
        }
        yield CounterMetricFamily(
            "autoclock_limiter_waits",
            "Times an action waited for API budget",
            value=limiter.get("waits", 0.0),
        )
        yield CounterMetricFamily(
            "autoclock_limiter_wait_seconds",
            "Total time actions were told to wait for budget",
            value=limiter.get("wait_ms", 0.0) / 1000,
        )

        depth = GaugeMetricFamily("autoclock_queue_depth", "Messages waiting", labels=["queue"])
        lag = GaugeMetricFamily(
            "autoclock_queue_lag_seconds", "Age of the oldest waiting message", labels=["queue"]
        )
        now_ms = float(self.client.time()[0]) * 1000
        for queue in (TRIGGERS_QUEUE, ACTIONS_QUEUE):
            key = f"{self.keys.dramatiq}:{queue}"
            depth.add_metric([queue], float(self.client.llen(key)))
            oldest = self.client.lindex(key, 0)
            age = 0.0
            if oldest is not None:
                raw = self.client.hget(f"{key}.msgs", oldest)
                if raw is not None:
                    stamp = json.loads(raw).get("message_timestamp", now_ms)
                    age = max(0.0, (now_ms - float(stamp)) / 1000)
            lag.add_metric([queue], age)
        yield depth
        yield lag

        yield GaugeMetricFamily(
            "autoclock_dead_letters",
            "Actions in the dead-letter store",
            value=float(self.client.hlen(self.keys("dlq"))),
        )


def render(client: redis.Redis, keys: Keys) -> bytes:
    """The Prometheus text exposition of every autoclock metric."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_RedisCollector(client, keys))
    return generate_latest(registry)


def metrics_route(client: redis.Redis, keys: Keys) -> Route:
    """``GET /metrics`` for a Starlette app (the webhook server mounts it)."""

    def endpoint(_request: Request) -> Response:
        return Response(render(client, keys), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", endpoint, methods=["GET"])
