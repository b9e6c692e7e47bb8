"""The Dramatiq Redis broker and the producer side of the triggers queue.

Producers (webhooks, scheduler, CLI) only need :class:`TriggerQueue`: it enqueues a message
for the ``evaluate_trigger`` actor by name, without importing the actors.
"""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from worker.errors import QueueUnavailable
from worker.models import Trigger
from worker.store import Keys

__all__ = [
    "ACTIONS_QUEUE",
    "APPLY_ACTION",
    "EVALUATE_TRIGGER",
    "TRIGGERS_QUEUE",
    "TriggerQueue",
    "make_broker",
]

TRIGGERS_QUEUE = "triggers"
ACTIONS_QUEUE = "actions"
EVALUATE_TRIGGER = "evaluate_trigger"
APPLY_ACTION = "apply_action"

#: A worker whose heartbeat is older than this is dead; its messages go back to the queue.
HEARTBEAT_TIMEOUT_MS = 30_000

#: Chance (per million broker calls) of the maintenance that requeues a dead worker's
#: messages. Dramatiq's default (0.1 %) can leave them waiting minutes on a quiet queue;
#: maintenance is cheap when no worker died.
MAINTENANCE_CHANCE = 20_000


def make_broker(client: redis.Redis, keys: Keys) -> RedisBroker:
    """A Redis broker on ``client`` under the namespace's Dramatiq prefix.

    Middleware: Dramatiq's defaults (AgeLimit, TimeLimit, ShutdownNotifications, Callbacks,
    Pipelines, Retries) plus CurrentMessage, which the actors use for the message id.
    """
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        client=client,
        namespace=keys.dramatiq,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
    )
    broker.add_middleware(CurrentMessage())
    broker.declare_queue(TRIGGERS_QUEUE)
    broker.declare_queue(ACTIONS_QUEUE)
    return broker


class TriggerQueue:
    """Enqueue triggers for evaluation; raises :class:`QueueUnavailable` if Redis is down."""

    def __init__(self, broker: RedisBroker) -> None:
        self.broker = broker

    def enqueue(self, trigger: Trigger, *, delay_ms: int | None = None) -> str:
        """Enqueue ``trigger``; returns the message id once Redis has accepted it."""
        message: dramatiq.Message[object] = dramatiq.Message(
            queue_name=TRIGGERS_QUEUE,
            actor_name=EVALUATE_TRIGGER,
            args=(trigger.model_dump(mode="json"),),
            kwargs={},
            options={},
        )
        try:
            self.broker.enqueue(message, delay=delay_ms)
        except (redis.RedisError, OSError) as exc:
            raise QueueUnavailable(f"cannot enqueue trigger: {type(exc).__name__}") from None
        return str(message.message_id)
