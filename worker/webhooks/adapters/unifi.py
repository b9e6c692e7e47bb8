"""UniFi Access (local controller API, >= 2.2.10) webhooks.

Signature: ``Signature: t=<unix>,v1=<hex HMAC-SHA256>`` over ``"<t>.<raw body>"`` with the
endpoint's secret; ``t`` must be within the replay window. Presence: ``event ==
"access.door.unlock"`` with ``data.object.result == "Access Granted"`` and
``data.actor.type == "user"``. Identity: ``data.actor.email`` if present, else
``data.actor.id``. Door: ``data.location`` (name / id), else the device alias. Time: the
body carries no event time, so the signed ``t`` is the event time. Event id:
``event_object_id`` (a hash of ``t`` and the body when absent).
"""

from __future__ import annotations

import hashlib
from typing import Any

from worker.webhooks.events import (
    MAX_EVENT_ID,
    Delivery,
    Ignored,
    Parsed,
    Reject,
    Scan,
    get_path,
    opt_str,
    parse_json_object,
    parse_time,
    require_str,
    signing_secrets,
)
from worker.webhooks.signatures import check_timestamp, verify

__all__ = ["parse_signature_header", "receive"]


def parse_signature_header(header: str) -> tuple[str, list[str]]:
    """``t=..,v1=..[,v1=..]`` → (t, [v1, …]); 401 when malformed."""
    t: str | None = None
    macs: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            t = value
        elif name == "v1":
            macs.append(value.strip())
    if t is None or not macs:
        raise Reject(401, "Signature header is not t=<unix>,v1=<hex>")
    return t, macs


def receive(delivery: Delivery) -> Parsed:
    """Verify and parse one UniFi Access delivery."""
    secrets = signing_secrets(delivery)
    header = delivery.headers.get("signature")
    ts: int | None = None
    if secrets is not None:
        if not header:
            raise Reject(401, "missing Signature header")
        raw_ts, macs = parse_signature_header(header)
        ts = check_timestamp(
            raw_ts, now=delivery.now, tolerance_s=delivery.tolerance_s, name="Signature t"
        )
        signed = raw_ts.strip().encode("ascii") + b"." + delivery.body
        if not verify(secrets, signed, macs, encodings=("hex",)):
            raise Reject(401, "bad signature")
    payload = parse_json_object(delivery.body)
    kind = payload.get("event")
    if not isinstance(kind, str):
        raise Reject(400, "missing field event")
    object_id = opt_str(payload.get("event_object_id"))
    event_id = f"{kind}:{object_id}" if object_id else None
    if kind != "access.door.unlock":
        return Ignored(f"event {kind[:60]!r} is not a door unlock", event_id)
    data: Any = payload.get("data")
    if not isinstance(data, dict):
        raise Reject(400, "missing field data")
    result = opt_str(get_path(data, "object", "result"))
    if result != "Access Granted":
        return Ignored(f"unlock result is {str(result)[:40]!r}, not 'Access Granted'", event_id)
    actor_type = opt_str(get_path(data, "actor", "type"))
    if actor_type != "user":
        return Ignored(f"unlock by actor type {str(actor_type)[:40]!r}, not a user", event_id)
    if ts is None:  # unsigned source: t is still the only event time there is
        raw_ts, _ = parse_signature_header(header) if header else ("", [])
        if not raw_ts:
            raise Reject(400, "missing event time (the Signature header's t)")
        occurred = parse_time(raw_ts, "Signature t", now=delivery.now)
    else:
        occurred = parse_time(ts, "Signature t", now=delivery.now)
    if event_id is None:
        digest = hashlib.sha256(f"{occurred.timestamp():.0f}.".encode() + delivery.body)
        event_id = f"{kind}:sha256:{digest.hexdigest()[:32]}"
    email = opt_str(get_path(data, "actor", "email"))
    subject = email or require_str(get_path(data, "actor", "id"), "data.actor.id")
    location = data.get("location")
    door_name = opt_str(get_path(location, "name")) if isinstance(location, dict) else None
    door_id = opt_str(get_path(location, "id")) if isinstance(location, dict) else None
    return Scan(
        event_id=require_str(event_id, "event_object_id", limit=MAX_EVENT_ID),
        subject=require_str(subject, "data.actor.id"),
        subject_kind="email" if email else "vendor_user_id",
        occurred_at=occurred,
        event_type=kind,
        door_name=door_name or opt_str(get_path(data, "device", "alias")),
        door_id=door_id or opt_str(get_path(data, "device", "id")),
    )
