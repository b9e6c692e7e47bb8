"""Notifications held during a recipient's quiet hours, and the one digest each period
becomes when it ends.

A bucket per channel, address and release time (a Redis list of notices), and a sorted set
of buckets by release time. Releasing a bucket is claimed with ``ZREM`` (one process wins),
then its notices become one :class:`~worker.notify.model.Notice`.
"""

from __future__ import annotations

from datetime import datetime

import redis

from worker.notify.model import Notice, notice_id
from worker.store import Keys

__all__ = ["DigestStore"]

#: Held notices are kept at most this long after their release time.
KEEP_S = 7 * 86400


class DigestStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    @property
    def index(self) -> str:
        return self.keys("notify", "digests")

    def hold(self, notice: Notice, release: datetime) -> None:
        """Keep ``notice`` for the digest released at ``release``."""
        bucket = self.keys(
            "notify", "digest", notice.channel, notice.address or "", release.isoformat()
        )
        pipe = self.client.pipeline()
        pipe.rpush(bucket, notice.model_dump_json())
        pipe.expireat(bucket, int(release.timestamp()) + KEEP_S)
        pipe.zadd(self.index, {bucket: release.timestamp()})
        pipe.execute()

    def due(self, now: datetime) -> list[Notice]:
        """One digest notice for every bucket whose release time has come (each once)."""
        digests: list[Notice] = []
        for raw in self.client.zrangebyscore(self.index, "-inf", now.timestamp()):
            bucket = raw.decode() if isinstance(raw, bytes) else str(raw)
            if not self.client.zrem(self.index, bucket):
                continue  # another process released it
            held = [Notice.model_validate_json(x) for x in self.client.lrange(bucket, 0, -1)]
            if held:
                digests.append(_digest(bucket, held))
            self.client.delete(bucket)
        return digests


def _digest(bucket: str, held: list[Notice]) -> Notice:
    first = held[0]
    about = f"digest:{bucket}"
    lines = [f"- {n.body}" for n in held]
    count = len(held)
    return Notice(
        id=notice_id(about, first.channel, first.address),
        about=about,
        channel=first.channel,
        address=first.address,
        recipient=first.recipient,
        person=first.person if all(n.person == first.person for n in held) else None,
        zone=first.zone,
        title=f"autoclock: {count} notification{'s' if count != 1 else ''} from your quiet hours",
        body="While you were off:\n" + "\n".join(lines),
    )
