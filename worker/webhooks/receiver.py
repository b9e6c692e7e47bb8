"""The decision for one webhook delivery, from raw bytes to an answer (status + JSON body).

Blocking (Redis and the broker are synchronous): the ASGI app runs :meth:`Receiver.handle`
in a worker thread. The order of work for a presence scan:

verify + parse (adapter) → door configured? → claim the event id(s) → direction and
debounce → enqueue the trigger → commit the claim → **202**.

A duplicate (claim already committed) is answered 200 with no new trigger. Anything that
cannot reach Redis is answered 503 with ``Retry-After``, and the claim is released so the
vendor's retry goes through: a 2xx is never given for a trigger that was not enqueued.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import redis
from pydantic import ValidationError

from worker.errors import QueueUnavailable
from worker.logs import get_logger
from worker.metrics.process import process_metrics
from worker.models import Trigger, TriggerKind
from worker.numbers import ascii_int
from worker.pipeline.broker import TriggerQueue
from worker.pipeline.state import TrackerState
from worker.rules.schema import SourcesFile, WebhookSource
from worker.settings import Settings, webhook_secret_env
from worker.store import Keys, fail_fast
from worker.webhooks.adapters import ADAPTERS
from worker.webhooks.dedupe import Claim, ClaimState, Dedupe
from worker.webhooks.direction import DirectionPolicy, door_direction
from worker.webhooks.events import Delivery, Ignored, Reject, Scan, TrackerChange
from worker.webhooks.ingress import IngressEntry, IngressLog

__all__ = [
    "RETRY_AFTER_S",
    "Answer",
    "DirectoryLike",
    "PersonLike",
    "Receiver",
    "fail_fast",
    "scan_trigger",
]

log = get_logger(__name__)

#: Seconds a sender is asked to wait after a 503.
RETRY_AFTER_S = 5
_REDIS_ERRORS = (redis.RedisError, OSError)


class PersonLike(Protocol):
    """What the receiver needs of a person from the people directory."""

    @property
    def email(self) -> str: ...


class DirectoryLike(Protocol):
    """The people directory: subject (email, badge, vendor id) → person."""

    def resolve(self, subject: str, *, source: str | None = None) -> Any: ...


@dataclass(frozen=True)
class Answer:
    """The HTTP answer: status, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """Turns deliveries into triggers (or tracker state), recording every decision."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: redis.Redis,
        keys: Keys,
        sources: SourcesFile,
        queue: TriggerQueue,
        directory: DirectoryLike | None = None,
        secrets: Callable[[str], list[str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.sources = {s.name: s for s in sources.webhooks}
        self.directory = directory
        self.queue = queue
        self.clock = clock
        self._secrets = secrets or (
            lambda name: [s.get_secret_value() for s in settings.webhook_secrets(name)]
        )
        client = fail_fast(client)
        self.client = client
        self.dedupe = Dedupe(client, keys, ttl_s=settings.dedupe_ttl_s)
        self.policy = DirectionPolicy(client, keys, default_zone=settings.timezone)
        self.state = TrackerState(client, keys, ttl_s=settings.known_state_ttl_s)
        self.ingress = IngressLog(client, keys)
        self.metrics = process_metrics()
        self.metrics.webhook_sources(self.sources)

    def source(self, name: str) -> WebhookSource | None:
        return self.sources.get(name)

    def use_rules(self, sources: SourcesFile, directory: DirectoryLike | None) -> None:
        """Serve reloaded rules: each attribute is replaced in one assignment (hot reload)."""
        self.directory = directory
        self.sources = {s.name: s for s in sources.webhooks}

    def secrets_for(self, name: str) -> list[str]:
        return self._secrets(name)

    # ------------------------------------------------------------------ entry points

    def reject(self, status: int, reason: str, source: str, **extra: str) -> Answer:
        """Record and answer a refusal made before the adapter ran (404/413/415/400)."""
        self.ingress.record(IngressEntry("rejected", status, reason, source, at=self.clock()))
        self.metrics.webhook_request(source if source in self.sources else None, "rejected", status)
        return Answer(status, {"error": reason}, dict(extra))

    def handle(self, source: WebhookSource, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Verify, parse and act on one delivery to ``source``."""
        now = self.clock()
        delivery = Delivery(
            body=body,
            headers={k.lower(): v for k, v in headers.items()},
            secrets=self.secrets_for(source.name),
            source=source.name,
            allow_unsigned=source.allow_unsigned,
            now=now,
            tolerance_s=self.settings.webhook_tolerance_s,
            secret_env=webhook_secret_env(source.name),
            spec=source,
        )
        try:
            try:
                parsed = ADAPTERS[source.vendor](delivery)
            except Reject as exc:
                return self._answer(now, source, "rejected", exc.status, exc.reason)
            if isinstance(parsed, Ignored):
                return self._answer(now, source, "ignored", 200, parsed.reason, parsed.event_id)
            if isinstance(parsed, TrackerChange):
                return self._tracker(now, source, parsed)
            return self._scan(now, source, parsed)
        except Exception as exc:  # a bug, not the sender's fault: still one recorded answer
            log.exception("webhook.internal_error", source=source.name)
            reason = f"internal error ({type(exc).__name__}); the delivery was not processed"
            return self._answer(now, source, "error", 500, reason)

    # ------------------------------------------------------------------ scans

    def _scan(self, now: float, source: WebhookSource, scan: Scan) -> Answer:
        door, why = door_direction(source, scan)
        if door is None:
            return self._answer(now, source, "ignored", 200, why, scan.event_id)
        person = self._resolve(scan.subject, source.name)
        person_key = self._person_key(source, scan, person)
        try:
            claim = self.dedupe.claim(source.name, [scan.event_id, *scan.extra_ids])
        except _REDIS_ERRORS as exc:
            return self._unavailable(now, source, scan.event_id, exc)
        if claim.state is ClaimState.DUPLICATE:
            return self._answer(
                now, source, "duplicate", 200, "event already received", scan.event_id
            )
        if claim.state is ClaimState.IN_FLIGHT:
            return self._answer(
                now,
                source,
                "unavailable",
                503,
                "the same event is being processed; retry",
                scan.event_id,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        try:
            return self._claimed(now, source, scan, claim, person, person_key)
        except BaseException:
            # whatever went wrong, a pending claim must not turn the vendor's retries into 503s
            self.dedupe.release(claim)
            raise

    def _claimed(
        self,
        now: float,
        source: WebhookSource,
        scan: Scan,
        claim: Claim,
        person: PersonLike | None,
        person_key: str,
    ) -> Answer:
        """The rest of a scan once its ids are claimed: direction, trigger, enqueue, commit."""
        try:
            decision = self.policy.decide(
                source, scan, person_key=person_key, zone=_person_zone(person)
            )
        except _REDIS_ERRORS as exc:
            self.dedupe.release(claim)
            return self._unavailable(now, source, scan.event_id, exc)
        if decision.kind is None:
            self._commit(claim)
            return self._answer(now, source, "ignored", 200, decision.reason, scan.event_id)
        try:
            trigger = scan_trigger(
                source,
                scan,
                decision.kind,
                decision.reason,
                person.email if person is not None else None,
                now,
            )
        except ValidationError as exc:
            self.dedupe.release(claim)
            reason = "; ".join(str(e["msg"]) for e in exc.errors())
            return self._answer(now, source, "rejected", 400, f"invalid event: {reason}")
        try:
            self.queue.enqueue(trigger)
        except QueueUnavailable as exc:
            self.dedupe.release(claim)
            return self._unavailable(now, source, scan.event_id, exc)
        self._commit(claim)
        return self._answer(
            now,
            source,
            "accepted",
            202,
            decision.reason,
            scan.event_id,
            trigger_id=trigger.id,
            kind=trigger.kind.value,
            subject=trigger.subject,
        )

    def _commit(self, claim: Any) -> None:
        try:
            self.dedupe.commit(claim)
        except _REDIS_ERRORS:
            # The work is done; the pending claim expires on its own and the pipeline's
            # ledger drops a re-enqueued trigger with the same id.
            log.warning("webhook.commit_failed")

    def _resolve(self, subject: str, source: str) -> PersonLike | None:
        if self.directory is None:
            return None
        person = self.directory.resolve(subject, source=source)
        return (
            person
            if person is not None and isinstance(getattr(person, "email", None), str)
            else None
        )

    @staticmethod
    def _person_key(source: WebhookSource, scan: Scan, person: PersonLike | None) -> str:
        if person is not None:
            return person.email.lower()
        if scan.subject_kind == "email":
            return scan.subject.lower()
        return f"{source.name}/{scan.subject_kind}/{scan.subject}"

    # ------------------------------------------------------------------ WebWork

    def _tracker(self, now: float, source: WebhookSource, change: TrackerChange) -> Answer:
        event = "tracker.started" if change.tracking else "tracker.stopped"
        try:
            email = self._tracker_email(change)
            if email is None:
                return self._answer(
                    now,
                    source,
                    "ignored",
                    200,
                    f"{event}: unknown WebWork user id {change.user_id}",
                    change.event_id,
                )
            if not change.timed:
                # no event time: it cannot be ordered against what we know, so the known
                # state is dropped (the next action asks WebWork) rather than overwritten
                self.state.forget(email)
                return self._answer(
                    now,
                    source,
                    "recorded",
                    200,
                    f"{event} without an event time: known state of {email} cleared",
                    change.event_id,
                )
            at = change.at or datetime.fromtimestamp(now, UTC)
            known = self.state.get(email)
            if known is not None and known.at > at:
                return self._answer(
                    now,
                    source,
                    "ignored",
                    200,
                    f"{event} at {at.isoformat()} is older than the known state",
                    change.event_id,
                )
            self.state.set(email, tracking=change.tracking, at=at, source="webwork")
        except _REDIS_ERRORS as exc:
            return self._unavailable(now, source, change.event_id, exc)
        return self._answer(
            now,
            source,
            "recorded",
            200,
            f"{event}: {email} is " + ("tracking" if change.tracking else "not tracking"),
            change.event_id,
            subject=email,
        )

    def _tracker_email(self, change: TrackerChange) -> str | None:
        if change.email and "@" in change.email:
            return change.email.lower()
        if change.user_id is None:
            return None
        person = self._resolve(change.user_id, "webwork")
        if person is not None:
            return person.email.lower()
        user_id = ascii_int(change.user_id)
        return None if user_id is None else self.state.email_for_user_id(user_id)

    # ------------------------------------------------------------------ answers

    def _unavailable(
        self, now: float, source: WebhookSource, event_id: str | None, exc: BaseException
    ) -> Answer:
        reason = f"queue unavailable ({type(exc).__name__}); retry later"
        return self._answer(
            now,
            source,
            "unavailable",
            503,
            reason,
            event_id,
            headers={"Retry-After": str(RETRY_AFTER_S)},
            stream=False,  # Redis just failed: the log line is the record, answer at once
        )

    def _answer(
        self,
        now: float,
        source: WebhookSource,
        decision: str,
        status: int,
        reason: str,
        event_id: str | None = None,
        *,
        trigger_id: str = "",
        kind: str = "",
        subject: str = "",
        headers: dict[str, str] | None = None,
        stream: bool = True,
    ) -> Answer:
        self.ingress.record(
            IngressEntry(
                decision,
                status,
                reason,
                source.name,
                event_id or "",
                trigger_id,
                kind,
                subject,
                at=now,
            ),
            stream=stream,
        )
        self.metrics.webhook_request(source.name, decision, status)
        if status >= 400:
            return Answer(status, {"error": reason}, headers or {})
        body: dict[str, Any] = {"status": decision, "reason": reason}
        if event_id:
            body["event_id"] = event_id
        if trigger_id:
            body["trigger_id"] = trigger_id
            body["kind"] = kind
        return Answer(status, body, headers or {})


def scan_trigger(
    source: WebhookSource,
    scan: Scan,
    kind: TriggerKind,
    reason: str,
    person: str | None,
    now: float,
) -> Trigger:
    """The trigger a scan becomes (``webhooks try`` shows the same one); raises
    :class:`pydantic.ValidationError` for values a trigger cannot hold."""
    attributes = {
        "door": scan.door_name or scan.door_id or "",
        "door_id": scan.door_id or "",
        "vendor": source.vendor,
        "direction_reason": reason,
        "event_type": scan.event_type,
        "subject_kind": scan.subject_kind,
        "person": person.lower() if person is not None else "",
    }
    return Trigger(
        id=f"webhook:{source.name}:{scan.event_id}",
        source=f"webhook:{source.name}",
        kind=kind,
        subject=scan.subject,
        occurred_at=scan.occurred_at,
        received_at=datetime.fromtimestamp(now, UTC),
        attributes={k: v for k, v in attributes.items() if v},
    )


def _person_zone(person: object) -> str | None:
    for name in ("zone", "timezone"):
        value = getattr(person, name, None)
        if value is not None:
            return str(value)
    return None
