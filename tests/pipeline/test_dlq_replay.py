"""Dead letters are replayed and dropped through one module (pipeline/dlq.py), shared by the
CLI and the console; every replay and drop leaves an audit entry naming who asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import redis

from worker.errors import QueueUnavailable
from worker.models import Action, Result, Trigger, TriggerKind, Verb
from worker.pipeline.audit import AuditLog
from worker.pipeline.broker import ACTIONS_QUEUE, make_broker
from worker.pipeline.dlq import DeadLetters, drop, replay
from worker.store import Keys


def _action(n: int, deadline: datetime | None = None) -> Action:
    trigger = Trigger(
        id=f"t-{n}",
        source="manual",
        kind=TriggerKind.BADGE_IN,
        subject="dana@example.com",
        occurred_at=datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
    )
    return Action(
        trigger=trigger,
        delivery_id=f"delivery-{n:08d}",
        person="dana@example.com",
        verb=Verb.START,
        rule="badge-in",
        deadline=deadline,
    )


def _queued(client: redis.Redis, keys: Keys) -> list[dict[str, object]]:
    queue = f"{keys.dramatiq}:{ACTIONS_QUEUE}"
    ids = client.lrange(queue, 0, -1)
    return [json.loads(client.hget(f"{queue}.msgs", i) or b"{}") for i in ids]


@pytest.mark.parametrize("no_deadline", [False, True])
def test_replay_enqueues_a_new_delivery_forgets_the_letter_and_audits(
    redis_client: redis.Redis, namespace: str, no_deadline: bool
) -> None:
    keys = Keys(namespace)
    store = DeadLetters(redis_client, keys)
    deadline = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    entry = store.add(_action(1, deadline), Result.FAILED, "gave up after 6 attempts")
    kept = store.add(_action(2), Result.REJECTED, "contract archived")
    letter = store.get(entry)
    assert letter is not None

    replayed = replay(
        store, make_broker(redis_client, keys), letter, by="console:test", no_deadline=no_deadline
    )

    assert [d.id for d in store.list()] == [kept]
    (message,) = _queued(redis_client, keys)
    sent = Action.model_validate(message["args"][0])  # type: ignore[index]
    assert sent == replayed
    assert sent.delivery_id.startswith("delivery-00000001~replay-")
    assert sent.deadline == (None if no_deadline else deadline)
    (audit,) = AuditLog(redis_client, keys).tail()
    assert (audit.by, audit.action, audit.target) == ("console:test", "dlq.replay", entry)
    assert "start dana@example.com" in audit.detail


def test_drop_forgets_only_that_letter_and_audits(
    redis_client: redis.Redis, namespace: str
) -> None:
    keys = Keys(namespace)
    store = DeadLetters(redis_client, keys)
    first = store.add(_action(1), Result.FAILED, "boom")
    second = store.add(_action(2), Result.FAILED, "boom")
    letter = store.get(first)
    assert letter is not None
    drop(store, letter, by="cli:ops")
    assert [d.id for d in store.list()] == [second]
    assert _queued(redis_client, keys) == []
    (audit,) = AuditLog(redis_client, keys).tail()
    assert (audit.by, audit.action, audit.target) == ("cli:ops", "dlq.drop", first)


def test_replay_with_redis_gone_keeps_the_letter(redis_client: redis.Redis, namespace: str) -> None:
    keys = Keys(namespace)
    store = DeadLetters(redis_client, keys)
    letter = store.get(store.add(_action(1), Result.FAILED, "boom"))
    assert letter is not None
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    with pytest.raises(QueueUnavailable):
        replay(DeadLetters(dead, keys), make_broker(dead, keys), letter, by="x", no_deadline=False)
    assert [d.id for d in store.list()] == [letter.id]


def test_cli_replay_and_drop_write_audit_entries(
    redis_client: redis.Redis, namespace: str, redis_url: str
) -> None:
    keys = Keys(namespace)
    store = DeadLetters(redis_client, keys)
    one = store.add(_action(1), Result.FAILED, "boom")
    two = store.add(_action(2), Result.FAILED, "boom")
    env = {**os.environ, "REDIS_URL": redis_url, "AUTOCLOCK_NAMESPACE": namespace}
    cli = [sys.executable, "-m", "worker.cli"]
    subprocess.run([*cli, "dlq", "replay", one], env=env, check=True, capture_output=True)
    subprocess.run([*cli, "dlq", "drop", two], env=env, check=True, capture_output=True)
    actions = [(e.action, e.target) for e in AuditLog(redis_client, keys).tail()]
    assert actions == [("dlq.drop", two), ("dlq.replay", one)]
    assert all(e.by.startswith("cli:") for e in AuditLog(redis_client, keys).tail())
    assert store.list() == []
