"""A message written by a producer's own script (TriggerQueue.encode into TriggerQueue.keys)
is the message Dramatiq's RedisBroker.enqueue writes, so the pipeline reads it as any other."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import redis
from dramatiq import Message

from worker.models import Trigger, TriggerKind
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.store import Keys


def test_encoded_message_matches_what_enqueue_writes(redis_client: redis.Redis, namespace: str):
    keys = Keys(namespace)
    queue = TriggerQueue(make_broker(redis_client, keys))
    trigger = Trigger(
        id="webhook:std:évt-1",
        source="webhook:std",
        kind=TriggerKind.BADGE_OUT,
        subject="dana.ruiz@example.com",
        occurred_at=datetime(2026, 11, 2, 8, tzinfo=UTC),
        attributes={"door": "Lobby \u2013 north", "vendor": "standard"},
    )
    queue.enqueue(trigger)
    listed, hashed = queue.keys
    [redis_id] = redis_client.lrange(listed, 0, -1)
    written = json.loads(redis_client.hget(hashed, redis_id))

    encoded = TriggerQueue.encode(trigger)
    ours = json.loads(encoded.payload)
    assert list(ours) == list(written)  # the same fields, in the same order
    for varying in ("message_id", "message_timestamp", "options"):
        ours.pop(varying), written.pop(varying)
    assert ours == written
    message = Message.decode(encoded.payload)
    assert message.options == {"redis_message_id": encoded.redis_id}
    assert message.message_id == encoded.message_id
    assert message.queue_name == "triggers"
    assert message.actor_name == "evaluate_trigger"
    assert Trigger.model_validate(message.args[0]) == trigger
