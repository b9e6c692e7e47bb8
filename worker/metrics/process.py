"""Per-process metrics: counters and gauges in this process's memory.

Each process's admin listener serves its own; Prometheus adds them up across processes.
Known label values are created at 0 when the process starts (or when the label value first
becomes known, e.g. a webhook source from the rules), so the first ``401`` or the first
``missed`` fire is an increase that ``increase()`` and ``rate()`` see.
"""

from __future__ import annotations

import importlib.metadata
import platform
import threading
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import generate_latest

__all__ = [
    "CALENDAR_EVENT_PROBLEMS",
    "FIRE_RESULTS",
    "INGRESS_ANSWERS",
    "LATENCY_BUCKETS_S",
    "UNKNOWN_SOURCE",
    "WEBWORK_CODES",
    "WEBWORK_ENDPOINTS",
    "ProcessMetrics",
    "process_metrics",
]

#: Upper bounds (seconds) of the WebWork request latency histogram.
LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

#: The (method, path) pairs the WebWork client calls; each starts at 0 for every known code.
WEBWORK_ENDPOINTS = (
    ("POST", "/time-tracking/start"),
    ("POST", "/time-tracking/stop"),
    ("GET", "/time-tracking/current-data"),
    ("GET", "/workspaces"),
    ("GET", "/members"),
    ("GET", "/leaves"),
)
#: HTTP codes created at 0 for every WebWork endpoint (others appear when first seen).
WEBWORK_CODES = ("200", "400", "401", "403", "404", "409", "422", "429", "500", "502", "503")

#: (result, code) pairs of webhook answers created at 0 for every configured source.
#: ``rejected``/``401`` is a signature (or secret) failure.
INGRESS_ANSWERS = (
    ("accepted", "202"),
    ("recorded", "200"),
    ("duplicate", "200"),
    ("ignored", "200"),
    ("rejected", "400"),
    ("rejected", "401"),
    ("rejected", "413"),
    ("rejected", "415"),
    ("unavailable", "503"),
)
#: The ``source`` label of a request to a source the rules do not name (bounded cardinality).
UNKNOWN_SOURCE = "_unknown"

#: (kind, severity) of calendar events a plan skipped or read with a warning, created at 0.
CALENDAR_EVENT_PROBLEMS = (
    ("malformed_rrule", "skipped"),
    ("malformed_rrule", "warning"),
    ("unknown_zone", "skipped"),
    ("unknown_zone", "warning"),
    ("orphan", "warning"),
    ("unreadable", "skipped"),
    ("collision", "skipped"),
    ("duplicate_uid", "warning"),
)

#: What the scheduler did with a due fire.
FIRE_RESULTS = ("enqueued", "late", "missed", "already_claimed", "failed")


def _version() -> str:
    try:
        return importlib.metadata.version("autoclock")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        return "unknown"


