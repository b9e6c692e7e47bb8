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
   outcome (once per delivery: "done" on the claim it owns, else the per-delivery guard key),
   the lock's release and the claim marked done.

Each step is one script, so what it reads and writes is one consistent moment: the guards
judge a snapshot taken under the lock, and a crash can only fall between steps, never inside
one. What each crash point leaves, and why the redelivery ends right, is in
docs/pipeline.md.

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
from worker.pipeline.broker import MESSAGE_MAX_AGE_MS
from worker.pipeline.ledger import PENDING_TTL_S, Ledger, PersonLock
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
--       9 leave, 10 user ids, 11 the decision key of releases before the claim kept it
-- ARGV: 1 claim ('1': claim the trigger), 2 delivery, 3 claim ttl, 4 person ('': none),
--       5 lock token, 6 lock ttl ms, 7 facts ('1': read pauses and leave), 8 user id ('1':
--       read the cached one)
local v = redis.call('MGET', KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[9],
                     KEYS[11])
local claim = false
if ARGV[1] == '1' then
  claim = v[1]
  if not claim then
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
    claim = ARGV[2]
  end
  if claim == ARGV[2] and v[8] then claim = ARGV[2] .. '\30' .. v[8] end  -- upgraded in flight
  if string.match(claim, '^[^\30]*') ~= ARGV[2] or ARGV[4] == '' then return {claim} end
  if string.find(claim, '\30', 1, true) then return {claim} end
end
local locked = 0
if redis.call('SET', KEYS[2], ARGV[5], 'NX', 'PX', ARGV[6]) then locked = 1 end
local pauses, leave, user = {}, false, false
if ARGV[7] == '1' then
  pauses = redis.call('HGETALL', KEYS[8])
  leave = v[7]
end
if ARGV[8] == '1' then user = redis.call('HGET', KEYS[10], ARGV[4]) end
return {claim, locked, v[2], v[3], v[4], v[5], v[6], pauses, leave, user}
"""

#: Keep a decision with the claim: only if this delivery owns the claim and its action has not
#: ended (never reopen a ``done`` claim), for at least as long as a message may live.
_KEEP_LUA = r"""
local function keep_decision(k_claim, delivery, value, ttl)
  local claim = redis.call('GET', k_claim)
  if claim and string.match(claim, '^[^\30]*') == delivery
     and string.sub(claim, -5) ~= '\30done' then
    redis.call('SET', k_claim, value, 'EX', ttl)  -- ttl >= the claim's own: never shorter
  end
end
"""

_KEEP = _KEEP_LUA + "keep_decision(KEYS[1], ARGV[1], ARGV[2], ARGV[3])\nreturn 1\n"

_PREPARE = (
    ACQUIRE_LUA
    + _KEEP_LUA
    + r"""
-- KEYS: 1-4 the limiter's, 5 action, 6 pending, 7 attempts, 8 state, 9 claim
-- ARGV: 1-5 the limiter's, 6 call ('1': the start/stop itself), 7 ttl, 8 action key,
--       9 pending ttl, 10 attempts after this one, 11 claim with the decision ('': kept
--       already), 12 delivery, 13 the claim's ttl with a decision
local wait = acquire(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV)
if wait > 0 then return wait end
redis.call('SET', KEYS[7], ARGV[10], 'EX', ARGV[7])  -- under the person's lock: no race
if ARGV[6] == '1' then
  redis.call('DEL', KEYS[8])
  redis.call('SET', KEYS[5], 'inflight', 'EX', ARGV[7])
  redis.call('SET', KEYS[6], ARGV[8], 'EX', ARGV[9])
end
if ARGV[11] ~= '' then keep_decision(KEYS[9], ARGV[12], ARGV[11], ARGV[13]) end
return 0
"""
)

_END = (
    RECORD_LUA
    + r"""
