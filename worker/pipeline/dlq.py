"""The dead-letter store: actions that ended ``failed`` or ``rejected``, with their reason.

``autoclock dlq list`` and the console's Dead letters page show them. :func:`replay` (used by
``autoclock dlq replay`` and the console) sends one back to the actions queue as a new
delivery that passes the same dedupe, ordering and deadline checks; :func:`drop` forgets one.
Both write an audit entry first, naming who asked.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from worker.clock import Clock, utcnow
from worker.errors import QueueUnavailable
from worker.models import Action, Result
from worker.pipeline.audit import AuditLog
from worker.pipeline.broker import ACTIONS_QUEUE, APPLY_ACTION
from worker.store import Keys

__all__ = ["DeadLetter", "DeadLetters", "drop", "replay"]


@dataclass(frozen=True)
class DeadLetter:
    id: str
    action: Action
    result: Result
    reason: str
    at: datetime


class DeadLetters:
    """Failed actions kept in a Redis hash until replayed or dropped."""

    def __init__(self, client: redis.Redis, keys: Keys, *, clock: Clock = utcnow) -> None:
        self.client = client
        self.keys = keys
        self.clock = clock

    def add(self, action: Action, result: Result, reason: str) -> str:
        entry_id = f"{action.key[:12]}-{action.delivery_id[-8:]}"
        body = {
            "action": action.model_dump(mode="json"),
            "result": result.value,
            "reason": reason,
            "at": self.clock().isoformat(),
        }
        self.client.hset(self.keys("dlq"), entry_id, json.dumps(body))
        return entry_id

    def list(self) -> list[DeadLetter]:
        letters = [self._parse(k, v) for k, v in self.client.hgetall(self.keys("dlq")).items()]
        return sorted(letters, key=lambda letter: letter.at)

    def count(self) -> int:
        """How many dead letters there are."""
        return int(self.client.hlen(self.keys("dlq")))

    def get(self, entry_id: str) -> DeadLetter | None:
        raw = self.client.hget(self.keys("dlq"), entry_id)
        return None if raw is None else self._parse(entry_id, raw)

    def remove(self, entry_id: str) -> None:
        self.client.hdel(self.keys("dlq"), entry_id)

    @staticmethod
    def _parse(entry_id: bytes | str, raw: bytes | str) -> DeadLetter:
        data = json.loads(raw)
        return DeadLetter(
            id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
            action=Action.model_validate(data["action"]),
            result=Result(data["result"]),
            reason=str(data["reason"]),
            at=datetime.fromisoformat(data["at"]),
        )


def replay(
    store: DeadLetters, broker: RedisBroker, letter: DeadLetter, *, by: str, no_deadline: bool
) -> Action:
    """Send ``letter``'s action back to the actions queue as a new delivery, then forget it.

    The new delivery id is the old one plus ``~replay-<random>``, so the replay records its
    own outcome. ``no_deadline`` drops the rule's deadline (otherwise a late replay ends as
    ``expired``). Raises :class:`QueueUnavailable` when Redis refuses the message (the dead
    letter is then kept).
    """
    update: dict[str, object] = {
        "delivery_id": f"{letter.action.delivery_id}~replay-{uuid.uuid4().hex[:8]}"
    }
    if no_deadline:
        update["deadline"] = None
    replayed: Action = letter.action.model_copy(update=update)
    detail = f"{letter.action.verb.value} {letter.action.person}" + (
        " (no deadline)" if no_deadline else ""
    )
    try:
        AuditLog(store.client, store.keys, clock=store.clock).record(
            by=by, action="dlq.replay", target=letter.id, detail=detail
        )
        broker.enqueue(
            dramatiq.Message(
                queue_name=ACTIONS_QUEUE,
                actor_name=APPLY_ACTION,
                args=(replayed.model_dump(mode="json"),),
                kwargs={},
                options={},
            )
        )
    except (redis.RedisError, OSError) as exc:
        raise QueueUnavailable(f"cannot replay {letter.id}: {type(exc).__name__}") from None
    store.remove(letter.id)
    return replayed


def drop(store: DeadLetters, letter: DeadLetter, *, by: str) -> None:
    """Forget ``letter`` (its outcome stays in the history), with an audit entry."""
    AuditLog(store.client, store.keys, clock=store.clock).record(
        by=by,
        action="dlq.drop",
        target=letter.id,
        detail=f"{letter.action.verb.value} {letter.action.person}: {letter.reason}",
    )
    store.remove(letter.id)
