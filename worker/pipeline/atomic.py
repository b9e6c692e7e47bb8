"""The actors' Redis work in three atomic steps, one round trip each (Lua, loaded once).

On the happy path a trigger costs three round trips of its own besides Dramatiq's fetch
and acknowledgement:

1. :meth:`Atomic.begin` — claim the trigger for this delivery (``SET NX`` semantics: the
   first delivery owns it; its own redelivery finds its claim), try the person's lock, and
   read, in the same step, everything the evaluation and the guards look at: the action's
   ledger mark and attempts, the person's pending action, order mark and known state, the
   pauses, the cached leave answer and user id.
2. :meth:`Atomic.prepare` — take a slot of the shared API budget (the limiter's GCRA) and,
   only if one was free, count the attempt and, for the start/stop itself, mark the call in
   flight (the known state forgotten, the action pending) and keep the decision with the
   claim: everything a crash during the call leaves behind is written before the call.
3. :meth:`Atomic.end` — the known state, the action's final mark and order mark, the
   outcome (guarded per delivery), the lock's release and the claim marked done.

Each step is one script, so what it reads and writes is one consistent moment: the guards
judge a snapshot taken under the lock, and a crash can only fall between steps, never inside
one. What each crash point leaves, and why the redelivery ends right, is in docs/design.md
("The fast path").

**The claim's value** is the owning delivery id, then (``SEP``) either the decision (JSON,
while its action has not ended) or ``done`` (once its outcome is recorded): a redelivery of
the evaluation re-sends that decision rather than deciding again, or stops at ``done``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

import redis

from worker.metrics.process import process_metrics
from worker.models import Outcome, Result
from worker.pipeline.ledger import FINISH_LUA, PENDING_TTL_S, Ledger, PersonLock
from worker.pipeline.limiter import ACQUIRE_LUA, RateLimiter
from worker.pipeline.outcomes import RECORD_LUA, OutcomeLog
from worker.pipeline.state import KnownState, TrackerState, dump_state, parse_state
from worker.rules.directory import Person
from worker.rules.facts import Facts
from worker.store import Keys

__all__ = ["SEP", "Atomic", "Snapshot", "SnapshotFacts"]

#: Separates the owning delivery from what follows it in a trigger's claim.
SEP = "\x1e"
_DONE = "done"

_BEGIN = r"""
-- KEYS: 1 claim, 2 lock, 3 action, 4 attempts, 5 pending, 6 last, 7 state, 8 pauses,
--       9 leave, 10 user ids
-- ARGV: 1 claim ('1': claim the trigger), 2 delivery, 3 claim ttl, 4 person ('': none),
--       5 lock token, 6 lock ttl ms, 7 facts ('1': read pauses and leave)
local claim = false
if ARGV[1] == '1' then
  claim = redis.call('GET', KEYS[1])
  if not claim then
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
    claim = ARGV[2]
  end
  if string.match(claim, '^[^\30]*') ~= ARGV[2] or ARGV[4] == '' then return {claim} end
  if string.find(claim, '\30', 1, true) then return {claim} end
end
local locked = 0
if redis.call('SET', KEYS[2], ARGV[5], 'NX', 'PX', ARGV[6]) then locked = 1 end
local pauses, leave = {}, false
if ARGV[7] == '1' then
  pauses = redis.call('HGETALL', KEYS[8])
  leave = redis.call('GET', KEYS[9])
end
return {claim, locked, redis.call('GET', KEYS[3]), redis.call('GET', KEYS[4]),
        redis.call('GET', KEYS[5]), redis.call('GET', KEYS[6]), redis.call('GET', KEYS[7]),
        pauses, leave, redis.call('HGET', KEYS[10], ARGV[4])}
"""

_KEEP_DECISION = r"""
local function keep_decision(k_claim, delivery, value)
  local claim = redis.call('GET', k_claim)
  if claim and string.match(claim, '^[^\30]*') == delivery then
    redis.call('SET', k_claim, value, 'KEEPTTL')
  end
end
"""

_PREPARE = (
    ACQUIRE_LUA
    + _KEEP_DECISION
    + r"""
-- KEYS: 1-4 the limiter's, 5 action, 6 pending, 7 attempts, 8 state, 9 claim
-- ARGV: 1-5 the limiter's, 6 call ('1': the start/stop itself), 7 ttl, 8 action key,
--       9 pending ttl, 10 delivery, 11 claim with the decision ('': kept already)
local wait = acquire(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV)
if wait > 0 then return {wait, 0} end
local n = redis.call('INCR', KEYS[7])
redis.call('EXPIRE', KEYS[7], ARGV[7])
if ARGV[6] == '1' then
  redis.call('DEL', KEYS[8])
  redis.call('SET', KEYS[5], 'inflight', 'EX', ARGV[7])
  redis.call('SET', KEYS[6], ARGV[8], 'EX', ARGV[9])
