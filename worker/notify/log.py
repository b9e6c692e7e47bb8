"""The notifications' own outcomes (a capped Redis stream, read by ``autoclock history
--notifications``) and the keys that make each notification go once."""

from __future__ import annotations

import redis

from worker.logs import get_logger
from worker.metrics.cluster import notifications_key
from worker.notify.model import NoticeRecord, NoticeResult
from worker.store import Keys

__all__ = ["NotificationLog"]

log = get_logger(__name__)

#: How long "this notification was queued / sent" is remembered.
DEDUPE_TTL_S = 14 * 86400


class NotificationLog:
    """Append and read notification records; the dedupe keys of each notification."""

    def __init__(self, client: redis.Redis, keys: Keys, *, maxlen: int = 200_000) -> None:
        self.client = client
        self.keys = keys
        self.maxlen = maxlen

    @property
    def stream(self) -> str:
        return self.keys("notifications")

    def record(self, record: NoticeRecord) -> None:
        """Append ``record``, count it (``autoclock_notifications_total``, in the same
        transaction) and log it (channel names only: never a URL)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.xadd(
            self.stream,
            {"json": record.model_dump_json()},
            maxlen=self.maxlen,
            approximate=True,
        )
        pipe.hincrby(notifications_key(self.keys), record.result.value, 1)
        pipe.execute()
        level = "error" if record.result is NoticeResult.FAILED else "info"
        getattr(log, level)(
            "notification",
            result=record.result.value,
            channel=record.channel,
            recipient=record.recipient,
            person=record.person,
            about=record.about,
            attempts=record.attempts,
            reason=record.reason,
        )

    def latest(self, count: int = 50, *, person: str | None = None) -> list[NoticeRecord]:
        """The newest ``count`` records (of ``person``'s notifications), oldest first."""
        found: list[NoticeRecord] = []
        last = "+"
        while len(found) < count:
            batch: list[tuple[bytes, dict[bytes, bytes]]] = self.client.xrevrange(  # type: ignore[assignment]
                self.stream, max=last, count=500
            )
            for _id, fields in batch:
                record = NoticeRecord.model_validate_json(fields[b"json"])
                if person is None or (record.person or "").lower() == person.lower():
                    found.append(record)
                    if len(found) >= count:
                        break
            if len(batch) < 500:
                break
            last = f"({batch[-1][0].decode()}"
        return list(reversed(found))

    def all(self) -> list[NoticeRecord]:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = self.client.xrange(self.stream)  # type: ignore[assignment]
        return [NoticeRecord.model_validate_json(fields[b"json"]) for _id, fields in entries]

    # -- dedupe ------------------------------------------------------------------------------

    def was_queued(self, notice_id: str) -> bool:
        return bool(self.client.exists(self.keys("notify", "queued", notice_id)))

    def mark_queued(self, notice_id: str) -> None:
        self.client.set(self.keys("notify", "queued", notice_id), "1", ex=DEDUPE_TTL_S)

    def flag_seen(self, key: str) -> bool:
        """This review flag was handled already: notified, or (a shift's) found clear."""
        return bool(self.client.exists(self.keys("notify", "flag", key)))

    def claim_flag(self, key: str, ttl_ms: int) -> bool:
        """Only one sweep tells a flag at a time (the claim lapses after ``ttl_ms``)."""
        return bool(
            self.client.set(self.keys("notify", "flag-claim", key), "1", nx=True, px=ttl_ms)
        )

    def mark_flag(self, key: str) -> None:
        self.client.set(self.keys("notify", "flag", key), "1", ex=DEDUPE_TTL_S)

    def is_done(self, notice_id: str) -> bool:
        """Sent, or failed for good: either way never sent again."""
        return bool(self.client.exists(self.keys("notify", "done", notice_id)))

    def mark_done(self, notice_id: str, how: NoticeResult) -> None:
        self.client.set(self.keys("notify", "done", notice_id), how.value, ex=DEDUPE_TTL_S)

    def claim(self, notice_id: str, ttl_ms: int) -> bool:
        """Only one delivery of a notification sends at a time."""
        return bool(
            self.client.set(self.keys("notify", "claim", notice_id), "1", nx=True, px=ttl_ms)
        )

    def release(self, notice_id: str) -> None:
        self.client.delete(self.keys("notify", "claim", notice_id))

    def attempt(self, notice_id: str) -> int:
        """Count one more delivery attempt; returns the attempt number (1, 2, …)."""
        key = self.keys("notify", "attempts", notice_id)
        pipe = self.client.pipeline()
        pipe.incr(key)
        pipe.expire(key, DEDUPE_TTL_S)
        number, _ = pipe.execute()
        return int(number)
