"""Everything the actors need, built once per process from the settings."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis
from dramatiq.middleware import CurrentMessage

from worker.clock import Clock, utcnow
from worker.errors import ConfigError
from worker.metrics.process import process_metrics
from worker.pipeline.atomic import Atomic
from worker.pipeline.dlq import DeadLetters
from worker.pipeline.facts import ApiFacts
from worker.pipeline.identity import Identity
from worker.pipeline.ledger import Ledger, PersonLock
from worker.pipeline.limiter import RateLimiter
from worker.pipeline.outcomes import OutcomeLog
from worker.pipeline.pauses import PauseStore
from worker.pipeline.state import TrackerState
from worker.rules.ruleset import Ruleset
from worker.settings import Settings
from worker.store import Keys
from worker.webwork.client import WebWorkClient

__all__ = ["CONFIRM_WAIT_MS", "Budget", "Context"]

#: Most API calls one action makes while holding its person's lock: the leave lookup of its
#: evaluation (the fast path evaluates under the lock), workspaces, members, current-data,
#: the start/stop itself and the current-data confirm of a conflict.
CALLS_PER_ACTION = 6
#: The per-person lock outlives the longest critical section (every call at the timeout).
LOCK_MARGIN_MS = 5_000
#: How long an action waits in place for the slot of the current-data call that confirms a
#: refusal (60 rpm: about 1 s); longer waits re-enqueue it with the refusal remembered.
CONFIRM_WAIT_MS = 5_000


def budget_holder() -> str:
    """Who is asking for API budget: the current Dramatiq message, else this thread."""
    message = CurrentMessage.get_current_message()
    if message is not None:
        return str(message.message_id)
    return f"thread-{threading.get_ident()}-{uuid.getnode()}"


class Budget:
    """The WebWork client's ``before_request`` hook: one slot of the shared budget per call.

    :meth:`Atomic.prepare` takes the slot *before* a call whose start must be recorded first
    (the action ledger's in-flight mark), so waiting for budget never leaves a false in-flight
    mark behind; :meth:`paid` then lets the next request use it.
    """

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self.local = threading.local()

    def __call__(self) -> None:
        if getattr(self.local, "prepaid", False):
            self.local.prepaid = False
            return
        self.limiter.acquire(getattr(self.local, "holder", None) or budget_holder())

    @contextmanager
    def held_by(self, holder: str) -> Iterator[None]:
        """Calls in the block reserve budget as ``holder`` (an action's key), so a slot an
        action reserved is its own when it comes back as another message."""
        previous = getattr(self.local, "holder", None)
        self.local.holder = holder
        try:
            yield
        finally:
            self.local.holder = previous

    def paid(self) -> None:
        """A slot was taken for the next request by other means (:meth:`Atomic.prepare`)."""
        self.local.prepaid = True

    def cancel(self) -> None:
        self.local.prepaid = False


@dataclass
class Context:
    """Settings, Redis, rules, the WebWork client and the stores, shared by every actor thread.

    Who a person is in WebWork (:class:`~worker.pipeline.identity.Identity`) and the facts
    rules ask for (:class:`~worker.pipeline.facts.ApiFacts`) live in modules of their own;
    the context holds one of each, built from its stores.
    """

    settings: Settings
    db: redis.Redis
    keys: Keys
    ruleset: Ruleset
    client: WebWorkClient
    outcomes: OutcomeLog
    state: TrackerState
    ledger: Ledger
    locks: PersonLock
    limiter: RateLimiter
    dead_letters: DeadLetters
    budget: Budget
    clock: Clock = utcnow
    """The pipeline's notion of now (the demo passes a shifted clock to run a scripted day)."""
    identity: Identity = field(init=False)
    facts: ApiFacts = field(init=False)
    pauses: PauseStore = field(init=False)
    atomic: Atomic = field(init=False)

    def __post_init__(self) -> None:
        self.identity = Identity(self.settings, self.client, self.state)
        self.facts = ApiFacts(self.db, self.keys, self.client, self.state, self.identity)
        self.pauses = PauseStore(self.db, self.keys)
        self.atomic = Atomic(
            self.db,
            self.keys,
            ledger=self.ledger,
            state=self.state,
            outcomes=self.outcomes,
            limiter=self.limiter,
            locks=self.locks,
        )

    @classmethod
    def build(
        cls,
        settings: Settings,
        client: redis.Redis,
        ruleset: Ruleset,
        *,
        webwork: WebWorkClient | None = None,
        clock: Clock = utcnow,
    ) -> Context:
        """Wire the parts; the WebWork client asks the shared limiter before every call, and
        every part that reads "now" reads ``clock``."""
        keys = Keys(settings.namespace)
        limiter = RateLimiter(client, keys, rpm=settings.webwork_rpm, burst=settings.webwork_burst)
        budget = Budget(limiter)
        if webwork is None:
            if settings.webwork_token is None:
                raise ConfigError("WEBWORK_TOKEN is not set: the worker cannot call WebWork")
            webwork = WebWorkClient.from_settings(
                settings,
                before_request=budget,
                observer=process_metrics().webwork_request,
            )
        lock_ttl = (
            int(settings.webwork_timeout_s * CALLS_PER_ACTION * 1000)
            + CONFIRM_WAIT_MS
            + LOCK_MARGIN_MS
        )
        return cls(
            settings=settings,
            db=client,
            keys=keys,
            ruleset=ruleset,
            client=webwork,
            outcomes=OutcomeLog(client, keys, maxlen=settings.history_maxlen),
            state=TrackerState(client, keys, ttl_s=settings.known_state_ttl_s),
            ledger=Ledger(client, keys, ttl_s=settings.dedupe_ttl_s),
            locks=PersonLock(client, keys, ttl_ms=lock_ttl),
            limiter=limiter,
            dead_letters=DeadLetters(client, keys, clock=clock),
            budget=budget,
            clock=clock,
        )
