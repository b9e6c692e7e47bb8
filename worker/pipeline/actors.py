"""The two actors: ``evaluate_trigger`` (rules) and ``apply_action`` (the API call).

Both are declared on a given broker with a given :class:`Context` (no module globals), so a
process — or a test — wires exactly one set. Every delivery ends in exactly one recorded
:class:`Outcome`; the only exceptions that leave an actor are ``dramatiq.Retry`` (wait for
the person's lock, for API budget, or back off after a transient error), and every path
that is not a retry records an outcome first.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from worker.errors import (
    AlreadyTracking,
    Backpressure,
    Forbidden,
    NotTracking,
    RateLimited,
    Rejected,
    Transient,
    Unauthorized,
    Unconfirmed,
    WebWorkError,
)
from worker.logs import get_logger
from worker.models import (
    TRACKING_AFTER,
    Action,
    Outcome,
    Result,
    Trigger,
    Verb,
    clamp_future,
    clamp_note,
)
from worker.pipeline.atomic import Snapshot, SnapshotFacts
from worker.pipeline.broker import (
    ACTIONS_QUEUE,
    APPLY_ACTION,
    EVALUATE_TRIGGER,
    MESSAGE_MAX_AGE_MS,
    TRIGGERS_QUEUE,
)
from worker.pipeline.context import CONFIRM_WAIT_MS, Context
from worker.pipeline.ledger import Refusal, finished_of, in_flight_of, refusal_of
from worker.pipeline.limiter import SHORT_WAIT_MS
from worker.pipeline.middleware import LogContext
from worker.rules.directory import Person
from worker.rules.evaluate import Decision, evaluate
from worker.rules.ruleset import Ruleset

__all__ = [
    "ACTOR_OPTIONS",
    "GUARDS",
    "ON_ERROR",
    "Actors",
    "backoff_ms",
    "declare_actors",
    "send_action",
]

log = get_logger(__name__)

#: Explicit options for both actors. Only ``dramatiq.Retry`` is retried (our own waits and
#: backoffs, bounded by the action's deadline, or AUTOCLOCK_MAX_ATTEMPTS without one);
#: anything else has already been recorded as an outcome. ``max_age`` is a backstop far
#: beyond any deadline.
ACTOR_OPTIONS: dict[str, Any] = {
    "max_retries": 10_000,
    "min_backoff": 200,
    "max_backoff": 300_000,
    "retry_when": lambda retries, exc: isinstance(exc, dramatiq.Retry),
    "time_limit": 120_000,
    "max_age": MESSAGE_MAX_AGE_MS,
}

#: Waiting for another action of the same person: retry after this long (ms), jittered.
LOCK_RETRY_MS = 150
#: Redis unreachable in the middle of a message: retry after this long (ms), jittered.
REDIS_RETRY_MS = 1_000
#: How long an actor thread waits for a lost Redis before asking for its retry (s).
REDIS_WAIT_S = 60  # well within the actors' 120 s time limit

#: Waiting for a person's interrupted action to be resolved: retry after this long (ms).
PENDING_RETRY_MS = 1_000
#: A transient error's last retry comes this long (ms) after the deadline at the latest.
DEADLINE_MARGIN_MS = 100


@dataclass(frozen=True)
class Actors:
    evaluate_trigger: dramatiq.Actor[[dict[str, Any]], None]
    apply_action: dramatiq.Actor[[dict[str, Any]], None]
    redis_lost: threading.Event
    """Set once an actor lost Redis mid-message (see ``Pipeline.healthy``)."""


def _delivery_id() -> str:
    message = CurrentMessage.get_current_message()
    return str(message.message_id) if message is not None else "direct-call"


def _retries() -> int:
    message = CurrentMessage.get_current_message()
    return int(message.options.get("retries", 0)) if message is not None else 0


def _jitter(ms: float) -> int:
    return max(1, int(ms * random.uniform(0.75, 1.25)))  # noqa: S311 - jitter, not crypto


def send_action(broker: RedisBroker, action: Action, *, delay: int | None = None) -> None:
    """Enqueue ``action`` for ``apply_action`` (by name: no actor object needed), after
    ``delay`` ms if given."""
    broker.enqueue(
        dramatiq.Message(
            queue_name=ACTIONS_QUEUE,
            actor_name=APPLY_ACTION,
            args=(action.model_dump(mode="json"),),
            kwargs={},
            options={},
        ),
        delay=delay,
    )


def declare_actors(broker: RedisBroker, ctx: Context) -> Actors:
    """Declare ``evaluate_trigger`` and ``apply_action`` on ``broker``, bound to ``ctx``."""

    skew = timedelta(seconds=ctx.settings.clock_skew_s)
    redis_lost = threading.Event()
    broker.add_middleware(LogContext())  # actor, message, trigger, person on every log line

    def evaluate_trigger(payload: dict[str, Any]) -> None:
        trigger = clamp_future(Trigger.model_validate(payload), now=ctx.clock(), allowance=skew)
        with _redis_outage_is_a_retry(ctx.db, redis_lost):
            _evaluate(ctx, broker, trigger, _delivery_id())

    def apply_action(payload: dict[str, Any]) -> None:
        action = Action.model_validate(payload)
        with _redis_outage_is_a_retry(ctx.db, redis_lost):
            _Apply.begin(ctx, action).run()

    return Actors(
        evaluate_trigger=dramatiq.Actor(
            evaluate_trigger,
            broker=broker,
            actor_name=EVALUATE_TRIGGER,
            queue_name=TRIGGERS_QUEUE,
            priority=0,
            options=dict(ACTOR_OPTIONS),
        ),
        apply_action=dramatiq.Actor(
            apply_action,
            broker=broker,
            actor_name=APPLY_ACTION,
            queue_name=ACTIONS_QUEUE,
            priority=0,
            options=dict(ACTOR_OPTIONS),
        ),
        redis_lost=redis_lost,
    )


@contextmanager
def _redis_outage_is_a_retry(client: redis.Redis, lost: threading.Event) -> Iterator[None]:
    """Redis unreachable mid-message: wait for it, then retry the message.

    The thread waits (bounded by ``REDIS_WAIT_S``) until Redis answers before asking for the
    retry, so the retry is stored at once (``DurableRetries`` stores it in any case before
    the delivery is acknowledged); the process then restarts itself (see
    ``Pipeline.healthy``).
    """
    try:
        yield
    except redis.RedisError as exc:
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            lost.set()
        log.warning("redis unavailable; waiting for it", error=type(exc).__name__)
        deadline = time.monotonic() + REDIS_WAIT_S
        while time.monotonic() < deadline:
            try:
                client.ping()
                break
            except (redis.RedisError, OSError):
                time.sleep(0.5)
        raise dramatiq.Retry("redis unavailable", delay=_jitter(REDIS_RETRY_MS)) from None


def _evaluate(ctx: Context, broker: RedisBroker, trigger: Trigger, delivery: str) -> None:
    """Claim, decide and, on the fast path, apply in this same message.

    The person's lock is tried in the same step as the claim (:meth:`Atomic.begin`). Held,
    the action is applied here (the decision is kept with the claim before any call);
    otherwise — or once the action has to wait (lock, budget, a pending action, a retry) —
    the decision is kept and handed to ``apply_action`` as its own message, as before.
    """
    ruleset = ctx.ruleset  # one version of the rules for the whole evaluation (hot reload)
    person = ruleset.directory.resolve(trigger.subject, source=trigger.source)
    local_day = trigger.occurred_at.astimezone(person.zone).date() if person else None
    snap = ctx.atomic.begin(
        delivery=delivery,
        trigger_id=trigger.id,
        person=person.email if person else None,
        action_key=Action.key_of(trigger.id, person.email) if person else None,
        leave_day=local_day,
        user_id=person is not None and person.user_id is None,
    )
    held = _Held(ctx, person.email if person else "", snap)

    def record(result: Result, reason: str, **extra: Any) -> None:
        outcome = Outcome.for_trigger(
            trigger, delivery, result, reason, rules_version=ruleset.version, **extra
        )
        held.end(outcome, claim=trigger.id)

    try:
        if snap.owner != delivery:
            record(Result.DUPLICATE, "this trigger was already received; no second effect")
            return
        if snap.done:
            return  # this delivery's outcome is recorded: it was redelivered after the end
        if snap.decision is not None:
            # redelivered after deciding: resend that decision, never decide again (a new
            # "now" or known state could decide otherwise, and that would be a second effect)
            send_action(broker, Action.model_validate_json(snap.decision))
            return
        if person is None:
            record(
                Result.UNKNOWN_PERSON,
                f"no person in the directory has {trigger.subject!r} (email, badge or id)",
            )
            return
        now = ctx.clock()
        pauses = ctx.pauses.kept(snap.pauses or {}, now)
        facts = SnapshotFacts(ctx.facts, snap, local_day)
        decision = evaluate(trigger, person, ruleset, now=now, facts=facts, pauses=pauses)
        if decision.paused is not None:
            record(Result.PAUSED, decision.reason, person=person.email)
            return
        if decision.verb is None:
            record(Result.NO_RULE, _why_not(decision), person=person.email)
            return
        action = _action(trigger, delivery, person, decision, ruleset)
        if held.token is None:  # the person is busy: the action waits as its own message
            ctx.atomic.keep_decision(trigger.id, delivery, action.model_dump_json())
            send_action(broker, action)
            return
        _Apply(ctx, action, snap=snap, held=held).inline(broker)
    except Backpressure as exc:
        raise dramatiq.Retry("waiting for API budget", delay=exc.delay_ms) from None
    except RateLimited as exc:  # a fact (approved leave) could not be read yet
        ctx.limiter.pause(exc.retry_after_s)
        raise dramatiq.Retry("rate limited", delay=int(exc.retry_after_s * 1000)) from None
    except Transient as exc:
        _retry_facts(ctx, ruleset, trigger, exc)
        # never guess: clocking in someone on approved leave costs money
        record(
            Result.FAILED,
            f"could not read the facts the rules need (leave) within the longest deadline a "
            f"rule allows, after {_retries() + 1} tries: {exc}",
        )
    except (dramatiq.Retry, redis.RedisError):
        raise  # Redis: not the trigger's fault, retried once Redis answers
    except Exception as exc:
        log.exception("evaluation failed")
        record(Result.FAILED, f"evaluation failed: {type(exc).__name__}: {exc}")
    finally:
        held.release()


def _action(
    trigger: Trigger, delivery: str, person: Person, decision: Decision, ruleset: Ruleset
) -> Action:
    assert decision.verb is not None
    return Action(
        trigger=trigger,
        delivery_id=delivery,
        person=person.email,
        user_id=person.user_id,
        verb=decision.verb,
        rule=decision.rule or "?",
        contract_id=decision.contract_id,
        task_id=decision.task_id,
        description=decision.description,
        deadline=decision.deadline(trigger.occurred_at),
        reason=decision.reason + clamp_note(trigger),
        rules_version=ruleset.version,
    )


class _Held:
    """The person's lock as :meth:`Atomic.begin` left it: released exactly once, by the
    final step (:meth:`end`) or else when the message leaves (:meth:`release`)."""

    def __init__(self, ctx: Context, person: str, snap: Snapshot) -> None:
        self.ctx = ctx
        self.person = person
        self.token: str | None = snap.token if snap.locked else None

    def end(
        self,
        outcome: Outcome,
        *,
        claim: str,
        tracking: tuple[bool, datetime] | None = None,
        finish: tuple[str, Result, datetime | None] | None = None,
    ) -> None:
        """The final step (:meth:`Atomic.end`), which releases the lock; until it has
        answered, the lock is still this message's to release."""
        self.ctx.atomic.end(
            outcome,
            token=self.token,
            lock_person=self.person,
            claim=claim,
            tracking=tracking,
            finish=finish,
        )
        self.token = None

    def release(self) -> None:
        token, self.token = self.token, None
        if token is not None:
            self.ctx.atomic.release(self.person, token)