end
if ARGV[11] ~= '' then keep_decision(KEYS[9], ARGV[10], ARGV[11]) end
return {0, n}
"""
)

_KEEP = _KEEP_DECISION + "keep_decision(KEYS[1], ARGV[1], ARGV[2])\nreturn 1\n"

_END = (
    FINISH_LUA
    + RECORD_LUA
    + r"""
-- KEYS: 1 state, 2 lock, 3 claim, 4-6 the ledger's (action, last, pending),
--       7-10 the outcome's (guard, stream, counters, last outcome per person), 11 attempts
-- ARGV: 1 state ('': keep), 2 state ttl, 3 lock token ('': none held), 4 delivery ('': leave
--       the claim), 5 finish ('1': the action's final mark), 6-9 the ledger's, 10-14 the
--       outcome's
if ARGV[1] ~= '' then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
if ARGV[5] == '1' then
  finish_action({KEYS[4], KEYS[5], KEYS[6]}, {ARGV[6], ARGV[7], ARGV[8], ARGV[9]})
  redis.call('DEL', KEYS[11])  -- the attempts are on the outcome now
end
local k_out = {KEYS[7], KEYS[8], KEYS[9], KEYS[10]}
local a_out = {ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14]}
local recorded = 0
local claim = false
if ARGV[4] ~= '' then claim = redis.call('GET', KEYS[3]) end
if claim and string.match(claim, '^[^\30]*') == ARGV[4] then
  -- the delivery owns its trigger's claim: "done" there makes its outcome once (no guard key)
  if string.sub(claim, -5) ~= '\30done' then
    recorded = append_outcome(k_out, a_out)
    redis.call('SET', KEYS[3], ARGV[4] .. '\30done', 'KEEPTTL')
  end
else
  recorded = record_outcome(k_out, a_out)
end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return recorded
"""
)


def _text(raw: bytes | str | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


@dataclass(frozen=True)
class Snapshot:
    """What :meth:`Atomic.begin` found, in one consistent moment."""

    claim: str | None
    """The trigger's claim as found or made (None: no claim asked for)."""
    token: str
    locked: bool = False
    mark: bytes | None = None
    """The action's ledger mark (``inflight``, ``refused|…``, ``result|delivery``)."""
    attempts: int = 0
    pending: str | None = None
    last_applied: datetime | None = None
    state: KnownState | None = None
    pauses: dict[bytes, bytes] | None = None
    leave: bool | None = None
    user_id: int | None = None

    @property
    def owner(self) -> str | None:
        """The delivery that owns the trigger."""
        return None if self.claim is None else self.claim.partition(SEP)[0]

    @property
    def done(self) -> bool:
        """The owning delivery's outcome is recorded."""
        return self.claim is not None and self.claim.partition(SEP)[2] == _DONE

    @property
    def decision(self) -> str | None:
        """The owning delivery's decision (an action's JSON) whose action has not ended."""
        rest = None if self.claim is None else self.claim.partition(SEP)[2]
        return rest if rest and rest != _DONE else None


class SnapshotFacts:
    """The pipeline's facts, answered from a snapshot where it read them (known state, the
    cached leave of the trigger's day), else asked of ``facts``."""

    def __init__(self, facts: Facts, snap: Snapshot, day: date | None) -> None:
        self.facts = facts
        self.snap = snap
        self.day = day

    def holiday(self, person: Person, day: date) -> str | None:
        return self.facts.holiday(person, day)

    def on_leave(self, person: Person, day: date) -> bool | None:
        if day == self.day and self.snap.leave is not None:
            return self.snap.leave
        return self.facts.on_leave(person, day)

    def tracking(self, person: Person) -> bool | None:
        return None if self.snap.state is None else self.snap.state.tracking


