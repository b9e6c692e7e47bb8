"""``autoclock webhooks try``: what the receiver would make of one recorded delivery.

Pure: no Redis, no queue, no ingress log. It runs the source's adapter on the recording the
way the receiver does, and reports separately

- whether the signature verifies (with the secrets from the environment), and whether the
  signed timestamp is inside the replay window *now* (a recording is usually older);
- each ``fields:`` expression and its value (mapped sources, Standard Webhooks with fields);
- the answer the receiver would give, and the trigger it would enqueue.

What needs Redis is not decided here and is said so: whether the event id was already
received (duplicate), the debounce window, and, at a ``both`` door, whether this is the
person's first scan of the day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from worker.models import Trigger, TriggerKind
from worker.rules.schema import WebhookSource
from worker.webhooks.adapters import ADAPTERS
from worker.webhooks.adapters.mapped import Failed, check_signature, evaluate
from worker.webhooks.direction import door_direction
from worker.webhooks.events import Delivery, Ignored, Parsed, Reject, Scan, TrackerChange
from worker.webhooks.receiver import DirectoryLike, scan_trigger

__all__ = ["Trial", "try_delivery"]

#: A replay window no timestamp falls outside (to check a recording's MAC alone).
_FOREVER = 10**12


@dataclass
class Trial:
    """The report; ``ok`` is False when the receiver would refuse the delivery for a reason
    other than its age."""

    source: str
    vendor: str
    signature: str
    verified: bool
    window: str | None = None
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    """(field, expression, value as JSON or the failure)."""
    answer: str = ""
    trigger: Trigger | None = None
    notes: list[str] = field(default_factory=list)
    ok: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "vendor": self.vendor,
            "signature": self.signature,
            "verified": self.verified,
            "window": self.window,
            "fields": [{"field": f, "expression": e, "value": v} for f, e, v in self.fields],
            "answer": self.answer,
            "trigger": self.trigger.model_dump(mode="json") if self.trigger else None,
            "notes": self.notes,
            "ok": self.ok,
            "enqueued": False,
        }


def _show(value: Any) -> str:
    if isinstance(value, Failed):
        return f"error: {value.reason}"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _run(delivery: Delivery, vendor: str) -> Parsed | Reject:
    try:
        return ADAPTERS[vendor](delivery)
    except Reject as exc:
        return exc


def _signature(trial: Trial, source: WebhookSource, delivery: Delivery) -> Delivery:
    """Fill in the signature verdicts; return the delivery to parse with (the MAC check
    relaxed only when it is known to pass, or when there is nothing to check)."""
    if not delivery.secrets:
        trial.verified = False
        if source.allow_unsigned:
            trial.signature = f"not checked: no secret in {delivery.secret_env}, allow_unsigned"
            trial.verified = True
        else:
            trial.signature = f"cannot be checked: no secret in {delivery.secret_env}"
        return replace(delivery, secrets=(), allow_unsigned=True)
    if source.vendor == "mapped" and source.signature is not None:
        check = check_signature(source.signature, delivery, list(delivery.secrets))
        trial.verified = check.verified
        trial.signature = "verifies" if check.verified else f"does not verify: {check.reason}"
        trial.window = check.stale
        return replace(delivery, secrets=(), allow_unsigned=True)
    relaxed = replace(delivery, tolerance_s=_FOREVER)
    outcome = _run(relaxed, source.vendor)
    if isinstance(outcome, Reject) and outcome.status == 401:
        trial.verified = False
        trial.signature = f"does not verify: {outcome.reason}"
        return relaxed
    trial.verified = True
    trial.signature = "verifies"
    strict = _run(delivery, source.vendor)
    if isinstance(strict, Reject) and strict.reason.startswith("stale timestamp"):
        trial.window = strict.reason
    return relaxed


def _fields(trial: Trial, source: WebhookSource, body: bytes) -> None:
    if source.fields is None:
        return
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return
    if not isinstance(payload, dict):
        return
    values = evaluate(source.fields, payload)
    for name, value in values.items():
        trial.fields.append((name, str(getattr(source.fields, name)), _show(value)))


def _scan(
    trial: Trial,
    source: WebhookSource,
    scan: Scan,
    directory: DirectoryLike | None,
    now: float,
) -> None:
    door, why = door_direction(source, scan)
    if door is None:
        trial.answer = f"200 ignored: {why}"
        return
    person = directory.resolve(scan.subject, source=source.name) if directory else None
    email = getattr(person, "email", None) if person is not None else None
    if isinstance(email, str):
        trial.notes.append(f"subject {scan.subject!r} is {email}")
    else:
        trial.notes.append(f"subject {scan.subject!r} is nobody in people.yaml (unknown_person)")
    kinds = {"in": TriggerKind.BADGE_IN, "out": TriggerKind.BADGE_OUT}
    if scan.direction is not None:
        kind, reason = kinds[scan.direction], f"vendor reported {scan.direction}"
    elif door in kinds:
        kind, reason = kinds[door], why
    else:
        kind, reason = TriggerKind.BADGE_IN, f"{why} (both): first scan of the day"
        trial.notes.append(
            f"{why} (both): badge_in if this is the person's first scan of their local day, "
            "else badge_out (the day's scans are in Redis, not read here)"
        )
    try:
        trial.trigger = scan_trigger(source, scan, kind, reason, email, now)
    except ValidationError as exc:
        trial.answer = "400 invalid event: " + "; ".join(str(e["msg"]) for e in exc.errors())
        trial.ok = False
        return
    trial.answer = "202 accepted: the trigger below would be enqueued"
    trial.notes.append(
        f"not checked here: a duplicate of event id {scan.event_id!r} and the "
        f"{int(source.debounce.total_seconds())} s debounce (both kept in Redis)"
    )


def try_delivery(
    source: WebhookSource,
    delivery: Delivery,
    *,
    directory: DirectoryLike | None = None,
) -> Trial:
    """What the receiver would do with ``delivery`` to ``source``; changes nothing."""
    trial = Trial(source.name, source.vendor, "", False)
    parse_with = _signature(trial, source, delivery)
    _fields(trial, source, delivery.body)
    if not trial.verified:
        trial.answer = f"401 signature {trial.signature}"
        trial.ok = False
        return trial
    outcome = _run(parse_with, source.vendor)
    if isinstance(outcome, Reject):
        trial.answer = f"{outcome.status} {outcome.reason}"
        trial.ok = False
    elif isinstance(outcome, Ignored):
        trial.answer = f"200 ignored: {outcome.reason}"
    elif isinstance(outcome, TrackerChange):
        state = "started" if outcome.tracking else "stopped"
        trial.answer = f"200 recorded: WebWork tracker {state} (no trigger)"
    else:
        _scan(trial, source, outcome, directory, delivery.now)
    if trial.window is not None:
        trial.notes.append(f"the receiver would answer 401 now: {trial.window}")
    return trial
