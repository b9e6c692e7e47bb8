"""The dead-letter store: actions that ended ``failed`` or ``rejected``, with their reason.

``autoclock dlq list`` shows them; ``autoclock dlq replay`` sends one (or all) back to the
actions queue as a new delivery that passes the same dedupe, ordering and deadline checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import redis

from worker.models import Action, Result, utcnow
from worker.store import Keys

__all__ = ["DeadLetter", "DeadLetters"]


@dataclass(frozen=True)
class DeadLetter:
    id: str
    action: Action
    result: Result
    reason: str
    at: datetime


class DeadLetters:
    """Failed actions kept in a Redis hash until replayed or dropped."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def add(self, action: Action, result: Result, reason: str) -> str:
        entry_id = f"{action.key[:12]}-{action.delivery_id[-8:]}"
        body = {
            "action": action.model_dump(mode="json"),
            "result": result.value,
            "reason": reason,
            "at": utcnow().isoformat(),
        }
        self.client.hset(self.keys("dlq"), entry_id, json.dumps(body))
        return entry_id

    def list(self) -> list[DeadLetter]:
        letters = [self._parse(k, v) for k, v in self.client.hgetall(self.keys("dlq")).items()]
        return sorted(letters, key=lambda letter: letter.at)

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