def _retry_facts(ctx: Context, ruleset: Ruleset, trigger: Trigger, exc: Transient) -> None:
    """A fact (leave) could not be read: retry with backoff until the latest deadline any rule
    allows this trigger (as actions retry until theirs), else return."""
    longest = max([ruleset.policy.max_delay, *(r.max_delay for r in ruleset.rules if r.max_delay)])
    left = _ms_until(trigger.occurred_at + longest, ctx.clock())
    if left is not None and left > 0:
        delay = min(backoff_ms(_retries() + 1, ctx.settings.max_backoff_s), left)
        log.warning("a fact could not be read, will retry", error=str(exc), delay_ms=delay)
        raise dramatiq.Retry("a fact could not be read", delay=delay) from None


def _why_not(decision: Decision) -> str:
    """The decision's summary plus each relevant rule's reason (:meth:`Decision.why_not`)."""
    return decision.why_not()


Verdict = tuple[Result, str] | None
"""What a guard decided: the action ends here with this result and reason, or None (go on)."""


class _Apply:
    """One delivery of one action, from the guards to the recorded outcome.

    ``attempts`` on the outcome counts the WebWork calls this action made across all its
    deliveries: start/stop and the current-data calls that confirmed them. The guards judge
    the snapshot :meth:`Atomic.begin` read under the person's lock.
    """

    def __init__(self, ctx: Context, action: Action, *, snap: Snapshot, held: _Held) -> None:
        self.ctx = ctx
        self.action = action
        self.snap = snap
        self.held = held
        self.attempts = self.snap.attempts
        self.decision: str | None = None
        """The decision to keep with the claim at the first call (the fast path only)."""
        self.status: int | None = None
        self.latency_ms: float | None = None
        self.api_message: str | None = None
        self.in_flight = in_flight_of(self.snap.mark)
        """An earlier delivery's start/stop may have been applied (its answer was lost)."""
        self.sending = False
        """The start/stop itself is under way (not a current-data call)."""

    @property
    def verb(self) -> str:
        return self.action.verb.value

    @classmethod
    def begin(cls, ctx: Context, action: Action) -> _Apply:
        """``apply_action``'s first step: the person's lock and the snapshot."""
        snap = ctx.atomic.begin(
            delivery=action.delivery_id,
            trigger_id=None,
            person=action.person,
            action_key=action.key,
            user_id=action.user_id is None,
        )
        return cls(ctx, action, snap=snap, held=_Held(ctx, action.person, snap))

    def run(self) -> None:
        """``apply_action``: the guards and the call, if :meth:`begin` took the lock."""
        ctx, action = self.ctx, self.action
        try:
            if self.already_done():
                return
            if self.held.token is None:
                raise dramatiq.Retry("person busy", delay=_jitter(LOCK_RETRY_MS))
            with ctx.budget.held_by(action.key):
                self.guarded()
        finally:
            self.held.release()

    def inline(self, broker: RedisBroker) -> None:
        """The fast path: apply in the evaluation's message, lock and snapshot already held.
        Whatever would wait (a retry) goes on as ``apply_action`` with that delay instead,
        its decision kept first."""
        self.decision = self.action.model_dump_json()
        try:
            if self.already_done():
                return
            with self.ctx.budget.held_by(self.action.key):
                self.guarded()
        except dramatiq.Retry as retry:
            if self.decision is not None:
                self.ctx.atomic.keep_decision(
                    self.action.trigger.id, self.action.delivery_id, self.decision
                )
            self.held.release()
            send_action(broker, self.action, delay=retry.delay)

    def already_done(self) -> bool:
        """Record the outcome of an action that already ended; False if it has not.

        Another delivery of the same action is a ``duplicate``. This very delivery (it
        reached the result, then died before recording the outcome) records that result.
        """
        done = finished_of(self.snap.mark)
        if done is None:
            return False
        result, by = done
        if by == self.action.delivery_id:
            self.record(result, f"ended as {result.value} before an interruption; recorded now")
        else:
            self.finish(
                Result.DUPLICATE, f"this action already ended as {result.value}", ledger=False
            )
        return True

    def guarded(self) -> None:
        """The guards (under the person's lock), then the call; errors map to outcomes."""
        for guard in GUARDS:
            verdict = guard(self)
            if verdict is not None:
                # a guard's answer comes from what is known: it must not refresh that
                self.finish(*verdict, refresh_state=False)
                return
        try:
            self.apply()
        except (dramatiq.Retry, redis.RedisError):
            raise  # Redis: not the action's fault, retried once Redis answers
        except Exception as exc:  # every error ends in an outcome
            self.on_error(exc)

    def on_error(self, exc: Exception) -> None:
        for kind, handler in ON_ERROR:
            if isinstance(exc, kind):
                handler(self, exc)
                return
        log.exception("apply failed")
        self.fail(Result.FAILED, f"{type(exc).__name__}: {exc}")

    # -- the calls -------------------------------------------------------------------------

    def apply(self) -> None:
        ctx, action = self.ctx, self.action
        user_id = self.user_id()
        if user_id is None:
            self.fail(Result.REJECTED, f"no WebWork member has the email {action.person}")
            return
        workspace = ctx.identity.workspace_id()
        refusal = refusal_of(self.snap.mark)
        if refusal is not None:
            self.confirm(refusal, workspace, user_id)
            return
        if self.in_flight:
            if self.landed(workspace, user_id) or self.expired():
                return
            # current-data shows the earlier attempt did not take effect: call afresh (and
            # if there is no budget for it now, the retry must not ask current-data again)
            ctx.ledger.not_in_flight(action.key, action.person)
        try:
            self.send(workspace, user_id)
        except Unconfirmed as exc:
            # An answered refusal applied nothing: it is no longer in flight. Its cause is
            # decided from current-data, inside this action's budget.
            self.note(exc)
            refusal = Refusal(exc.status, exc.api_message)
            ctx.ledger.mark_refused(action.key, action.person, refusal)
            self.confirm(refusal, workspace, user_id)

    def user_id(self) -> int | None:
        ctx, action = self.ctx, self.action
        if action.user_id is not None:
            return action.user_id
        if self.snap.user_id is not None:
            return self.snap.user_id
        person = ctx.ruleset.directory.by_email(action.person)
        if person is not None:
            return ctx.identity.user_id(person)
        return ctx.state.user_id(action.person)

    @contextmanager
    def counted_call(
        self, *, call: bool = False, max_sleep_ms: int = SHORT_WAIT_MS
    ) -> Iterator[None]:
        """Take the API slot first (no call is counted or marked while waiting for one),
        then count the call the block makes; for the start/stop itself (``call``) mark it in
        flight and keep the decision in the same step (:meth:`Atomic.prepare`)."""
        wait = self.prepare(call)
        if 0 < wait <= max_sleep_ms:  # a round trip through the delay queue costs more
            time.sleep(wait / 1000)
            wait = self.prepare(call)
        if wait > 0:
            raise Backpressure(wait)
        self.ctx.budget.paid()
        try:
            yield
        finally:
            self.ctx.budget.cancel()

    def prepare(self, call: bool) -> int:
        action = self.action
        decision = (
            (action.trigger.id, action.delivery_id, self.decision)
            if call and self.decision is not None
            else None
        )
        wait = self.ctx.atomic.prepare(
            holder=action.key,
            action_key=action.key,
            person=action.person,
            call=call,
            attempts=self.attempts + 1,
            decision=decision,
        )
        if wait == 0:
            self.attempts += 1
            if decision is not None:
                self.decision = None
        return wait

    def send(self, workspace: int, user_id: int) -> None:
        """The start/stop itself."""
        ctx, action = self.ctx, self.action
        with self.counted_call(call=True):
            self.sending = True
            if action.verb is Verb.START:
                reply = ctx.client.start(
                    workspace_id=workspace,
                    user_id=user_id,
                    contract_id=action.contract_id,
                    task_id=action.task_id,
                    description=action.description,
                    confirm=False,
                )
                result = Result.STARTED
            else:
                reply = ctx.client.stop(workspace_id=workspace, user_id=user_id, confirm=False)
                result = Result.STOPPED
            self.sending = False
        self.status, self.latency_ms, self.api_message = (
            reply.status,
            reply.latency_ms,
            reply.message,
        )
        self.finish(result, action.reason or f"rule {action.rule}")

    def running(self, workspace: int, user_id: int, *, max_sleep_ms: int = SHORT_WAIT_MS) -> bool:
        """Whether current-data shows a tracker running (one counted call)."""
        with self.counted_call(max_sleep_ms=max_sleep_ms):
            return self.ctx.client.current(workspace_id=workspace, user_id=user_id) is not None

    def landed(self, workspace: int, user_id: int) -> bool:
        """After a lost answer: did the earlier attempt take effect? (current-data)"""
        tracking = self.running(workspace, user_id)
        if tracking != (self.action.verb is Verb.START):
            return False
        lost = self.ctx.ledger.last_answer(self.action.key) or "the worker stopped mid-call"
        shows = "a tracker running" if tracking else "no tracker running"
        self.finish(
            Result.STARTED if tracking else Result.STOPPED,
            f"the answer to an earlier {self.verb} was lost ({lost}); "
            f"current-data shows {shows}, so it took effect",
        )
        return True

    def confirm(self, refusal: Refusal, workspace: int, user_id: int) -> None:
        """Decide a refusal no pattern explained from whether a tracker runs now."""
        self.status, self.api_message = refusal.status, refusal.message
        said = f"WebWork refused the {self.verb} ({refusal.said()})"
        try:
            running = self.running(workspace, user_id, max_sleep_ms=CONFIRM_WAIT_MS)
        except Rejected as exc:
            self.fail(Result.REJECTED, f"{said}; current-data could not say why: {exc}")
            return
        start = self.action.verb is Verb.START
        if start and running:
            self.finish(
                Result.ALREADY_TRACKING,
                f"{said}; current-data shows a tracker running: already tracking",
            )
        elif not start and not running:
            self.finish(
                Result.NOT_TRACKING, f"{said}; current-data shows no tracker running: not tracking"
            )
        elif start:
            self.fail(
                Result.REJECTED,
                f"{said} and current-data shows no tracker running, so WebWork refused it for "
                "another reason (e.g. a member who left, a paused contract); a tracker running "
                "in the desktop or mobile app is invisible to current-data and also blocks a "
                "start",
            )
        else:
            self.fail(Result.REJECTED, f"{said} although current-data shows a tracker running")

    # -- the guards' helpers -----------------------------------------------------------------

    def expired(self) -> bool:
        """Past the rule's deadline: record ``expired`` and return True."""
        verdict = _past_deadline(self, force=True)
        if verdict is None:
            return False
        self.finish(*verdict)
        return True

    # -- errors ----------------------------------------------------------------------------

    def wait_for_budget(self, exc: Backpressure) -> None:
        raise dramatiq.Retry("waiting for API budget", delay=exc.delay_ms)

    def rate_limited(self, exc: RateLimited) -> None:
        ctx, action = self.ctx, self.action
        if self.sending:
            ctx.ledger.not_in_flight(action.key, action.person)  # a 429 applied nothing
        ctx.ledger.note_answer(action.key, str(exc))
        ctx.limiter.pause(exc.retry_after_s)
        raise dramatiq.Retry("rate limited", delay=int(exc.retry_after_s * 1000))

    def conflict(self, exc: WebWorkError) -> None:
        self.note(exc)
        if isinstance(exc, AlreadyTracking):
            self.finish(Result.ALREADY_TRACKING, f"WebWork: already tracking ({exc})")
        else:
            self.finish(Result.NOT_TRACKING, f"WebWork: nothing running ({exc})")

    def transient(self, exc: Transient) -> None:
        """Retry with backoff until the action's deadline (without one: max_attempts)."""
        ctx, action = self.ctx, self.action
        self.note(exc)
        ctx.ledger.note_answer(action.key, str(exc))
        if self.sending and not exc.maybe_applied:
            # the failure proves nothing was applied: the retry calls again directly,
            # without asking current-data first (see Transient.maybe_applied)
            ctx.ledger.not_in_flight(action.key, action.person)
        attempts = self.attempts
        delay = backoff_ms(attempts, ctx.settings.max_backoff_s)
        left = _ms_until(action.deadline, ctx.clock())
        if left is None or left <= 0:
            # no deadline (a replay), or past it with the effect still unknown
            if attempts >= ctx.settings.max_attempts:
                why = "no deadline" if left is None else "past the deadline, effect unknown"
                self.fail(Result.FAILED, f"gave up after {attempts} calls ({why}): {exc}")
                return
        else:
            delay = min(delay, left + DEADLINE_MARGIN_MS)  # the last retry meets the deadline
        log.warning(
            "transient API error, will retry", error=str(exc), attempts=attempts, delay_ms=delay
        )
        raise dramatiq.Retry("transient API error", delay=delay)

    def token_refused(self, exc: WebWorkError) -> None:
        self.note(exc)
        self.fail(Result.FAILED, f"WebWork refused the token: {exc}")

    def rejected(self, exc: WebWorkError) -> None:
        self.note(exc)
        self.fail(Result.REJECTED, f"WebWork rejected the {self.verb}: {exc}")

    def failed(self, exc: WebWorkError) -> None:
        self.note(exc)
        self.fail(Result.FAILED, str(exc))

    # -- recording -------------------------------------------------------------------------

    def note(self, exc: WebWorkError) -> None:
        self.status, self.latency_ms, self.api_message = exc.status, exc.latency_ms, exc.api_message

    def fail(self, result: Result, reason: str) -> None:
        """A final failure: ledger cleared (a replay may apply), a dead letter, the outcome."""
        self.ctx.ledger.clear(self.action.key, self.action.person)
        self.ctx.dead_letters.add(self.action, result, reason)
        self.record(result, reason)

    def finish(
        self, result: Result, reason: str, *, ledger: bool = True, refresh_state: bool = True
    ) -> None:
        """The final step: known state, ledger mark, outcome, lock, claim (one round trip)."""
        action = self.action
        tracking = TRACKING_AFTER.get(result)
        since = self.ctx.clock()
        applied_at = action.trigger.occurred_at if tracking is not None else None
        self.record(
            result,
            reason,
            tracking=(tracking, since) if tracking is not None and refresh_state else None,
            finish=(action.key, result, applied_at) if ledger else None,
        )

    def record(
        self,
        result: Result,
        reason: str,
        *,
        tracking: tuple[bool, datetime] | None = None,
        finish: tuple[str, Result, datetime | None] | None = None,
    ) -> None:
        outcome = Outcome.for_action(
            self.action,
            result,
            reason,
            http_status=self.status,
            latency_ms=None if self.latency_ms is None else round(self.latency_ms, 2),
            attempts=self.attempts,
            api_message=self.api_message,
        )
        self.held.end(outcome, claim=self.action.trigger.id, tracking=tracking, finish=finish)


