"""A scan's claim, direction, enqueue and ingress entry in one atomic Redis script.

The receiver's hot path (:meth:`Receiver.handle_async`): one ``EVALSHA`` on the event loop,
through a pipelined :class:`~worker.webhooks.channel.ScriptChannel`, instead of a claim, a
direction script, Dramatiq's enqueue, a commit and an ``XADD``, each a round trip from a
worker thread. In order, atomically:

1. the dedupe keys (:mod:`.dedupe`): a committed id is a duplicate, a pending one (a delivery
   on the general path, in flight right now) is told to retry; neither writes anything;
2. the direction (:data:`~worker.webhooks.direction.DIRECTION_LUA`, the same Lua as the
   general path): a debounced scan commits its ids and makes no trigger;
3. the trigger's Dramatiq message, written exactly as ``RedisBroker.enqueue`` writes it
   (``HSET <queue>.msgs``, ``RPUSH <queue>``; see :meth:`TriggerQueue.encode`), the ids
   committed ``done:<kind>`` and the ingress entry appended.

Because the enqueue and the commit are one script, no delivery holds a pending claim and
none is ever half done: Redis ran all of it or none of it. A script that fails is a 503.
When its reply was lost (Redis stopped right after running it), the vendor's retry finds
the ids committed: the trigger is queued once, and the receiver that answered the 503
answers that retry 202 with the committed kind (see ``Receiver._settle``).

For a ``both`` door the kind depends on the verdict, so both messages (in and out) are sent
and the script keeps the one the verdict picks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from worker.pipeline.broker import EncodedMessage
from worker.webhooks.channel import ScriptChannel
from worker.webhooks.dedupe import DONE, PENDING_PREFIX
from worker.webhooks.direction import DIRECTION_LUA, DirectionInputs

__all__ = ["ACCEPT_LUA", "Accepted", "Entry", "Variant", "Verdict", "accept"]

#: KEYS: debounce, day, queue list, queue hash, ingress stream, then the claim keys.
#: ARGV: t_ms, event_id, window_ms, state ttl, done ttl, ingress maxlen, variants (1 or 2),
#: then per variant: redis message id, message, reason, kind; then the ingress entry's
#: source, event_id, trigger_id, subject, at.
ACCEPT_LUA = (
    DIRECTION_LUA
    + f"""
for i = 6, #KEYS do
  local seen = redis.call('GET', KEYS[i])
  if seen then
    if string.sub(seen, 1, {len(PENDING_PREFIX)}) == '{PENDING_PREFIX}' then
      return {{'in_flight', ''}}
    end
    return {{'duplicate', seen}}
  end
end
local verdict = direction(KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
if verdict[1] == 'debounced' then
  for i = 6, #KEYS do redis.call('SET', KEYS[i], '{DONE}', 'EX', ARGV[5]) end
  return verdict
end
local v = 8
if ARGV[7] == '2' and verdict[1] == 'later' then v = 12 end
for i = 6, #KEYS do redis.call('SET', KEYS[i], '{DONE}:' .. ARGV[v + 3], 'EX', ARGV[5]) end
redis.call('HSET', KEYS[4], ARGV[v], ARGV[v + 1])
redis.call('RPUSH', KEYS[3], ARGV[v])
local e = 8 + 4 * tonumber(ARGV[7])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[6], '*',
  'decision', 'accepted', 'status', '202', 'reason', ARGV[v + 2], 'source', ARGV[e],
  'event_id', ARGV[e + 1], 'trigger_id', ARGV[e + 2], 'kind', ARGV[v + 3],
  'subject', ARGV[e + 3], 'at', ARGV[e + 4])
return {{'accepted', verdict[1]}}
"""
)


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    IN_FLIGHT = "in_flight"
    DEBOUNCED = "debounced"


@dataclass(frozen=True)
class Variant:
    """One possible trigger of the scan: its message, and the entry's reason and kind."""

    message: EncodedMessage
    reason: str
    kind: str


@dataclass(frozen=True)
class Accepted:
    """What the script did: ``verdict``, and the direction verdict it read (``first`` /
    ``later``; for ``debounced``, the id of the scan that opened the window; for
    ``duplicate``, the committed claim's value)."""

    verdict: Verdict
    direction: str


@dataclass(frozen=True)
class Entry:
    """The ingress entry fields the script writes for an accepted scan (besides the
    variant's reason and kind), each already cut to the stream's 500 characters."""

    source: str
    event_id: str
    trigger_id: str
    subject: str
    at: str


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def accept(
    script: ScriptChannel,
    *,
    claim_keys: tuple[str, ...],
    direction: DirectionInputs,
    queue_keys: tuple[str, str],
    ingress_key: str,
    ingress_maxlen: int,
    done_ttl_s: int,
    variants: tuple[Variant] | tuple[Variant, Variant],
    entry: Entry,
) -> Accepted:
    """Run :data:`ACCEPT_LUA` once; raises ``redis.RedisError`` / ``OSError`` when Redis is
    down (then nothing, or all of it, happened: see the module docstring)."""
    args: list[str | int | bytes] = [*direction.args, done_ttl_s, ingress_maxlen, len(variants)]
    for variant in variants:
        args += [variant.message.redis_id, variant.message.payload, variant.reason, variant.kind]
    args += [entry.source, entry.event_id, entry.trigger_id, entry.subject, entry.at]
    keys = [*direction.keys, *queue_keys, ingress_key, *claim_keys]
    result = await script(keys, args)
    return Accepted(Verdict(_text(result[0])), _text(result[1]))