class Atomic:
    """The three steps over the pipeline's stores (same keys, same values as theirs)."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        *,
        ledger: Ledger,
        state: TrackerState,
        outcomes: OutcomeLog,
        limiter: RateLimiter,
        locks: PersonLock,
    ) -> None:
        self.client = client
        self.keys = keys
        self.ledger = ledger
        self.state = state
        self.outcomes = outcomes
        self.limiter = limiter
        self.locks = locks
        self._begin = client.register_script(_BEGIN)
        self._prepare = client.register_script(_PREPARE)
        self._keep = client.register_script(_KEEP)
        self._end = client.register_script(_END)

    def begin(
        self,
        *,
        delivery: str,
        trigger_id: str | None,
        person: str | None,
        action_key: str | None,
        leave_day: date | None = None,
    ) -> Snapshot:
        """Claim ``trigger_id`` (if given) for ``delivery``; unless another delivery owns it,
        its decision is kept or it is done, try ``person``'s lock and read their marks."""
        token = secrets.token_hex(8)
        who = (person or "").lower()
        keys = self.keys
        reply = self._begin(
            keys=[
                keys("trigger", trigger_id or ""),
                keys("lock", person or ""),
                keys("action", action_key or ""),
                keys("attempts", action_key or ""),
                keys("pending", person or ""),
                keys("last", person or ""),
                self.state.key(person or ""),
                keys("pauses"),
                keys("leave", person or "", leave_day.isoformat() if leave_day else ""),
                keys("user-ids"),
            ],
            args=[
                "1" if trigger_id is not None else "0",
                delivery,
                self.ledger.ttl_s,
                who,
                token,
                self.locks.ttl_ms,
                "1" if leave_day is not None else "0",
            ],
        )
        claim = _text(reply[0])
        if len(reply) == 1:
            return Snapshot(claim=claim, token=token)
        _, locked, mark, attempts, pending, last, state, pauses, leave, user_id = reply
        return Snapshot(
            claim=claim,
            token=token,
            locked=bool(locked),
            mark=mark,
            attempts=int(attempts or 0),
            pending=_text(pending),
            last_applied=None if last is None else datetime.fromtimestamp(int(last) / 1000, UTC),
            state=parse_state(state) if self.state.ttl_s > 0 else None,
            pauses=dict(zip(pauses[::2], pauses[1::2], strict=True)),
            leave=None if leave is None else leave in (b"1", "1"),
            user_id=None if user_id is None else int(user_id),
        )

    def prepare(
        self,
        *,
        holder: str,
        action_key: str,
        person: str,
        call: bool,
        trigger_id: str,
        delivery: str,
        decision: str | None,
    ) -> tuple[int, int]:
        """Take an API slot for ``holder``: ``(ms to wait, 0)`` with the next slot reserved,
        or ``(0, attempts)`` with the attempt counted and, for the start/stop (``call``),
        the call marked in flight and ``decision`` (if given) kept with the claim."""
        keys = self.keys
        wait, attempts = self._prepare(
            keys=[
                *self.limiter.script_keys(holder),
                keys("action", action_key),
                keys("pending", person),
                keys("attempts", action_key),
                self.state.key(person),
                keys("trigger", trigger_id),
            ],
            args=[
                *self.limiter.script_args(),
                "1" if call else "0",
                self.ledger.ttl_s,
                action_key,
                PENDING_TTL_S,
                delivery,
                "" if decision is None else f"{delivery}{SEP}{decision}",
            ],
        )
        if int(wait) > 0:
            process_metrics().limiter_wait(int(wait))
        return int(wait), int(attempts)

    def keep_decision(self, trigger_id: str, delivery: str, decision: str) -> None:
        """Keep ``decision`` with the claim of ``trigger_id`` (if ``delivery`` owns it)."""
        self._keep(
            keys=[self.keys("trigger", trigger_id)], args=[delivery, f"{delivery}{SEP}{decision}"]
        )

    def end(
        self,
        outcome: Outcome,
        *,
        token: str | None,
        claim: str | None,
        tracking: tuple[bool, datetime] | None = None,
        finish: tuple[str, Result, datetime | None] | None = None,
    ) -> bool:
        """Record ``outcome`` (once per delivery) and, in the same step: the known state
        (``tracking``: is tracking, since), the action's final mark (``finish``: action key,
        result, applied at), the release of the lock held with ``token``, and the claim of
        ``claim`` (the trigger id) marked done. True if the outcome was recorded now."""
        person = outcome.person or ""
        state = (
            dump_state(tracking[0], tracking[1], "autoclock")
            if tracking is not None and self.state.ttl_s > 0
            else ""
        )
        action_key, result, applied_at = finish or ("", outcome.result, None)
        recorded = bool(
            self._end(
                keys=[
                    self.state.key(person),
                    self.keys("lock", person),
                    self.keys("trigger", claim or ""),
                    *self.ledger.finish_keys(action_key, person),
                    *self.outcomes.record_keys(outcome),
                    self.keys("attempts", action_key),
                ],
                args=[
                    state,
                    self.state.ttl_s,
                    token or "",
                    outcome.delivery_id if claim is not None else "",
                    "1" if finish is not None else "0",
                    *self.ledger.finish_args(action_key, result, applied_at, outcome.delivery_id),
                    *self.outcomes.record_args(outcome),
                ],
            )
        )
        if recorded:
            self.outcomes.logged(outcome)
        return recorded

    def release(self, person: str, token: str) -> None:
        self.locks.release(person, token)
