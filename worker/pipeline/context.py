"""Everything the actors need, built once per process from the settings."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import redis
from dramatiq.middleware import CurrentMessage

from worker.errors import Backpressure, ConfigError, RateLimited, Transient, WebWorkError
from worker.logs import get_logger
from worker.metrics.process import process_metrics
from worker.models import utcnow
from worker.pipeline.dlq import DeadLetters
from worker.pipeline.ledger import Ledger, PersonLock
from worker.pipeline.limiter import SHORT_WAIT_MS, RateLimiter
from worker.pipeline.outcomes import OutcomeLog
from worker.pipeline.pauses import PauseStore
from worker.pipeline.state import TrackerState
from worker.rules.directory import Person
from worker.rules.facts import HolidayFacts
from worker.rules.ruleset import Ruleset
from worker.settings import Settings
from worker.store import Keys
from worker.webwork.client import WebWorkClient
from worker.webwork.models import Leave

__all__ = ["CONFIRM_WAIT_MS", "ApiFacts", "Budget", "Context"]

log = get_logger(__name__)

#: Most API calls one action makes while holding its person's lock: workspaces, members,
#: current-data, the start/stop itself and the current-data confirm of a conflict.
CALLS_PER_ACTION = 5
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

    :meth:`prepay` takes the slot *before* a call whose start must be recorded first (the
    action ledger's in-flight mark), so waiting for budget never leaves a false in-flight
    mark behind; the next request then uses the prepaid slot.
    """

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self.local = threading.local()

    def __call__(self) -> None:
        if getattr(self.local, "prepaid", False):
            self.local.prepaid = False
            return
        self.limiter.acquire(budget_holder())

    def prepay(self, *, max_sleep_ms: int = SHORT_WAIT_MS) -> None:
        """Take a slot now, sleeping up to ``max_sleep_ms`` for it in place (or raise
        :class:`Backpressure`, the slot reserved for this message); the next request uses it."""
        self.local.prepaid = False
        self.limiter.acquire(budget_holder(), max_sleep_ms=max_sleep_ms)
        self.local.prepaid = True

    def cancel(self) -> None:
        self.local.prepaid = False


@dataclass
class Context:
    """Settings, Redis, rules and the WebWork client, shared by every actor thread."""

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
    clock: Callable[[], datetime] = utcnow
    """The pipeline's notion of now (the demo runs a scripted day on a shifted clock)."""
    facts: ApiFacts = field(init=False)
    pauses: PauseStore = field(init=False)
    _workspace_id: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.facts = ApiFacts(self)
        self.pauses = PauseStore(self.db, self.keys)

    @classmethod
    def build(
        cls,
        settings: Settings,
        client: redis.Redis,
        ruleset: Ruleset,
        *,
        webwork: WebWorkClient | None = None,
    ) -> Context:
        """Wire the parts; the WebWork client asks the shared limiter before every call."""
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
            dead_letters=DeadLetters(client, keys),
            budget=budget,
        )

    def workspace_id(self) -> int:
        """``WEBWORK_WORKSPACE_ID``, or the token's only workspace (asked once)."""
        if self._workspace_id is None:
            if self.settings.webwork_workspace_id is not None:
                self._workspace_id = self.settings.webwork_workspace_id
            else:
                spaces = self.client.workspaces()
                if len(spaces) != 1:
                    raise ConfigError(
                        f"the token sees {len(spaces)} workspaces: set WEBWORK_WORKSPACE_ID"
                    )
                self._workspace_id = spaces[0].id
        return self._workspace_id

    def user_id(self, person: Person) -> int | None:
        """The person's WebWork user id: from the directory, the cache, or GET /members once."""
        if person.user_id is not None:
            return person.user_id
        cached = self.state.user_id(person.email)
        if cached is not None:
            return cached
        member = self.client.find_member(workspace_id=self.workspace_id(), email=person.email)
        if member is None:
            return None
        self.state.remember_user_id(person.email, member.id)
        return member.id


class ApiFacts:
    """Facts for rule evaluation: holidays offline, leave from WebWork (cached per person per
    day), tracking from the known state."""

    #: How long a leave answer is cached.
    LEAVE_CACHE = timedelta(hours=6)

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.holidays = HolidayFacts()

    def holiday(self, person: Person, day: date) -> str | None:
        return self.holidays.holiday(person, day)

    def tracking(self, person: Person) -> bool | None:
        known = self.ctx.state.get(person.email)
        return None if known is None else known.tracking

    def on_leave(self, person: Person, day: date) -> bool | None:
        key = self.ctx.keys("leave", person.email, day.isoformat())
        cached = self.ctx.db.get(key)
        if cached is not None:
            return cached in (b"1", "1")
        try:
            user_id = self.ctx.user_id(person)
            if user_id is None:
                return None
            leaves = self.ctx.client.leaves(
                workspace_id=self.ctx.workspace_id(),
                user_id=user_id,
                status="approved",
                date_from=day,
                date_to=day,
            )
        except (Backpressure, RateLimited, Transient):
            raise  # retried by the evaluation: an API blip must not read as "not on leave"
        except WebWorkError as exc:
            log.warning("leave lookup failed", person=person.email, error=str(exc))
            return None
        on_leave = any(_full_day(leave, day) for leave in leaves)
        self.ctx.db.set(key, "1" if on_leave else "0", ex=int(self.LEAVE_CACHE.total_seconds()))
        return on_leave


def _full_day(leave: Leave, day: date) -> bool:
    """An approved leave covering ``day`` that is not a half day (``leave_period`` 1 or 2)."""
    start = leave.start_date
    end = leave.end_date or start
    if start is None or end is None or not (start <= day <= end):
        return False
    return leave.leave_period in (0, None)