# -- guards: each returns (result, reason) to end the action, or None; they run in order ------


def _another_pending(apply: _Apply) -> Verdict:
    """An earlier action of this person was interrupted mid-call (its worker died, or its
    answer was lost): its effect is unknown until it is redelivered and resolved."""
    pending = apply.snap.pending
    if pending is not None and pending != apply.action.key:
        raise dramatiq.Retry(
            "an interrupted action of this person is pending", delay=_jitter(PENDING_RETRY_MS)
        )
    return None


def _past_deadline(apply: _Apply, *, force: bool = False) -> Verdict:
    """Past the rule's deadline, and nothing of this action may have been applied."""
    action = apply.action
    now = apply.ctx.clock()
    if (apply.in_flight and not force) or action.deadline is None or now <= action.deadline:
        return None
    late = (now - action.trigger.occurred_at).total_seconds()
    reason = f"{late:.0f}s after the trigger, past the rule's deadline; not applied"
    attempts = apply.attempts
    said = apply.ctx.ledger.last_answer(action.key) if attempts else None
    if attempts and said:
        reason += f" ({attempts} calls; WebWork last: {said})"
    return Result.EXPIRED, reason


def _superseded(apply: _Apply) -> Verdict:
    last = apply.snap.last_applied
    if apply.in_flight or last is None or apply.action.trigger.occurred_at >= last:
        return None
    return Result.SUPERSEDED, f"a newer trigger ({last.isoformat()}) was already applied"


