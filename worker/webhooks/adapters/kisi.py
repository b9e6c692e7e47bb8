"""Kisi event webhooks.

Signature: ``X-Signature`` = HMAC-SHA256(signature key, raw body). Kisi does not document
the encoding, so hex and base64 are both accepted. No timestamp is signed (no replay
window); duplicates are dropped by ``uuid``. Presence: ``type == "lock.unlock"`` with
``success: true`` by an ``actor_type`` User. Identity: ``actor_email`` when present (event
exports carry it), else ``actor_id``. Door: ``object_name`` / ``object_id``. Time:
``created_at``.
"""

from __future__ import annotations

from worker.webhooks.events import (
    MAX_EVENT_ID,
    Delivery,
    Ignored,
    Parsed,
    Reject,
    Scan,
    opt_str,
    parse_json_object,
    parse_time,
    require_str,
    signing_secrets,
)
from worker.webhooks.signatures import verify

__all__ = ["receive"]


def receive(delivery: Delivery) -> Parsed:
    """Verify and parse one Kisi delivery."""
    secrets = signing_secrets(delivery)
    if secrets is not None:
        presented = delivery.headers.get("x-signature")
        if not presented:
            raise Reject(401, "missing X-Signature header")
        if not verify(secrets, delivery.body, [presented.strip().removeprefix("sha256=")]):
            raise Reject(401, "bad signature")
    payload = parse_json_object(delivery.body)
    event_id = opt_str(payload.get("uuid"))
    kind = payload.get("type")
    if not isinstance(kind, str):
        raise Reject(400, "missing field type")
    if kind != "lock.unlock":
        return Ignored(f"event type {kind[:60]!r} is not a door unlock", event_id)
    if payload.get("success") is not True:
        return Ignored("unlock was not successful", event_id)
    actor_type = opt_str(payload.get("actor_type"))
    if actor_type is not None and actor_type.lower() != "user":
        return Ignored(f"unlock by a {actor_type[:40]!r}, not a user", event_id)
    email = opt_str(payload.get("actor_email"))
    subject = email or require_str(payload.get("actor_id"), "actor_id")
    return Scan(
        event_id=require_str(event_id, "uuid", limit=MAX_EVENT_ID),
        subject=require_str(subject, "actor_email" if email else "actor_id"),
        subject_kind="email" if email else "vendor_user_id",
        occurred_at=parse_time(payload.get("created_at"), "created_at", now=delivery.now),
        event_type=kind,
        door_name=opt_str(payload.get("object_name")),
        door_id=opt_str(payload.get("object_id")),
    )
