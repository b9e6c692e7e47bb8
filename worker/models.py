"""The vocabulary: what flows from a source through the queues to an outcome.

A :class:`Trigger` (one signal about one subject) is evaluated against the rules into at most
one :class:`Action` (start or stop one person's tracker), and every trigger delivery ends in
exactly one :class:`Outcome`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from worker.clock import utcnow  # the system clock; re-exported for the models' defaults

__all__ = [
    "CLAMPED_FROM",
    "Action",
    "Outcome",
    "Result",
    "Trigger",
    "TriggerKind",
    "Verb",
    "ZoneName",
    "check_zone",
    "clamp_future",
    "clamp_note",
    "utcnow",
]


def check_zone(value: str) -> str:
    """``value`` when it names an IANA time zone; ``ValueError`` naming it otherwise. The one
    zone check of the settings (``AUTOCLOCK_TIMEZONE``) and the rules files."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


#: A pydantic field type: an IANA time zone name, checked by :func:`check_zone`.
ZoneName = Annotated[str, AfterValidator(check_zone)]


class TriggerKind(StrEnum):
    """What happened."""

    BADGE_IN = "badge_in"
    BADGE_OUT = "badge_out"
    BADGE_SCAN = "badge_scan"  # a scan at a door whose direction is not known
    SHIFT_START = "shift_start"
    SHIFT_END = "shift_end"
    TICK = "tick"  # a scheduled time, e.g. end of day


class Verb(StrEnum):
    START = "start"
    STOP = "stop"


class Result(StrEnum):
    """How one trigger delivery ended."""

    STARTED = "started"
    STOPPED = "stopped"
    ALREADY_TRACKING = "already_tracking"
    NOT_TRACKING = "not_tracking"
    SUPERSEDED = "superseded"
    DUPLICATE = "duplicate"
    EXPIRED = "expired"
    NO_RULE = "no_rule"
    UNKNOWN_PERSON = "unknown_person"
    REJECTED = "rejected"
    FAILED = "failed"
    MISSED = "missed"  # a scheduled fire older than the catch-up grace window
    PAUSED = "paused"  # automation was paused for the person (autoclock pause, rules closures)


#: Results after which the person's tracker is known to be running / idle.
TRACKING_AFTER = {
    Result.STARTED: True,
    Result.ALREADY_TRACKING: True,
    Result.STOPPED: False,
    Result.NOT_TRACKING: False,
}


class Trigger(BaseModel):
    """One signal about one subject, from one source.

    ``id`` is the idempotency key: stable across redeliveries and re-polls (a vendor's event
    id, a calendar occurrence, a schedule fire). ``subject`` is an email, a badge/card id, a
    vendor user id or a WebWork user id; the people directory resolves it.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=512)
    source: str = Field(min_length=1, max_length=200)
    kind: TriggerKind
    subject: str = Field(min_length=1, max_length=320)
    occurred_at: AwareDatetime
    received_at: AwareDatetime = Field(default_factory=utcnow)
    attributes: dict[str, str] = Field(default_factory=dict)
    late: bool = False
    """Set by the scheduler's catch-up: the fire time passed while it was down."""


#: Attribute of a trigger whose time was clamped: the time its sender claimed (ISO 8601).
CLAMPED_FROM = "clamped_from"


def clamp_future(trigger: Trigger, *, now: datetime, allowance: timedelta) -> Trigger:
    """The clock-skew rule, for every source: a trigger may not be from the future.

    A time more than ``allowance`` after the trigger's receipt (or after ``now``, whichever
    is earlier) is a sender's clock running fast. Such a trigger is kept — the event did
    happen, just not then — but moved to that reference time and marked with
    ``attributes["clamped_from"]`` (the claimed time), so it is ordered by when it reached
    autoclock and can never make later real events ``superseded``.
    """
    reference = min(trigger.received_at, now)
    if trigger.occurred_at <= reference + allowance:
        return trigger
    return trigger.model_copy(
        update={
            "occurred_at": reference,
            "attributes": {**trigger.attributes, CLAMPED_FROM: trigger.occurred_at.isoformat()},
        }
    )


def clamp_note(trigger: Trigger) -> str:
    """`` (time clamped: …)`` for a clamped trigger's outcome reasons, else empty."""
    claimed = trigger.attributes.get(CLAMPED_FROM)
    if not claimed:
        return ""
    return (
        f" (its time {claimed} was ahead of its receipt; clamped to "
        f"{trigger.occurred_at.isoformat()})"
    )


class Action(BaseModel):
    """A decision to start or stop one person's tracker, made by one rule for one trigger."""

    model_config = ConfigDict(frozen=True)

    trigger: Trigger
    delivery_id: str
    """The Dramatiq message id of the trigger's evaluation: one outcome is recorded per delivery."""
    person: str
    """The person's email, lower-case: the key of per-person ordering and locking."""
    user_id: int | None = None
    verb: Verb
    rule: str
    contract_id: int | None = None
    task_id: int | None = None
    description: str | None = None
    deadline: AwareDatetime | None = None
    reason: str = ""
    rules_version: str | None = None
    """The content hash of the rules that decided this action."""

    @property
    def key(self) -> str:
        """Stable idempotency key: one trigger and one person make at most one action, so the
        verb is deliberately not part of it (a second decision is a duplicate, not an effect).
        """
        return self.key_of(self.trigger.id, self.person)

    @staticmethod
    def key_of(trigger_id: str, person: str) -> str:
        """:attr:`key` of the action of ``person`` for ``trigger_id``."""
        raw = f"{trigger_id}\x1f{person}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


class Outcome(BaseModel):
    """How one trigger delivery ended, with everything needed to explain it."""

    model_config = ConfigDict(frozen=True)

    result: Result
    reason: str
    trigger_id: str
    delivery_id: str
    source: str
    kind: TriggerKind
    subject: str
    occurred_at: AwareDatetime
    person: str | None = None
    verb: Verb | None = None
    rule: str | None = None
    http_status: int | None = None
    latency_ms: float | None = None
    attempts: int = 0
    api_message: str | None = None
    rules_version: str | None = None
    """The content hash of the rules that decided (``None``: no rules were consulted)."""
    recorded_at: AwareDatetime = Field(default_factory=utcnow)

    @classmethod
    def for_trigger(
        cls, trigger: Trigger, delivery_id: str, result: Result, reason: str, **extra: Any
    ) -> Outcome:
        return cls(
            result=result,
            reason=reason,
            trigger_id=trigger.id,
            delivery_id=delivery_id,
            source=trigger.source,
            kind=trigger.kind,
            subject=trigger.subject,
            occurred_at=trigger.occurred_at,
            **extra,
        )

    @classmethod
    def for_action(cls, action: Action, result: Result, reason: str, **extra: Any) -> Outcome:
        return cls.for_trigger(
            action.trigger,
            action.delivery_id,
            result,
            reason,
            person=action.person,
            verb=action.verb,
            rule=action.rule,
            rules_version=action.rules_version,
            **extra,
        )