def _known_state(apply: _Apply) -> Verdict:
    if apply.in_flight:
        return None
    known = apply.snap.state
    want = apply.action.verb is Verb.START
    if known is None or known.tracking != want:
        return None
    result = Result.ALREADY_TRACKING if want else Result.NOT_TRACKING
    return result, f"known state from {known.source} at {known.at.isoformat()}; no API call needed"


GUARDS: tuple[Callable[[_Apply], Verdict], ...] = (
    _another_pending,
    _past_deadline,
    _superseded,
    _known_state,
)

#: What each error of a call means for the action (first match wins; order matters, the
#: subclasses first). Anything else is a bug: logged with its traceback, ``failed``.
ON_ERROR: tuple[tuple[type[Exception], Callable[[_Apply, Any], None]], ...] = (
    (Backpressure, _Apply.wait_for_budget),  # no call made: wait for the reserved slot
    (RateLimited, _Apply.rate_limited),  # 429: pause everyone, retry (nothing applied)
    (AlreadyTracking, _Apply.conflict),  # refused, pattern says why: final success
    (NotTracking, _Apply.conflict),
    (Transient, _Apply.transient),  # retry until the deadline
    (Unauthorized, _Apply.token_refused),  # final, loud
    (Forbidden, _Apply.token_refused),
    (Rejected, _Apply.rejected),  # final, dead-lettered
    (WebWorkError, _Apply.failed),
)


def backoff_ms(attempts: int, max_backoff_s: float) -> int:
    """The jittered wait before the next try after ``attempts`` failed ones: 1 s, 2 s, 4 s …
    up to ``max_backoff_s`` (AUTOCLOCK_MAX_BACKOFF_S)."""
    return _jitter(min(max_backoff_s * 1000, 1000 * 2 ** max(attempts - 1, 0)))


def _ms_until(deadline: datetime | None, now: datetime) -> int | None:
    if deadline is None:
        return None
    return int((deadline - now).total_seconds() * 1000)
