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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import dramatiq
import redis
import structlog
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
from worker.pipeline.broker import ACTIONS_QUEUE, APPLY_ACTION, EVALUATE_TRIGGER, TRIGGERS_QUEUE
from worker.pipeline.context import Context
from worker.rules.evaluate import Decision, evaluate

__all__ = ["ACTOR_OPTIONS", "REDIS_OUTAGE", "Actors", "declare_actors", "send_action"]

log = get_logger(__name__)

#: Explicit options for both actors. Only ``dramatiq.Retry`` is retried (our own waits and
#: backoffs, bounded by the action's deadline and AUTOCLOCK_MAX_ATTEMPTS); anything else has
#: already been recorded as an outcome. ``max_age`` is a backstop far beyond any deadline.
ACTOR_OPTIONS: dict[str, Any] = {
    "max_retries": 10_000,
    "min_backoff": 200,
    "max_backoff": 300_000,
    "retry_when": lambda retries, exc: isinstance(exc, dramatiq.Retry),
    "time_limit": 120_000,
    "max_age": 2 * 86_400_000,
}

#: Waiting for another action of the same person: retry after this long (ms), jittered.
LOCK_RETRY_MS = 150
#: Redis unreachable in the middle of a message: retry after this long (ms), jittered.
REDIS_RETRY_MS = 1_000
#: How long a decision is kept for a redelivery of its evaluation: as long as a message lives.
DECISION_TTL_S = ACTOR_OPTIONS["max_age"] // 1000
#: How long an actor thread waits for a lost Redis before asking for its retry (s).
REDIS_WAIT_S = 60  # well within the actors' 120 s time limit
#: Set once an actor in this process lost Redis mid-message (see Pipeline.healthy).
REDIS_OUTAGE = threading.Event()

#: Waiting for a person's interrupted action to be resolved: retry after this long (ms).
PENDING_RETRY_MS = 1_000


@dataclass(frozen=True)
class Actors:
    evaluate_trigger: dramatiq.Actor[[dict[str, Any]], None]
    apply_action: dramatiq.Actor[[dict[str, Any]], None]


def _delivery_id() -> str:
    message = CurrentMessage.get_current_message()
    return str(message.message_id) if message is not None else "direct-call"


def _retries() -> int:
    message = CurrentMessage.get_current_message()
    return int(message.options.get("retries", 0)) if message is not None else 0


def _jitter(ms: float) -> int:
    return max(1, int(ms * random.uniform(0.75, 1.25)))  # noqa: S311 - jitter, not crypto


def send_action(broker: RedisBroker, action: Action) -> None:
    """Enqueue ``action`` for ``apply_action`` (by name: no actor object needed)."""
    broker.enqueue(
        dramatiq.Message(
            queue_name=ACTIONS_QUEUE,
            actor_name=APPLY_ACTION,
            args=(action.model_dump(mode="json"),),
            kwargs={},
            options={},
        )
    )


def declare_actors(broker: RedisBroker, ctx: Context) -> Actors:
    """Declare ``evaluate_trigger`` and ``apply_action`` on ``broker``, bound to ``ctx``."""

    skew = timedelta(seconds=ctx.settings.clock_skew_s)

    def evaluate_trigger(payload: dict[str, Any]) -> None:
        trigger = clamp_future(Trigger.model_validate(payload), now=ctx.clock(), allowance=skew)
        delivery = _delivery_id()
        with (
            structlog.contextvars.bound_contextvars(
                actor=EVALUATE_TRIGGER,
                message_id=delivery,
                trigger_id=trigger.id,
                retries=_retries(),
            ),
            _redis_outage_is_a_retry(ctx.db),
        ):
            _evaluate(ctx, broker, trigger, delivery)

    def apply_action(payload: dict[str, Any]) -> None:
        action = Action.model_validate(payload)
        with (
            structlog.contextvars.bound_contextvars(
                actor=APPLY_ACTION,
                message_id=_delivery_id(),
                trigger_id=action.trigger.id,
                person=action.person,
                verb=action.verb.value,
                retries=_retries(),
            ),
            _redis_outage_is_a_retry(ctx.db),
        ):
            _Apply(ctx, action).run()

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
    )


