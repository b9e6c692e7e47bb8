"""Reading what the scheduler enqueued, straight from the Dramatiq queue in Redis."""

from __future__ import annotations

import json
from typing import Any

import redis

from worker.store import Keys


def queued_triggers(client: redis.Redis, namespace: str) -> list[dict[str, Any]]:
    """Every trigger waiting in the ``triggers`` queue (message bodies, decoded)."""
    key = f"{Keys(namespace).dramatiq}:triggers.msgs"
    found = []
    for raw in client.hvals(key):
        message = json.loads(raw)
        found.append(message["args"][0])
    return sorted(found, key=lambda t: (t["occurred_at"], t["id"]))
