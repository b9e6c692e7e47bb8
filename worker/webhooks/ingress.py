"""The ingress log: one entry per webhook request, saying what was decided and why.

Entries go to a capped Redis stream ``<ns>:ingress`` (approximately ``maxlen`` newest
entries) and to structlog. They hold the decision (``accepted``, ``duplicate``,
``ignored``, ``recorded``, ``rejected``, ``unavailable``), the HTTP status, the reason, the
source, the vendor event id and the trigger id — never a secret, a signature or a PIN.
Writing to the stream is best effort: with Redis down the log line still appears.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio

from worker.logs import get_logger
from worker.store import Keys

__all__ = ["IngressEntry", "IngressLog", "entry_fields", "log_entry"]

log = get_logger(__name__)


@dataclass(frozen=True)
class IngressEntry:
    decision: str
    status: int
    reason: str
    source: str
    event_id: str = ""
    trigger_id: str = ""
    kind: str = ""
    subject: str = ""
    at: float = 0.0
    """Receipt time, Unix seconds."""


#: The entry's field names in order (``dataclasses.asdict`` deep-copies: slow per request).
_FIELDS = tuple(f.name for f in dataclasses.fields(IngressEntry))


def entry_fields(entry: IngressEntry) -> dict[str, str]:
    """The stream entry's fields: every field as text (at most 500 characters), in order."""
    fields = {name: str(getattr(entry, name))[:500] for name in _FIELDS}
    if not entry.at:
        fields["at"] = f"{time.time():.3f}"
    return fields


def log_entry(fields: dict[str, str]) -> None:
    """The structlog line of one entry (a warning for a 5xx): the record Redis cannot lose."""
    level = "warning" if int(fields["status"]) >= 500 else "info"
    getattr(log, level)("webhook", **{k: v for k, v in fields.items() if v and k != "at"})


class IngressLog:
    """Append to and read the capped ingress stream."""

    def __init__(self, client: redis.Redis, keys: Keys, *, maxlen: int = 10_000) -> None:
        self.client = client
        self.key = keys("ingress")
        self.maxlen = maxlen

    def record(self, entry: IngressEntry, *, stream: bool = True) -> None:
        """Log ``entry`` and append it to the stream (best effort when Redis is down; not at
        all with ``stream=False``, when Redis just failed)."""
        fields = entry_fields(entry)
        log_entry(fields)
        # best effort: while Redis is away the structlog line above is the record
        if not stream:
            return
        with contextlib.suppress(redis.RedisError, OSError):
            self.client.xadd(self.key, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]

    async def record_async(
        self, client: redis.asyncio.Redis, entry: IngressEntry, *, stream: bool = True
    ) -> None:
        """:meth:`record` on the event loop, through an asyncio ``client``."""
        fields = entry_fields(entry)
        log_entry(fields)
        if not stream:
            return
        with contextlib.suppress(redis.RedisError, OSError):
            await client.xadd(self.key, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]

    def tail(self, count: int = 20) -> list[dict[str, Any]]:
        """The newest ``count`` entries, oldest first."""
        rows = self.client.xrevrange(self.key, count=max(1, count)) or []
        out: list[dict[str, Any]] = []
        for stream_id, raw in reversed(list(rows)):
            entry = {_s(k): _s(v) for k, v in (raw or {}).items()}
            entry["id"] = _s(stream_id)
            out.append(entry)
        return out


def _s(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
