"""The Dramatiq Redis broker and the producer side of the triggers queue.

Producers (webhooks, scheduler, CLI) only need :class:`TriggerQueue`: it enqueues a message
for the ``evaluate_trigger`` actor by name, without importing the actors.

This is the one module that knows Dramatiq's Redis keys (``<ns>:<queue>`` and its ``.msgs``
hash, ``<ns>:<queue>.DQ`` for delayed messages): :func:`queue_stats` reads them for the
metrics.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4

import dramatiq
import redis
from dramatiq.broker import Consumer
from dramatiq.brokers.redis import RedisBroker
from dramatiq.encoder import JSONEncoder
from dramatiq.middleware import CurrentMessage, Retries, default_middleware

from worker.errors import QueueUnavailable
from worker.metrics.cluster import QueueStats
from worker.models import Trigger
from worker.pipeline.retries import DurableRetries
from worker.store import Keys

__all__ = [
    "ACTIONS_QUEUE",
    "APPLY_ACTION",
    "EVALUATE_TRIGGER",
    "MESSAGE_MAX_AGE_MS",
    "TRIGGERS_QUEUE",
    "EncodedMessage",
    "TriggerQueue",
    "actions_past_deadline",
    "forget_stopped_worker",
    "make_broker",
    "queue_stats",
]

TRIGGERS_QUEUE = "triggers"
ACTIONS_QUEUE = "actions"
EVALUATE_TRIGGER = "evaluate_trigger"
APPLY_ACTION = "apply_action"

#: A message older than this is dropped (the actors' ``max_age``): a backstop far beyond any
#: rule's deadline, and how long what guards a delivery's redelivery must be kept at least.
MESSAGE_MAX_AGE_MS = 2 * 86_400_000

#: A worker whose heartbeat is older than this is dead; its messages go back to the queue.
HEARTBEAT_TIMEOUT_MS = 30_000

#: Chance (per million broker calls) of the maintenance that requeues a dead worker's
#: messages. Dramatiq's default (0.1 %) can leave them waiting minutes on a quiet queue;
#: maintenance is cheap when no worker died.
MAINTENANCE_CHANCE = 20_000


#: At most this long (ms) an idle consumer of the triggers queue sleeps between polls, so a
#: trigger is picked up within it (Dramatiq backs off to the worker's timeout, 250 ms, on the
#: other queues). Costs one fetch per 10-20 ms per worker process while idle.
TRIGGER_POLL_MS = 20


class _Broker(RedisBroker):
    """Dramatiq's Redis broker with a short idle poll on the triggers queue (latency)."""

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Consumer:
        if queue_name == TRIGGERS_QUEUE:
            timeout = min(timeout, TRIGGER_POLL_MS)
        return super().consume(queue_name, prefetch=prefetch, timeout=timeout)


def make_broker(client: redis.Redis, keys: Keys) -> RedisBroker:
    """A Redis broker on ``client`` under the namespace's Dramatiq prefix.

    Middleware: Dramatiq's defaults (AgeLimit, TimeLimit, ShutdownNotifications, Callbacks,
    Pipelines, and Retries as :class:`DurableRetries`: a retried message is acknowledged only
    once its retry is stored, also through a Redis outage) plus CurrentMessage, which the
    actors use for the message id.
    """
    broker = _Broker(  # type: ignore[no-untyped-call]
        middleware=[DurableRetries() if m is Retries else m() for m in default_middleware],
        client=client,
        namespace=keys.dramatiq,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
    )
    broker.add_middleware(CurrentMessage())
    broker.declare_queue(TRIGGERS_QUEUE)
    broker.declare_queue(ACTIONS_QUEUE)
    return broker


@dataclass(frozen=True)
class EncodedMessage:
    """A trigger's Dramatiq message as :meth:`RedisBroker.enqueue` writes it: ``payload``
    goes into the ``<queue>.msgs`` hash under ``redis_id``, and ``redis_id`` onto the list."""

    message_id: str
    redis_id: str
    payload: bytes