@contextmanager
def _redis_outage_is_a_retry(client: redis.Redis) -> Iterator[None]:
    """Redis unreachable mid-message: wait for it, then retry the message.

    Dramatiq re-enqueues a retried message through Redis and acknowledges the delivery even
    when that enqueue failed, which would lose the message. So the thread waits (bounded by
    ``REDIS_WAIT_S``) until Redis answers before asking for the retry; the process then
    restarts itself (see ``Pipeline.healthy``).
    """
    try:
        yield
    except redis.RedisError as exc:
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            REDIS_OUTAGE.set()
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
    ruleset = ctx.ruleset  # one version of the rules for the whole evaluation (hot reload)

    def record(result: Result, reason: str, **extra: Any) -> None:
        ctx.outcomes.record(
            Outcome.for_trigger(
                trigger, delivery, result, reason, rules_version=ruleset.version, **extra
            )
        )

    try:
        owner = ctx.ledger.claim_trigger(trigger.id, delivery)
        if owner != delivery:
            record(Result.DUPLICATE, "this trigger was already received; no second effect")
            return
        decided = ctx.db.get(ctx.keys("decision", delivery))
        if decided is not None:
            # redelivered after deciding: resend that decision, never decide again (a new
            # "now" or known state could decide otherwise, and that would be a second effect)
            send_action(broker, Action.model_validate_json(decided))
            return
        person = ruleset.directory.resolve(trigger.subject, source=trigger.source)
        if person is None:
            record(
                Result.UNKNOWN_PERSON,
                f"no person in the directory has {trigger.subject!r} (email, badge or id)",
            )
            return
        now = ctx.clock()
        pauses = ctx.pauses.all(now)
        decision = evaluate(trigger, person, ruleset, now=now, facts=ctx.facts, pauses=pauses)
        if decision.paused is not None:
            record(Result.PAUSED, decision.reason, person=person.email)
            return
        if decision.verb is None:
            record(Result.NO_RULE, _why_not(decision), person=person.email)
            return
        action = Action(
            trigger=trigger,
            delivery_id=delivery,
            person=person.email,
            user_id=person.user_id,
            verb=decision.verb,
            rule=decision.rule or "?",
            contract_id=decision.contract_id,
            task_id=decision.task_id,
            description=decision.description,
            deadline=trigger.occurred_at + decision.max_delay,
            reason=decision.reason + clamp_note(trigger),
            rules_version=ruleset.version,
        )
        ctx.db.set(ctx.keys("decision", delivery), action.model_dump_json(), ex=DECISION_TTL_S)
        send_action(broker, action)
    except Backpressure as exc:
        raise dramatiq.Retry("waiting for API budget", delay=exc.delay_ms) from None
    except RateLimited as exc:  # a fact (approved leave) could not be read yet
        ctx.limiter.pause(exc.retry_after_s)
        raise dramatiq.Retry("rate limited", delay=int(exc.retry_after_s * 1000)) from None
    except Transient as exc:
        if _retries() + 1 < ctx.settings.max_attempts:
            delay = min(ctx.settings.max_backoff_s * 1000, 1000 * 2 ** _retries())
            raise dramatiq.Retry("a fact could not be read", delay=_jitter(delay)) from None
        # never guess: clocking in someone on approved leave costs money
        record(Result.FAILED, f"could not read the facts the rules need (leave): {exc}")
    except redis.RedisError:
        raise  # not the trigger's fault: retried once Redis answers
    except Exception as exc:
        log.exception("evaluation failed")
        record(Result.FAILED, f"evaluation failed: {type(exc).__name__}: {exc}")


def _why_not(decision: Decision) -> str:
    """The decision's summary plus each relevant rule's reason (:meth:`Decision.why_not`)."""
    return decision.why_not()


