"""Every autoclock metric: its name, labels, known label values and the code that writes it.

Two kinds, so that summing over every scraped process is always right:

- **per-process** (:mod:`.process`): kept in this process's memory and served by its own admin
  listener — build info, ``process_*``, webhook requests, scheduler fires and leadership,
  calendar feeds, WebWork API calls and latency, rate-limiter waits. ``sum()`` over
  processes gives the total.
- **cluster-wide** (:mod:`.cluster`): read from Redis at scrape time — queue depth and age
  of the oldest waiting message, dead letters, outcomes and notifications by result. Exactly
  one process serves them at a time (the holder of a short Redis lease, see
  :class:`.cluster.Designation`), so a sum over processes counts them once.

This package is layer 1: it imports neither the pipeline nor Starlette. The pipeline
computes queue figures (``pipeline.broker.queue_stats``) and hands them in as
:class:`.cluster.QueueStats`.
"""

from __future__ import annotations

from worker.metrics.cluster import (
    ClusterCollector,
    ClusterSnapshot,
    Designation,
    QueueStats,
    notification_counts,
    notifications_key,
    outcome_counts,
    outcomes_key,
)
from worker.metrics.process import ProcessMetrics, process_metrics

__all__ = [
    "ClusterCollector",
    "ClusterSnapshot",
    "Designation",
    "ProcessMetrics",
    "QueueStats",
    "notification_counts",
    "notifications_key",
    "outcome_counts",
    "outcomes_key",
    "process_metrics",
]
