"""The outcome log: one structlog event and one entry in a capped Redis stream per delivery.

Recording is guarded by the delivery id (``SET NX`` and ``XADD`` in one Lua script), so a
redelivered message that reaches the end twice still leaves exactly one outcome.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import redis

from worker.logs import get_logger
from worker.metrics.cluster import outcomes_key
from worker.models import Outcome, Result
from worker.store import Keys

__all__ = ["OutcomeLog"]

log = get_logger(__name__)

#: Record one outcome unless its delivery has one: a Lua function, so that the actors' final
#: script records it in the same round trip as its ledger writes (:mod:`worker.pipeline.atomic`).
#: KEYS (from ``k``): guard, stream, counters, last-per-person; ARGV (from ``a``): guard ttl,
#: maxlen, JSON, result, person. ``append_outcome`` is the same without the guard, for a
#: caller whose own atomic step already makes the outcome once per delivery.
RECORD_LUA = """
local function append_outcome(k, a)
  redis.call('XADD', k[2], 'MAXLEN', '~', a[2], '*', 'json', a[3])
  redis.call('HINCRBY', k[3], a[4], 1)
  redis.call('HSET', k[4], a[5], a[3])
  return 1
end
local function record_outcome(k, a)
  if redis.call('SET', k[1], '1', 'NX', 'EX', a[1]) then return append_outcome(k, a) end
  return 0
end
"""

_RECORD = RECORD_LUA + "return record_outcome(KEYS, ARGV)\n"

#: Search one chunk of the stream, newest first, inside Redis: entries whose JSON (lower-cased)
#: holds every ARGV "all" needle and, if any are given, one of the "any" needles. Returns the
#: last id looked at, how many were looked at, and the matching JSON texts.
_SEARCH = """
local entries = redis.call('XREVRANGE', KEYS[1], ARGV[1], '-', 'COUNT', ARGV[2])
local nall, nany = tonumber(ARGV[3]), tonumber(ARGV[4])
local out, last = {}, ''
for _, entry in ipairs(entries) do
  last = entry[1]
  local fields, json = entry[2], nil
  for j = 1, #fields, 2 do
    if fields[j] == 'json' then json = fields[j + 1] end
  end
  if json then
    local text = string.lower(json)
    local ok = true
    for k = 1, nall do
      if not string.find(text, ARGV[4 + k], 1, true) then ok = false; break end
    end
    if ok and nany > 0 then
      ok = false
      for k = 1, nany do
        if string.find(text, ARGV[4 + nall + k], 1, true) then ok = true; break end
      end
    end
    if ok then out[#out + 1] = json end
  end
end
return {last, #entries, out}
"""

#: Entries one search call looks at (Redis is busy for about a millisecond per thousand).
SEARCH_CHUNK = 2_000

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
        self._search = client.register_script(_SEARCH)

    @property
    def stream(self) -> str:
        return self.keys("outcomes")

    def record(self, outcome: Outcome) -> bool:
        """Record ``outcome`` unless its delivery already has one; True if it was recorded."""
        recorded = bool(
            self._record(keys=self.record_keys(outcome), args=self.record_args(outcome))
        )
        if recorded:
            self.logged(outcome)
        return recorded

    def record_keys(self, outcome: Outcome) -> list[str]:
        """KEYS of :data:`RECORD_LUA` for ``outcome``."""
        return [
            self.keys("outcome-guard", outcome.delivery_id),
            self.stream,
            outcomes_key(self.keys),
            self.keys("outcomes", "last"),
        ]

    def record_args(self, outcome: Outcome) -> list[str | int]:
        """ARGV of :data:`RECORD_LUA` for ``outcome``."""
        return [
            GUARD_TTL_S,
            self.maxlen,
            outcome.model_dump_json(exclude_none=True),
            outcome.result.value,
            (outcome.person or outcome.subject).lower(),
        ]

    @staticmethod
    def logged(outcome: Outcome) -> None:
        """The log line of a recorded ``outcome`` (once, by whoever recorded it)."""
        fields = outcome.model_dump(mode="json", exclude_none=True)
        fields.pop("reason", None)
        level = "error" if outcome.result in _ERROR_RESULTS else "info"
        getattr(log, level)("outcome", reason=outcome.reason, **fields)

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

    def search(
        self,
        *,
        all_of: Sequence[str] = (),
        any_of: Sequence[str] = (),
        scan_limit: int = 100_000,
    ) -> Iterator[bytes]:
        """Outcome JSON texts, newest first, that contain (case-insensitively) every one of
        ``all_of`` and, when given, one of ``any_of``; filtered inside Redis in chunks of
        :data:`SEARCH_CHUNK`, at most ``scan_limit`` entries looked at. A pre-filter: parse
        and check the exact fields of what it yields."""
        start = "+"
        seen = 0
        if not all(n.isascii() for n in (*all_of, *any_of)):
            # Redis's string.lower knows ASCII only: a needle beyond it is matched here
            for _id, raw in self.scan(scan_limit):
                text = raw.decode().lower()
                if all(n.lower() in text for n in all_of) and (
                    not any_of or any(n.lower() in text for n in any_of)
                ):
                    yield raw
            return
        needles_all = [n.lower() for n in all_of]
        needles_any = [n.lower() for n in any_of]
        while seen < scan_limit:
            chunk = min(SEARCH_CHUNK, scan_limit - seen)
            last, looked, found = self._search(
                keys=[self.stream],
                args=[start, chunk, len(needles_all), len(needles_any), *needles_all, *needles_any],
            )
            seen += int(looked)
            yield from found
            if int(looked) < chunk or not last:
                return
            start = "(" + (last.decode() if isinstance(last, bytes) else str(last))

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
