"""The exactly-once guards: trigger claims, the action ledger, per-person locks and order.

Everything here is a Redis primitive with a TTL, so a crashed worker never wedges a person:

- **trigger claim** — ``SET NX`` of the trigger id, valued with the claiming delivery (the
  Dramatiq message id). A redelivery of the *same* message finds its own claim and proceeds;
  any other delivery of the same trigger is a ``duplicate``.
- **action ledger** — per action key: ``inflight`` while the API call may be under way,
  ``refused|status|message`` once WebWork answered a start/stop with a refusal that
  current-data must explain (nothing was applied), then the final result and the delivery that
  reached it (``result|delivery``). A duplicate action
  finds the result and makes no call; a retry after a crash finds ``inflight`` and confirms
  through current-data before calling again; a redelivery of the delivery that finished (it
  died before recording its outcome) finds its own result and records it.
- **person lock** — ``SET NX PX`` with a random token, released by compare-and-delete, so one
  action per person runs at a time; contention re-enqueues the message (no thread blocks).
- **latest wins** — each person's last applied trigger time; an older action is ``superseded``.
- **pending** — the person's action whose API call is under way. If its worker dies mid-call,
  the person's newer actions wait (bounded by ``PENDING_TTL_S``) until the interrupted one is
  redelivered and resolved through current-data, so order and the known state stay true.

These are the keys and values; the actors read and write them on the happy path in three
atomic steps (:mod:`worker.pipeline.atomic`). What remains here are the rarer transitions (a
refusal to confirm, a call that applied nothing, a final failure) and the values' readers.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import redis

from worker.models import Result
from worker.store import COMPARE_AND_DELETE, Keys

__all__ = [
    "PENDING_TTL_S",
    "Ledger",
    "PersonLock",
    "Refusal",
    "finished_of",
    "in_flight_of",
    "refusal_of",
]


_CLEAR = """
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return redis.call('DEL', KEYS[1], KEYS[2])
"""

#: How long a person's interrupted (in-flight) action holds back their newer actions: the
#: interrupted delivery comes back once the dead worker's heartbeat is stale (30 s).
PENDING_TTL_S = 300

_INFLIGHT = "inflight"  # the steps' Lua writes the same word
_REFUSED = "refused"


@dataclass(frozen=True)
class Refusal:
    """WebWork's answer to a start/stop it refused: status and message (nothing applied)."""

    status: int | None
    message: str | None

    def said(self) -> str:
        """``409 'Conflict: ...'``, for reasons."""
        status = str(self.status) if self.status is not None else "?"
        return f"{status} {self.message!r}" if self.message else status


def _text(raw: bytes | str | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


def finished_of(raw: bytes | str | None) -> tuple[Result, str | None] | None:
    """An action mark's final result and the delivery that reached it, or None."""
    value = _text(raw)
    if value is None or value == _INFLIGHT or value.startswith(_REFUSED + "|"):
        return None
    result, _, delivery = value.partition("|")
    return Result(result), delivery or None


def in_flight_of(raw: bytes | str | None) -> bool:
    """Whether an action mark says its call may be under way."""
    return _text(raw) == _INFLIGHT


def refusal_of(raw: bytes | str | None) -> Refusal | None:
    """The refusal an action mark waits to confirm, or None."""
    value = _text(raw) or ""
    if not value.startswith(_REFUSED + "|"):
        return None
    _, status, message = value.split("|", 2)
    return Refusal(int(status) if status else None, message or None)


class Ledger:
    """Trigger claims, action results and per-person order, under one namespace."""

    def __init__(self, client: redis.Redis, keys: Keys, *, ttl_s: int) -> None:
        self.client = client
        self.keys = keys
        self.ttl_s = ttl_s
        self._clear = client.register_script(_CLEAR)

    # ---- actions

    def mark_refused(self, action_key: str, person: str, refusal: Refusal) -> None:
        """WebWork refused the call (nothing applied); its cause is still to be confirmed.
        Replaces the in-flight mark; ``person``'s newer actions keep waiting behind it."""
        status = "" if refusal.status is None else str(refusal.status)
        pipe = self.client.pipeline()
        pipe.set(
            self.keys("action", action_key),
            f"{_REFUSED}|{status}|{refusal.message or ''}",
            ex=self.ttl_s,
        )
        pipe.set(self.keys("pending", person), action_key, ex=PENDING_TTL_S)
        pipe.execute()

    def note_answer(self, action_key: str, text: str) -> None:
        """Remember what WebWork last said (or failed to say) to this action's calls."""
        self.client.set(self.keys("answer", action_key), text[:500], ex=self.ttl_s)

    def last_answer(self, action_key: str) -> str | None:
        raw = self.client.get(self.keys("answer", action_key))
        return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)

    def not_in_flight(self, action_key: str, person: str) -> None:
        """Nothing of this action was applied (a 429, or current-data says so): drop the
        in-flight mark so the next attempt calls directly (attempts are kept). Call only
        while holding the person's lock."""
        pipe = self.client.pipeline()
        pipe.delete(self.keys("action", action_key))
        pipe.delete(self.keys("pending", person))
        pipe.execute()

    def clear(self, action_key: str, person: str = "") -> None:
        """Forget an action (after a final failure), so a replay may apply it."""
        self._clear(
            keys=[
                self.keys("action", action_key),
                self.keys("attempts", action_key),
                self.keys("pending", person),
            ],
            args=[action_key],
        )

    # ---- order

    def forget_order(self, person: str) -> None:
        """Forget the person's order mark (their tracker history starts anew)."""
        self.client.delete(self.keys("last", person))


class PersonLock:
    """One action per person at a time: ``SET NX PX`` with a token, compare-and-delete release."""

    def __init__(self, client: redis.Redis, keys: Keys, *, ttl_ms: int) -> None:
        self.client = client
        self.keys = keys
        self.ttl_ms = ttl_ms
        self._release = client.register_script(COMPARE_AND_DELETE)

    def acquire(self, person: str) -> str | None:
        """A token if the lock was free, else None."""
        token = secrets.token_hex(8)
        if self.client.set(self.keys("lock", person), token, nx=True, px=self.ttl_ms):
            return token
        return None

    def release(self, person: str, token: str) -> None:
        self._release(keys=[self.keys("lock", person)], args=[token])
