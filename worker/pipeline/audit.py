"""The audit log: one entry per operator action (a dead letter replayed or dropped, …).

Entries go to a capped Redis stream ``<ns>:audit`` and to structlog: who (``cli:<user>`` or
``console:<user>@<address>``), what, on which object, and the outcome. Unlike the ingress log
this is not best effort: an action whose audit entry cannot be written is not done.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

import redis

from worker.clock import Clock, utcnow
from worker.logs import get_logger
from worker.store import Keys

__all__ = ["AuditEntry", "AuditLog"]

log = get_logger(__name__)


@dataclass(frozen=True)
class AuditEntry:
    by: str
    action: str
    target: str
    detail: str
    at: str
    """ISO 8601, UTC."""

    @property
    def when(self) -> datetime:
        return datetime.fromisoformat(self.at)


class AuditLog:
    """Append to and read the capped audit stream."""

    def __init__(
        self, client: redis.Redis, keys: Keys, *, maxlen: int = 100_000, clock: Clock = utcnow
    ) -> None:
        self.client = client
        self.key = keys("audit")
        self.maxlen = maxlen
        self.clock = clock

    def record(self, *, by: str, action: str, target: str, detail: str = "") -> AuditEntry:
        """Write one entry (raises ``redis.RedisError`` if it cannot be written)."""
        entry = AuditEntry(
            by=by[:200],
            action=action,
            target=target[:200],
            detail=detail[:500],
            at=self.clock().isoformat(),
        )
        self.client.xadd(
            self.key, {"json": json.dumps(asdict(entry))}, maxlen=self.maxlen, approximate=True
        )
        log.info("audit", **asdict(entry))
        return entry

    def tail(self, count: int = 50) -> list[AuditEntry]:
        """The newest ``count`` entries, newest first."""
        rows: list[tuple[bytes, dict[bytes, bytes]]] = self.client.xrevrange(  # type: ignore[assignment]
            self.key, count=max(1, count)
        )
        return [AuditEntry(**json.loads(fields[b"json"])) for _id, fields in rows]