class TriggerQueue:
    """Enqueue triggers for evaluation; raises :class:`QueueUnavailable` if Redis is down."""

    def __init__(self, broker: RedisBroker) -> None:
        self.broker = broker

    @property
    def keys(self) -> tuple[str, str]:
        """The triggers queue's Redis list and message hash: what an enqueue writes."""
        base = f"{self.broker.namespace}:{TRIGGERS_QUEUE}"
        return base, f"{base}.msgs"

    @property
    def scriptable(self) -> bool:
        """Whether a producer may write :meth:`encode`'s message into :attr:`keys` itself
        (inside a script of its own, atomically with its other writes) instead of calling
        :meth:`enqueue`: only when ``enqueue`` is this class's own, not a subclass's (another
        transport, a test's failing queue), which must be called as it is."""
        return type(self).enqueue is TriggerQueue.enqueue

    @staticmethod
    def _message(trigger: Trigger) -> dramatiq.Message[object]:
        return dramatiq.Message(
            queue_name=TRIGGERS_QUEUE,
            actor_name=EVALUATE_TRIGGER,
            args=(trigger.model_dump(mode="json"),),
            kwargs={},
            options={},
        )

    @classmethod
    def encode(cls, trigger: Trigger) -> EncodedMessage:
        """``trigger``'s message, byte for byte what :meth:`RedisBroker.enqueue` writes (the
        fields of ``dramatiq.Message`` in their order, a fresh ``redis_message_id`` option,
        Dramatiq's JSON encoder), so the pipeline's workers read it as any other. Only for an
        undelayed enqueue (no ``.DQ`` queue). Built as a dict, not as two ``Message``
        dataclasses, because the receiver encodes one per request."""
        if not isinstance(dramatiq.get_encoder(), JSONEncoder):  # pragma: no cover
            message = cls._message(trigger)
            redis_id = str(uuid4())
            encoded = message.copy(options={"redis_message_id": redis_id}).encode()
            return EncodedMessage(str(message.message_id), redis_id, encoded)
        message_id, redis_id = str(uuid4()), str(uuid4())
        fields = {
            "queue_name": TRIGGERS_QUEUE,
            "actor_name": EVALUATE_TRIGGER,
            "args": [trigger.model_dump(mode="json")],
            "kwargs": {},
            "options": {"redis_message_id": redis_id},
            "message_id": message_id,
            "message_timestamp": int(time.time() * 1000),
        }
        return EncodedMessage(
            message_id, redis_id, json.dumps(fields, separators=(",", ":")).encode()
        )

    def enqueue(self, trigger: Trigger, *, delay_ms: int | None = None) -> str:
        """Enqueue ``trigger``; returns the message id once Redis has accepted it."""
        message = self._message(trigger)
        try:
            self.broker.enqueue(message, delay=delay_ms)
        except (redis.RedisError, OSError) as exc:
            raise QueueUnavailable(f"cannot enqueue trigger: {type(exc).__name__}") from None
        return str(message.message_id)


#: Counts one queue's unacknowledged messages and finds the oldest ``message_timestamp``.
#: A message stays in ``<queue>.msgs`` (or ``<queue>.DQ.msgs`` while delayed) from its
#: enqueue until its acknowledgement, whether it sits in the list, was fetched by a worker,
#: or is held in a worker's memory until its delay is over (Dramatiq prefetches delayed
#: messages, so the ``.DQ`` list alone reads 0 while actions wait on the rate limiter).
_QUEUE_STATS = """
local ready = redis.call('LLEN', KEYS[1])
local total = redis.call('HLEN', KEYS[2])
local delayed = redis.call('HLEN', KEYS[3])
local oldest = -1
for _, key in ipairs({KEYS[2], KEYS[3]}) do
  for _, payload in ipairs(redis.call('HVALS', key)) do
    local stamp = string.match(payload, '"message_timestamp"%s*:%s*(%d+)')
    if stamp then
      stamp = tonumber(stamp)
      if oldest < 0 or stamp < oldest then oldest = stamp end
    end
  end
end
local now = redis.call('TIME')
return {ready, total, delayed, tostring(oldest), now[1] .. string.format('%06d', now[2])}
"""


def forget_stopped_worker(client: redis.Redis, keys: Keys, broker_id: str) -> None:
    """Remove a cleanly stopped worker's heartbeat, unless it still holds unacknowledged
    messages: then the heartbeat must age out, so that the broker's maintenance hands them
    to another worker."""
    unacked = f"{keys.dramatiq}:__acks__.{broker_id}.*"
    if not any(True for _ in client.scan_iter(match=unacked, count=100)):
        client.zrem(f"{keys.dramatiq}:__heartbeats__", broker_id)


def actions_past_deadline(client: redis.Redis, keys: Keys, now: datetime) -> int:
    """Unacknowledged actions (waiting, delayed or fetched) whose rule deadline is before
    ``now``: each will end ``expired`` when a worker gets to it."""
    base = f"{keys.dramatiq}:{ACTIONS_QUEUE}"
    count = 0
    for key in (f"{base}.msgs", f"{base}.DQ.msgs"):
        for _id, payload in client.hscan_iter(key, count=500):
            try:
                deadline = json.loads(payload)["args"][0].get("deadline")
                if deadline and datetime.fromisoformat(deadline) < now:
                    count += 1
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                continue  # not an action message: not ours to judge
    return count


def queue_stats(client: redis.Redis, keys: Keys, queue: str) -> QueueStats:
    """Depth (ready, delayed, fetched) and oldest-message age of one queue, from Redis."""
    base = f"{keys.dramatiq}:{queue}"
    ready, total, delayed, oldest, now_us = client.eval(
        _QUEUE_STATS, 3, base, f"{base}.msgs", f"{base}.DQ.msgs"
    )
    oldest_ms = int(oldest)
    age_s = 0.0 if oldest_ms < 0 else max(0.0, int(now_us) / 1_000_000 - oldest_ms / 1000)
    return QueueStats(
        queue=queue,
        ready=int(ready),
        delayed=int(delayed),
        fetched=max(0, int(total) - int(ready)),
        oldest_age_s=age_s,
    )