class _Apply:
    """One delivery of one action, from the guards to the recorded outcome."""

    def __init__(self, ctx: Context, action: Action) -> None:
        self.ctx = ctx
        self.action = action
        self.status: int | None = None
        self.latency_ms: float | None = None
        self.api_message: str | None = None

    def run(self) -> None:
        ctx, action = self.ctx, self.action
        if self.already_done():
            return
        token = ctx.locks.acquire(action.person)
        if token is None:
            raise dramatiq.Retry("person busy", delay=_jitter(LOCK_RETRY_MS))
        try:
            self.guarded()
        finally:
            ctx.locks.release(action.person, token)

    def already_done(self) -> bool:
        """Record the outcome of an action that already ended; False if it has not.

        Another delivery of the same action is a ``duplicate``. This very delivery (it
        reached the result, then died before recording the outcome) records that result.
        """
        done = self.ctx.ledger.finished(self.action.key)
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
        ctx, action = self.ctx, self.action
        if self.already_done():
            return
        pending = ctx.ledger.pending(action.person)
        if pending is not None and pending != action.key:
            # An earlier action of this person was interrupted mid-call (its worker died, or
            # a transient error): its effect is unknown until it is redelivered and resolved.
            raise dramatiq.Retry(
                "an interrupted action of this person is pending", delay=_jitter(PENDING_RETRY_MS)
            )
        in_flight = ctx.ledger.in_flight(action.key)
        if not in_flight and self.expired():
            return
        last = ctx.ledger.last_applied(action.person)
        if not in_flight and last is not None and action.trigger.occurred_at < last:
            self.finish(
                Result.SUPERSEDED, f"a newer trigger ({last.isoformat()}) was already applied"
            )
            return
        known = None if in_flight else ctx.state.get(action.person)
        if known is not None:
            want = action.verb is Verb.START
            if known.tracking == want:
                result = Result.ALREADY_TRACKING if want else Result.NOT_TRACKING
                self.finish(
                    result,
                    f"known state from {known.source} at "
                    f"{known.at.isoformat()}; no API call needed",
                    refresh_state=False,  # a cached answer must not extend its own life
                )
                return
        try:
            self.call()
        except Backpressure as exc:
            raise dramatiq.Retry("waiting for API budget", delay=exc.delay_ms) from None
        except RateLimited as exc:
            ctx.ledger.not_in_flight(action.key, action.person)  # a 429 applied nothing
            ctx.limiter.pause(exc.retry_after_s)
            raise dramatiq.Retry("rate limited", delay=int(exc.retry_after_s * 1000)) from None
        except AlreadyTracking as exc:
            self.note(exc)
            self.finish(Result.ALREADY_TRACKING, f"WebWork: already tracking ({exc})")
        except NotTracking as exc:
            self.note(exc)
            self.finish(Result.NOT_TRACKING, f"WebWork: nothing running ({exc})")
        except Transient as exc:
            self.note(exc)
            self.transient(exc)
        except (Unauthorized, Forbidden) as exc:
            self.note(exc)
            self.fail(Result.FAILED, f"WebWork refused the token: {exc}")
        except Rejected as exc:
            self.note(exc)
            self.fail(Result.REJECTED, f"WebWork rejected the request: {exc}")
        except WebWorkError as exc:
            self.note(exc)
            self.fail(Result.FAILED, str(exc))
        except redis.RedisError:
            raise  # not the action's fault: retried once Redis answers
        except Exception as exc:
            log.exception("apply failed")
            self.fail(Result.FAILED, f"{type(exc).__name__}: {exc}")

    def call(self) -> None:
        ctx, action = self.ctx, self.action
        person = ctx.ruleset.directory.by_email(action.person)
        user_id = action.user_id
        if user_id is None and person is not None:
            user_id = ctx.user_id(person)
        elif user_id is None:
            user_id = ctx.state.user_id(action.person)
        if user_id is None:
            self.fail(Result.REJECTED, f"no WebWork member has the email {action.person}")
            return
        workspace = ctx.workspace_id()
        if ctx.ledger.in_flight(action.key):
            try:
                if self.landed(workspace, user_id):
                    return
            except Transient:
                ctx.ledger.next_attempt(action.key)  # bounded like the calls themselves
                raise
            if self.expired():
                return
            # current-data shows the earlier attempt did not take effect: call afresh (and
            # if there is no budget for it now, the retry must not ask current-data again)
            ctx.ledger.not_in_flight(action.key, action.person)
        ctx.budget.prepay()
        try:
            ctx.state.forget(action.person)  # unknown until this call's result is recorded
            ctx.ledger.mark_in_flight(action.key, action.person)
            ctx.ledger.next_attempt(action.key)
            if action.verb is Verb.START:
                reply = ctx.client.start(
                    workspace_id=workspace,
                    user_id=user_id,
                    contract_id=action.contract_id,
                    task_id=action.task_id,
                    description=action.description,
                )
                result = Result.STARTED
            else:
                reply = ctx.client.stop(workspace_id=workspace, user_id=user_id)
                result = Result.STOPPED
        finally:
            ctx.budget.cancel()
        self.status, self.latency_ms, self.api_message = (
            reply.status,
            reply.latency_ms,
            reply.message,
        )
        self.finish(result, action.reason or f"rule {action.rule}")

    def expired(self) -> bool:
        """Past the rule's deadline: record ``expired`` and return True."""
        now = self.ctx.clock()
        if self.action.deadline is None or now <= self.action.deadline:
            return False
        late = (now - self.action.trigger.occurred_at).total_seconds()
        self.finish(
            Result.EXPIRED, f"{late:.0f}s after the trigger, past the rule's deadline; not applied"
        )
        return True

    def landed(self, workspace: int, user_id: int) -> bool:
        """After a crash mid-call: did the earlier attempt take effect? (current-data)"""
        current = self.ctx.client.current(workspace_id=workspace, user_id=user_id)
        tracking = current is not None
        if tracking == (self.action.verb is Verb.START):
            result = Result.STARTED if tracking else Result.STOPPED
            self.finish(
                result, "an earlier attempt was interrupted; current-data shows it took effect"
            )
            return True
        return False

    def transient(self, exc: Transient) -> None:
        ctx, action = self.ctx, self.action
        attempts = ctx.ledger.attempts(action.key)
        if attempts >= ctx.settings.max_attempts:
            self.fail(Result.FAILED, f"gave up after {attempts} attempts: {exc}")
            return
        backoff_ms = min(ctx.settings.max_backoff_s * 1000, 1000 * 2 ** (attempts - 1))
        log.warning(
            "transient API error, will retry",
            error=str(exc),
            attempts=attempts,
            delay_ms=backoff_ms,
        )
        raise dramatiq.Retry("transient API error", delay=_jitter(backoff_ms))

    def note(self, exc: WebWorkError) -> None:
        self.status, self.latency_ms, self.api_message = exc.status, exc.latency_ms, exc.api_message

    def fail(self, result: Result, reason: str) -> None:
        """A final failure: ledger cleared (a replay may apply), a dead letter, the outcome."""
        attempts = self.ctx.ledger.attempts(self.action.key)
        self.ctx.ledger.clear(self.action.key, self.action.person)
        self.ctx.dead_letters.add(self.action, result, reason)
        self.record(result, reason, attempts=attempts)

    def finish(
        self, result: Result, reason: str, *, ledger: bool = True, refresh_state: bool = True
    ) -> None:
        ctx, action = self.ctx, self.action
        tracking = TRACKING_AFTER.get(result)
        # The known state first: a crash before the ledger's final mark leaves it in flight,
        # and the redelivery confirms through current-data (never a stale known state).
        if tracking is not None and refresh_state:
            ctx.state.set(action.person, tracking=tracking, at=ctx.clock(), source="autoclock")
        if ledger:
            applied_at = action.trigger.occurred_at if tracking is not None else None
            ctx.ledger.finish(action.key, result, action.person, applied_at, action.delivery_id)
        self.record(result, reason)

    def record(self, result: Result, reason: str, *, attempts: int | None = None) -> None:
        if attempts is None:
            attempts = self.ctx.ledger.attempts(self.action.key)
        self.ctx.outcomes.record(
            Outcome.for_action(
                self.action,
                result,
                reason,
                http_status=self.status,
                latency_ms=self.latency_ms,
                attempts=attempts,
                api_message=self.api_message,
            )
        )