-- KEYS: 1 state, 2 lock, 3 claim, 4 action, 5 last, 6 pending, 7 attempts,
--       8-11 the outcome's (guard, stream, counters, last outcome per person)
-- ARGV: 1 state ('': keep), 2 state ttl, 3 lock token ('': none held), 4 delivery ('': leave
--       the claim), 5 the action's final mark ('': none), 6 ttl, 7 applied ms (''), 8 action
--       key, 9-13 the outcome's, 14 the claim's ttl once done
local v = redis.call('MGET', KEYS[5], KEYS[6], KEYS[2], KEYS[3], KEYS[8])
local gone = {}
if ARGV[1] ~= '' then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6])
  if ARGV[7] ~= '' and tonumber(ARGV[7]) > tonumber(v[1] or '0') then
    redis.call('SET', KEYS[5], ARGV[7], 'EX', ARGV[6])
  end
  if v[2] == ARGV[8] then gone[#gone + 1] = KEYS[6] end
  gone[#gone + 1] = KEYS[7]  -- the attempts are on the outcome now
end
if ARGV[3] ~= '' and v[3] == ARGV[3] then gone[#gone + 1] = KEYS[2] end
if #gone > 0 then redis.call('DEL', unpack(gone)) end
local k_out = {KEYS[8], KEYS[9], KEYS[10], KEYS[11]}
local a_out = {ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[13]}
local claim = v[4]
if ARGV[4] ~= '' and claim and string.match(claim, '^[^\30]*') == ARGV[4] then
  -- the delivery owns its trigger's claim: "done" there makes its outcome once (no guard key;
  -- one written by a release before this one still counts)
  if string.sub(claim, -5) == '\30done' or v[5] then return 0 end
  redis.call('SET', KEYS[3], ARGV[4] .. '\30done', 'EX', ARGV[14])
  return append_outcome(k_out, a_out)
end
return record_outcome(k_out, a_out)
"""
)


def _ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


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
        self.claim_ttl_s = max(ledger.ttl_s, MESSAGE_MAX_AGE_MS // 1000)
        """A claim that keeps a decision or says ``done`` lives at least as long as a message
        of its delivery may come back (then the dedupe TTL, if longer)."""
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
        user_id: bool = True,
    ) -> Snapshot:
        """Claim ``trigger_id`` (if given) for ``delivery``; unless another delivery owns it,
        its decision is kept or it is done, try ``person``'s lock and read their marks (the
        pauses and the leave of ``leave_day`` if given; the cached user id if ``user_id``)."""
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
                keys("decision", delivery),
            ],
            args=[
                "1" if trigger_id is not None else "0",
                delivery,
                self.ledger.ttl_s,
                who,
                token,
                self.locks.ttl_ms,
                "1" if leave_day is not None else "0",
                "1" if user_id else "0",
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
        attempts: int,
        decision: tuple[str, str, str] | None,
    ) -> int:
        """Take an API slot for ``holder``: the ms to wait (the next slot reserved for it), or
        0 with the attempt counted (``attempts``: the count after it) and, for the
        start/stop (``call``), the call marked in flight and ``decision`` (trigger id,
        delivery, JSON: the caller owns that claim) kept with the claim."""
        keys = self.keys
        trigger_id, delivery, text = decision or ("", "", "")
        wait = int(
            self._prepare(
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
                    attempts,
                    f"{delivery}{SEP}{text}" if decision else "",
                    delivery,
                    self.claim_ttl_s,
                ],
            )
        )
        if wait > 0:
            process_metrics().limiter_wait(wait)
        return wait

    def keep_decision(self, trigger_id: str, delivery: str, decision: str) -> None:
        """Keep ``decision`` with the claim of ``trigger_id`` (if ``delivery`` owns it)."""
        self._keep(
            keys=[self.keys("trigger", trigger_id)],
            args=[delivery, f"{delivery}{SEP}{decision}", self.claim_ttl_s],
        )

    def end(
        self,
        outcome: Outcome,
        *,
        token: str | None,
        lock_person: str,
        claim: str | None,
        tracking: tuple[bool, datetime] | None = None,
        finish: tuple[str, Result, datetime | None] | None = None,
    ) -> bool:
        """Record ``outcome`` (once per delivery) and, in the same step: the known state
        (``tracking``: is tracking, since), the action's final mark (``finish``: action key,
        result, applied at), the release of ``lock_person``'s lock held with ``token``, and the
        claim of ``claim`` (the trigger id) marked done. True if the outcome was recorded now."""
        person = outcome.person or ""
        state = (
            dump_state(tracking[0], tracking[1], "autoclock")
            if tracking is not None and self.state.ttl_s > 0
            else ""
        )
        action_key, result, applied_at = finish or ("", outcome.result, None)
        keys = self.keys
        mark = f"{result.value}|{outcome.delivery_id}" if finish is not None else ""
        recorded = bool(
            self._end(
                keys=[
                    self.state.key(person),
                    keys("lock", lock_person),
                    keys("trigger", claim or ""),
                    keys("action", action_key),
                    keys("last", person),
                    keys("pending", person),
                    keys("attempts", action_key),
                    *self.outcomes.record_keys(outcome),
                ],
                args=[
                    state,
                    self.state.ttl_s,
                    token or "",
                    outcome.delivery_id if claim is not None else "",
                    mark,
                    self.ledger.ttl_s,
                    _ms(applied_at) if applied_at is not None else "",
                    action_key,
                    *self.outcomes.record_args(outcome),
                    self.claim_ttl_s,
                ],
            )
        )
        if recorded:
            self.outcomes.logged(outcome)
        return recorded

    def release(self, person: str, token: str) -> None:
        self.locks.release(person, token)
