"""The decision for one webhook delivery, from raw bytes to an answer (status + JSON body).

Two paths with the same rules and answers. The **hot path** (:meth:`Receiver.handle_async`)
runs on the event loop: verify + parse (adapter) → door configured? → one atomic Redis
script (:mod:`.accept`: claim, direction, enqueue, commit, ingress entry) → **202**. The
**general path** (:meth:`Receiver.handle`) is blocking and runs in a worker thread: claim
the event id(s) → direction and debounce → enqueue the trigger → commit the claim → 202. It
serves what the script cannot: WebWork tracker changes, bodies over
:data:`INLINE_BODY_MAX` (parsed off the loop), a trigger the model refuses (answered as
before), and a queue whose ``enqueue`` is not the plain Redis one (:attr:`TriggerQueue.
scriptable`).

A duplicate (claim already committed) is answered 200 with no new trigger. Anything that
cannot reach Redis is answered 503 with ``Retry-After``, and nothing stays claimed (the
script ran whole or not at all; the general path releases its claim), so the vendor's retry
goes through: a 2xx is never given for a trigger that was not enqueued.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import redis
import redis.asyncio
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from worker.clock import Clock, utcnow
from worker.errors import QueueUnavailable
from worker.logs import get_logger
from worker.metrics.process import process_metrics
from worker.models import Trigger, TriggerKind
from worker.numbers import ascii_int
from worker.pipeline.broker import TriggerQueue
from worker.pipeline.state import TrackerState
from worker.rules.schema import SourcesFile, WebhookSource
from worker.settings import Settings, webhook_secret_env
from worker.store import (
    FAIL_FAST_TIMEOUT_S,
    Keys,
    async_connector,
    async_fail_fast,
    fail_fast,
    same_server,
)
from worker.webhooks.accept import ACCEPT_LUA, Entry, Variant, Verdict, accept
from worker.webhooks.adapters import ADAPTERS
from worker.webhooks.channel import ScriptChannel
from worker.webhooks.dedupe import Claim, ClaimState, Dedupe
from worker.webhooks.direction import DirectionInputs, DirectionPolicy, door_direction
from worker.webhooks.events import Delivery, Ignored, Reject, Scan, TrackerChange
from worker.webhooks.ingress import IngressEntry, IngressLog

__all__ = [
    "INLINE_BODY_MAX",
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

#: Bodies up to this many bytes are verified and parsed on the event loop (tens of
#: microseconds); a larger one is handled in a worker thread, so that parsing it does not
#: hold up the other requests.
INLINE_BODY_MAX = 64 * 1024

#: How many triggers whose script failed (its reply may have been lost) are remembered, so
#: that their retry is answered 202 (see :meth:`Receiver._settle`).
UNSETTLED_MAX = 10_000


@dataclass(frozen=True)
class _LoopRedis:
    """The asyncio Redis of one event loop: a client (ingress entries) and the accept
    script's pipelined channel."""

    client: redis.asyncio.Redis
    accept: ScriptChannel


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
        clock: Clock = utcnow,
    ) -> None:
        self.settings = settings
        self.sources = {s.name: s for s in sources.webhooks}
        self.directory = directory
        self.queue = queue
        self.clock = clock
        self._secrets = secrets or (
            lambda name: [s.get_secret_value() for s in settings.webhook_secrets(name)]
        )
        self._origin = client
        # the hot path writes the trigger itself, so only into the broker's own Redis, and
        # only when enqueue is the plain one (a subclass's must be called as it is)
        self.direct = queue.scriptable and same_server(client, queue.broker.client)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopRedis | None]
        self._loops = weakref.WeakKeyDictionary()
        self._unsettled: dict[str, dict[str, str]] = {}
        self._unsettled_lock = threading.Lock()
        client = fail_fast(client)
        self.client = client
        self.dedupe = Dedupe(client, keys, ttl_s=settings.dedupe_ttl_s)
        self.policy = DirectionPolicy(client, keys, default_zone=settings.timezone)
        self.state = TrackerState(client, keys, ttl_s=settings.known_state_ttl_s)
        self.ingress = IngressLog(client, keys)
        self.metrics = process_metrics()
        self.metrics.webhook_sources(self.sources)

    def unix_now(self) -> float:
        """The clock's now in Unix seconds, the unit of signed timestamps and ingress entries."""
        return self.clock().timestamp()

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
        self.ingress.record(IngressEntry("rejected", status, reason, source, at=self.unix_now()))
        self.metrics.webhook_request(source if source in self.sources else None, "rejected", status)
        return Answer(status, {"error": reason}, dict(extra))

    async def reject_async(self, status: int, reason: str, source: str, **extra: str) -> Answer:
        """:meth:`reject` on the event loop."""
        entry = IngressEntry("rejected", status, reason, source, at=self.unix_now())
        self.metrics.webhook_request(source if source in self.sources else None, "rejected", status)
        return await self._record_async(entry, Answer(status, {"error": reason}, dict(extra)))

    def _delivery(
        self, source: WebhookSource, body: bytes, headers: Mapping[str, str], now: float
    ) -> Delivery:
        return Delivery(
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

    async def handle_async(
        self, source: WebhookSource, body: bytes, headers: Mapping[str, str]
    ) -> Answer:
        """:meth:`handle` on the event loop: a scan in one Redis round trip, no thread; what
        the hot path does not serve (see the module docstring) goes to :meth:`handle`'s
        path in a worker thread."""
        if len(body) > INLINE_BODY_MAX or self._redis() is None:
            return await run_in_threadpool(self.handle, source, body, headers)
        now = self.unix_now()
        delivery = self._delivery(source, body, headers, now)
        try:
            try:
                parsed = ADAPTERS[source.vendor](delivery)
            except Reject as exc:
                return await self._record_async(
                    *self._decided(now, source, "rejected", exc.status, exc.reason)
                )
            if isinstance(parsed, Ignored):
                return await self._record_async(
                    *self._decided(now, source, "ignored", 200, parsed.reason, parsed.event_id)
                )
            if isinstance(parsed, TrackerChange):
                return await run_in_threadpool(self._tracker, now, source, parsed)
            if not self.direct:
                return await run_in_threadpool(self._scan, now, source, parsed)
            return await self._scan_async(now, source, parsed)
        except Exception as exc:  # a bug, not the sender's fault: still one recorded answer
            log.exception("webhook.internal_error", source=source.name)
            reason = f"internal error ({type(exc).__name__}); the delivery was not processed"
            return await self._record_async(*self._decided(now, source, "error", 500, reason))

    def handle(self, source: WebhookSource, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Verify, parse and act on one delivery to ``source`` (blocking: the general path)."""
        now = self.unix_now()
        delivery = self._delivery(source, body, headers, now)
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
            return self._record(*self._in_flight(now, source, scan))
        try:
            return self._claimed(now, source, scan, claim, person, person_key)
        except BaseException:
            # whatever went wrong, a pending claim must not turn the vendor's retries into 503s
            self.dedupe.release(claim)
            raise

    async def _scan_async(self, now: float, source: WebhookSource, scan: Scan) -> Answer:
        """A scan in one atomic script (:mod:`.accept`); the same answers as :meth:`_scan`."""
        door, why = door_direction(source, scan)
        if door is None:
            return await self._record_async(
                *self._decided(now, source, "ignored", 200, why, scan.event_id)
            )
        person = self._resolve(scan.subject, source.name)
        inputs = self.policy.inputs(
            source,
            scan,
            person_key=self._person_key(source, scan, person),
            zone=_person_zone(person),
        )
        email = person.email if person is not None else None
        try:
            trigger, variants = self._variants(source, scan, inputs, email, now)
        except ValidationError:
            # rare (values a trigger cannot hold): the general path answers it as it always did
            return await run_in_threadpool(self._scan, now, source, scan)
        loop_redis = self._redis()
        assert loop_redis is not None  # handle_async checked it
        try:
            result = await accept(
                loop_redis.accept,
                claim_keys=self.dedupe.keys_for(source.name, [scan.event_id, *scan.extra_ids]),
                direction=inputs,
                queue_keys=self.queue.keys,
                ingress_key=self.ingress.key,
                ingress_maxlen=self.ingress.maxlen,
                done_ttl_s=self.dedupe.ttl_s,
                variants=variants,
                entry=Entry(
                    source.name[:500],
                    scan.event_id[:500],
                    trigger.id[:500],
                    trigger.subject[:500],
                    str(now),
                ),
            )
        except _REDIS_ERRORS as exc:
            self._unsettle(trigger.id, variants)
            return await self._record_async(*self._unavailable_decided(now, source, scan, exc))
        if result.verdict is Verdict.DUPLICATE:
            settled = self._settle(trigger.id, result.direction)
            if settled is not None:
                entry, answer = self._decided(
                    now,
                    source,
                    "accepted",
                    202,
                    settled[1],
                    scan.event_id,
                    trigger_id=trigger.id,
                    kind=settled[0],
                    subject=trigger.subject,
                )
                # the script that enqueued it wrote its ingress entry
                return await self._record_async(entry, answer, stream=False)
            decided = self._decided(
                now, source, "duplicate", 200, "event already received", scan.event_id
            )
        elif result.verdict is Verdict.IN_FLIGHT:
            decided = self._in_flight(now, source, scan)
        elif result.verdict is Verdict.DEBOUNCED:
            reason = inputs.decision("debounced", result.direction).reason
            decided = self._decided(now, source, "ignored", 200, reason, scan.event_id)
        else:
            chosen = variants[-1] if result.direction == "later" else variants[0]
            entry, answer = self._decided(
                now,
                source,
                "accepted",
                202,
                chosen.reason,
                scan.event_id,
                trigger_id=trigger.id,
                kind=chosen.kind,
                subject=trigger.subject,
            )
            return await self._record_async(entry, answer, stream=False)  # the script wrote it
        return await self._record_async(*decided)

    def _variants(
        self,
        source: WebhookSource,
        scan: Scan,
        inputs: DirectionInputs,
        email: str | None,
        now: float,
    ) -> tuple[Trigger, tuple[Variant] | tuple[Variant, Variant]]:
        """The scan's trigger for each verdict the script may reach: one when the direction
        is fixed, else the ``first`` (in) and ``later`` (out) ones; raises
        :class:`pydantic.ValidationError` for values a trigger cannot hold."""
        verdicts = ("first",) if inputs.fixed else ("first", "later")
        built: list[Variant] = []
        trigger: Trigger | None = None
        for verdict in verdicts:
            decision = inputs.decision(verdict, "")
            assert decision.kind is not None
            trigger = scan_trigger(source, scan, decision.kind, decision.reason, email, now)
            built.append(Variant(self.queue.encode(trigger), decision.reason, decision.kind.value))
        assert trigger is not None
        if len(built) == 1:
            return trigger, (built[0],)
        return trigger, (built[0], built[1])

    def _unsettle(self, trigger_id: str, variants: tuple[Variant, ...]) -> None:
        """Remember a trigger whose script failed: it may have run with its reply lost."""
        with self._unsettled_lock:
            self._unsettled.pop(trigger_id, None)
            self._unsettled[trigger_id] = {v.kind: v.reason for v in variants}
            while len(self._unsettled) > UNSETTLED_MAX:
                del self._unsettled[next(iter(self._unsettled))]

    def _settle(self, trigger_id: str, committed: str) -> tuple[str, str] | None:
        """A duplicate of a trigger this receiver answered 503 for when its script failed: if
        that script had in fact run (its reply lost as Redis stopped), the ids are committed
        with the enqueued kind, and this retry is the acceptance the vendor is owed: 202, the
        trigger queued once: its (kind, reason). None for an ordinary duplicate."""
        if trigger_id not in self._unsettled:
            return None
        with self._unsettled_lock:
            reasons = self._unsettled.pop(trigger_id, None)
        kind = committed.partition(":")[2]
        if reasons is None or kind not in reasons:
            return None
        return kind, reasons[kind]

    def _redis(self) -> _LoopRedis | None:
        """The running loop's asyncio client (made on first use; None if this kind of
        connection has no asyncio counterpart: then every request takes the general path)."""
        loop = asyncio.get_running_loop()
        try:
            return self._loops[loop]
        except KeyError:
            pass
        try:
            client = async_fail_fast(self._origin)
            # never resends a script: a dropped connection may have lost the reply of a
            # script that ran (a 503 then, settled by the vendor's retry)
            channel = ScriptChannel(
                async_connector(self._origin), ACCEPT_LUA, timeout_s=FAIL_FAST_TIMEOUT_S
            )
        except ValueError as exc:
            log.warning("webhook.no_async_redis", reason=str(exc))
            found: _LoopRedis | None = None
        else:
            found = _LoopRedis(client, channel)
        self._loops[loop] = found
        return found

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

    def _in_flight(
        self, now: float, source: WebhookSource, scan: Scan
    ) -> tuple[IngressEntry, Answer]:
        return self._decided(
            now,
            source,
            "unavailable",
            503,
            "the same event is being processed; retry",
            scan.event_id,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    def _unavailable_decided(
        self, now: float, source: WebhookSource, scan: Scan, exc: BaseException
    ) -> tuple[IngressEntry, Answer, bool]:
        """The 503 for a Redis failure, and ``False``: Redis just failed, so the log line is
        the record (no stream write), and the answer goes out at once."""
        entry, answer = self._decided(
            now,
            source,
            "unavailable",
            503,
            f"queue unavailable ({type(exc).__name__}); retry later",
            scan.event_id,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
        return entry, answer, False

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
        entry, answer = self._decided(
            now,
            source,
            decision,
            status,
            reason,
            event_id,
            trigger_id=trigger_id,
            kind=kind,
            subject=subject,
            headers=headers,
        )
        return self._record(entry, answer, stream)

    def _record(self, entry: IngressEntry, answer: Answer, stream: bool = True) -> Answer:
        self.ingress.record(entry, stream=stream)
        return answer

    async def _record_async(
        self, entry: IngressEntry, answer: Answer, stream: bool = True
    ) -> Answer:
        loop_redis = self._redis()
        if loop_redis is None:
            await run_in_threadpool(self._record, entry, answer, stream)
        else:
            await self.ingress.record_async(loop_redis.client, entry, stream=stream)
        return answer

    def _decided(
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
    ) -> tuple[IngressEntry, Answer]:
        """The ingress entry and the answer of one decision (counted in the metrics)."""
        entry = IngressEntry(
            decision,
            status,
            reason,
            source.name,
            event_id or "",
            trigger_id,
            kind,
            subject,
            at=now,
        )
        self.metrics.webhook_request(source.name, decision, status)
        if status >= 400:
            return entry, Answer(status, {"error": reason}, headers or {})
        body: dict[str, Any] = {"status": decision, "reason": reason}
        if event_id:
            body["event_id"] = event_id
        if trigger_id:
            body["trigger_id"] = trigger_id
            body["kind"] = kind
        return entry, Answer(status, body, headers or {})


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