class ProcessMetrics:
    """The metrics of one process, in their own registry (``render()`` for ``/metrics``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.build_info = Gauge(
            "autoclock_build_info",
            "Always 1; the labels say which autoclock and Python this process runs",
            ["version", "python"],
            registry=r,
        )
        self.build_info.labels(_version(), platform.python_version()).set(1)
        self.roles = Gauge(
            "autoclock_role",
            "1 for each role this process runs (worker, webhooks, scheduler)",
            ["role"],
            registry=r,
        )

        self.webhook_requests = Counter(
            "autoclock_webhook_requests",
            "Webhook requests answered, by source, result and HTTP status code",
            ["source", "result", "code"],
            registry=r,
        )

        self.scheduler_fires = Counter(
            "autoclock_scheduler_fires",
            "Due schedule and calendar fires this scheduler handled, by result",
            ["result"],
            registry=r,
        )
        for result in FIRE_RESULTS:
            self.scheduler_fires.labels(result)
        self.scheduler_leader = Gauge(
            "autoclock_scheduler_leader",
            "1 while this scheduler holds the leader lock",
            registry=r,
        )
        self.scheduler_last_loop = Gauge(
            "autoclock_scheduler_last_loop_timestamp_seconds",
            "When this scheduler's loop last completed an iteration (leading or standing by)",
            registry=r,
        )
        self.feed_last_success = Gauge(
            "autoclock_calendar_feed_last_success_timestamp_seconds",
            "When this scheduler last fetched the feed successfully (0: not since start)",
            ["feed"],
            registry=r,
        )
        self.feed_errors = Counter(
            "autoclock_calendar_feed_errors",
            "Failed fetches of a calendar feed",
            ["feed"],
            registry=r,
        )
        self.calendar_event_problems = Gauge(
            "autoclock_calendar_event_problems",
            "Events of a feed's latest plan that were skipped or read with a warning, by kind",
            ["feed", "kind", "severity"],
            registry=r,
        )

        self.webwork_requests = Counter(
            "autoclock_webwork_requests",
            "WebWork API requests answered, by method, path and HTTP status code",
            ["method", "path", "code"],
            registry=r,
        )
        self.webwork_failures = Counter(
            "autoclock_webwork_request_failures",
            "WebWork API requests that got no answer (timeout, network error)",
            ["method", "path"],
            registry=r,
        )
        self.webwork_duration = Histogram(
            "autoclock_webwork_request_duration_seconds",
            "WebWork API request latency, answered or not",
            ["method", "path"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        for method, path in WEBWORK_ENDPOINTS:
            self._webwork_series(method, path)

        self.limiter_waits = Counter(
            "autoclock_limiter_waits",
            "Times an action was told to wait for WebWork request budget",
            registry=r,
        )
        self.limiter_wait_seconds = Counter(
            "autoclock_limiter_wait_seconds",
            "Total time actions were told to wait for WebWork request budget",
            registry=r,
        )
        self._lock = threading.Lock()
        self._known_paths: set[tuple[str, str]] = set(WEBWORK_ENDPOINTS)

    # ------------------------------------------------------------------ writers

    def role(self, name: str) -> None:
        """Mark this process as running ``name``."""
        self.roles.labels(name).set(1)

    def webhook_sources(self, names: Iterable[str]) -> None:
        """Create every known (source, result, code) series at 0."""
        for name in [*names, UNKNOWN_SOURCE]:
            for result, code in INGRESS_ANSWERS:
                self.webhook_requests.labels(name, result, code)

    def webhook_request(self, source: str | None, result: str, code: int) -> None:
        """Count one answered webhook request (``source`` None: not a configured source)."""
        self.webhook_requests.labels(source or UNKNOWN_SOURCE, result, str(code)).inc()

    def fire(self, result: str, count: int = 1) -> None:
        if count:
            self.scheduler_fires.labels(result).inc(count)

    def leader(self, leading: bool) -> None:
        self.scheduler_leader.set(1 if leading else 0)

    def scheduler_loop(self, at: float) -> None:
        self.scheduler_last_loop.set(at)

    def feeds(self, names: Iterable[str]) -> None:
        """Create the series of every configured calendar feed."""
        for name in names:
            self.feed_last_success.labels(name)
            self.feed_errors.labels(name)
            for kind, severity in CALENDAR_EVENT_PROBLEMS:
                self.calendar_event_problems.labels(name, kind, severity)

    def calendar_problems(self, feed: str, counts: dict[tuple[str, str], int]) -> None:
        """The (kind, severity) counts of ``feed``'s latest plan; kinds not given are 0."""
        for kind, severity in {*CALENDAR_EVENT_PROBLEMS, *counts}:
            self.calendar_event_problems.labels(feed, kind, severity).set(
                counts.get((kind, severity), 0)
            )

    def feed_fetched(self, name: str, at: float) -> None:
        self.feed_last_success.labels(name).set(at)

    def feed_failed(self, name: str) -> None:
        self.feed_errors.labels(name).inc()

    def _webwork_series(self, method: str, path: str) -> None:
        for code in WEBWORK_CODES:
            self.webwork_requests.labels(method, path, code)
        self.webwork_failures.labels(method, path)
        self.webwork_duration.labels(method, path)

    def webwork_request(self, endpoint: str, status: int | None, latency_ms: float) -> None:
        """The WebWork client's ``observer``: ``endpoint`` is ``"METHOD /path"``."""
        method, _, path = endpoint.partition(" ")
        with self._lock:
            if (method, path) not in self._known_paths:
                self._known_paths.add((method, path))
                self._webwork_series(method, path)
        if status is None:
            self.webwork_failures.labels(method, path).inc()
        else:
            self.webwork_requests.labels(method, path, str(status)).inc()
        self.webwork_duration.labels(method, path).observe(latency_ms / 1000)

    def limiter_wait(self, wait_ms: int) -> None:
        self.limiter_waits.inc()
        self.limiter_wait_seconds.inc(wait_ms / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)


_PROCESS: ProcessMetrics | None = None
_PROCESS_LOCK = threading.Lock()


def process_metrics() -> ProcessMetrics:
    """This process's metrics (created on first use)."""
    global _PROCESS
    with _PROCESS_LOCK:
        if _PROCESS is None:
            _PROCESS = ProcessMetrics()
        return _PROCESS
