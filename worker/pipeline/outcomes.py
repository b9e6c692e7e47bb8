"""The outcome log: one structlog event and one entry in a capped Redis stream per delivery.

Recording is guarded by the delivery id (``SET NX`` and ``XADD`` in one Lua script), so a
redelivered message that reaches the end twice still leaves exactly one outcome.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import redis

from worker.logs import get_logger
from worker.metrics.cluster import outcomes_key
from worker.models import Outcome, Result
from worker.store import Keys

__all__ = ["OutcomeLog"]

log = get_logger(__name__)

_RECORD = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'json', ARGV[3])
  redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
  redis.call('HSET', KEYS[4], ARGV[5], ARGV[3])
  return 1
end
return 0
"""

#: How long the "outcome recorded for this delivery" guard is kept.
GUARD_TTL_S = 14 * 86400

_ERROR_RESULTS = {Result.FAILED, Result.REJECTED}


class OutcomeLog:
    """Append and read outcomes (``autoclock history`` reads the same stream)."""

    def __init__(self, client: redis.Redis, keys: Keys, *, maxlen: int = 200_000) -> None:
        self.client = client
        self.keys = keys
        self.maxlen = maxlen
        self._record = client.register_script(_RECORD)

    @property
    def stream(self) -> str:
        return self.keys("outcomes")

    def record(self, outcome: Outcome) -> bool:
        """Record ``outcome`` unless its delivery already has one; True if it was recorded."""
        recorded = bool(
            self._record(
                keys=[
                    self.keys("outcome-guard", outcome.delivery_id),
                    self.stream,
                    outcomes_key(self.keys),
                    self.keys("outcomes", "last"),
                ],
                args=[
                    GUARD_TTL_S,
                    self.maxlen,
                    outcome.model_dump_json(),
                    outcome.result.value,
                    (outcome.person or outcome.subject).lower(),
                ],
            )
        )
        if recorded:
            fields = outcome.model_dump(mode="json", exclude_none=True)
            fields.pop("reason", None)
            level = "error" if outcome.result in _ERROR_RESULTS else "info"
            getattr(log, level)("outcome", reason=outcome.reason, **fields)
        return recorded

    def latest(
        self,
        count: int = 50,
        *,
        person: str | None = None,
        result: Result | None = None,
        trigger_id: str | None = None,
        scan_limit: int = 100_000,
    ) -> list[Outcome]:
        """The newest ``count`` outcomes matching the filters, oldest first."""
        found: list[Outcome] = []
        for outcome in self._newest_first(scan_limit):
            if (
                person
                and (outcome.person or "").lower() != person.lower()
                and (outcome.subject.lower() != person.lower())
            ):
                continue
            if result and outcome.result != result:
                continue
            if trigger_id and outcome.trigger_id != trigger_id:
                continue
            found.append(outcome)
            if len(found) >= count:
                break
        return list(reversed(found))

    def last_for(self, people: list[str]) -> dict[str, Outcome]:
        """The most recently recorded outcome of each of ``people`` (emails), where one exists.

        Kept per person by :meth:`record` (one hash field each), so this is one ``HMGET``
        however long the stream is.
        """
        if not people:
            return {}
        raw = self.client.hmget(self.keys("outcomes", "last"), [p.lower() for p in people])
        return {
            person: Outcome.model_validate_json(value)
            for person, value in zip(people, raw, strict=True)
            if value is not None
        }

    def scan(self, limit: int = 100_000) -> Iterator[tuple[str, bytes]]:
        """Raw entries, newest first: ``(stream id, outcome JSON)``, for readers that filter
        on the text before paying for parsing (the console's pages)."""
        last = "+"
        seen = 0
        while seen < limit:
            batch: list[tuple[bytes, dict[bytes, bytes]]] = self.client.xrevrange(  # type: ignore[assignment]
                self.stream, max=last, count=1000
            )
            if not batch:
                return
            for entry_id, fields in batch:
                seen += 1
                yield entry_id.decode(), fields[b"json"]
                if seen >= limit:
                    return
            if len(batch) < 1000:
                return
            last = f"({batch[-1][0].decode()}"

    def all(self) -> list[Outcome]:
        """Every outcome still in the stream, oldest first (tests and small installations)."""
        entries: list[tuple[bytes, dict[bytes, bytes]]] = self.client.xrange(self.stream)  # type: ignore[assignment]
        return [_parse(fields) for _id, fields in entries]

    def _newest_first(self, limit: int) -> Iterator[Outcome]:
        last = "+"
        seen = 0
        while seen < limit:
            batch: list[tuple[bytes, dict[bytes, bytes]]] = self.client.xrevrange(  # type: ignore[assignment]
                self.stream, max=last, count=500
            )
            if not batch:
                return
            for _entry_id, fields in batch:
                seen += 1
                yield _parse(fields)
            last = batch[-1][0].decode()
            if len(batch) < 500:
                return
            last = f"({last}"


def _parse(fields: dict[bytes, bytes]) -> Outcome:
    return Outcome.model_validate(json.loads(fields[b"json"]))
