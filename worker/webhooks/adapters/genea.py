"""Genea (formerly Sequr) event webhooks.

Signature: ``x-sequr-signature: sha1=<hex HMAC-SHA1(secret, JSON body)>``. Verified on the
raw bytes; because Genea's own sample receiver re-serialises the parsed body, a compact
re-serialisation is accepted as a fallback. No timestamp is signed; duplicates are dropped
by ``uuid``. Presence: ``event_action == "SEQUR_ACCESS_GRANTED"``. Identity:
``actor.user_email``, else ``actor.user_uuid``, else ``card.card_number``. Door: ``door``
(name / uuid) when present, else ``location``. Time: ``event_time``. Zone:
``location.timezone``.
"""

from __future__ import annotations

import json

from worker.webhooks.events import (
    MAX_EVENT_ID,
    Delivery,
    Ignored,
    Parsed,
    Reject,
    Scan,
    SubjectKind,
    get_path,
    opt_str,
    parse_json_object,
    parse_time,
    require_str,
    signing_secrets,
)
from worker.webhooks.signatures import verify

__all__ = ["receive"]

GRANTED = "SEQUR_ACCESS_GRANTED"


def _sha1_ok(secrets: list[str], message: bytes, presented: str) -> bool:
    return verify(secrets, message, [presented], algorithm="sha1", encodings=("hex",))


def receive(delivery: Delivery) -> Parsed:
    """Verify and parse one Genea delivery."""
    secrets = signing_secrets(delivery)
    payload = None
    if secrets is not None:
        header = delivery.headers.get("x-sequr-signature")
        if not header:
            raise Reject(401, "missing x-sequr-signature header")
        presented = header.strip().removeprefix("sha1=")
        if not _sha1_ok(secrets, delivery.body, presented):
            try:
                payload = parse_json_object(delivery.body)
            except Reject:
                raise Reject(401, "bad signature") from None
            compact = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
            if not _sha1_ok(secrets, compact, presented):
                raise Reject(401, "bad signature")
    if payload is None:
        payload = parse_json_object(delivery.body)
    event_id = opt_str(payload.get("uuid"))
    action = payload.get("event_action")
    if not isinstance(action, str):
        raise Reject(400, "missing field event_action")
    if action != GRANTED:
        return Ignored(f"event_action {action[:60]!r} is not {GRANTED}", event_id)
    kind: SubjectKind = "email"
    subject = opt_str(get_path(payload, "actor", "user_email"))
    if subject is None:
        kind, subject = "vendor_user_id", opt_str(get_path(payload, "actor", "user_uuid"))
    if subject is None:
        kind, subject = "card", opt_str(get_path(payload, "card", "card_number"))
    door = payload.get("door") if isinstance(payload.get("door"), dict) else None
    place = door or payload.get("location")
    zone = get_path(payload, "location", "timezone")
    return Scan(
        event_id=require_str(event_id, "uuid", limit=MAX_EVENT_ID),
        subject=require_str(subject, "actor.user_email"),
        subject_kind=kind,
        occurred_at=parse_time(payload.get("event_time"), "event_time", now=delivery.now),
        event_type=action,
        door_name=opt_str(get_path(place, "name")) if isinstance(place, dict) else None,
        door_id=opt_str(get_path(place, "uuid")) if isinstance(place, dict) else None,
        zone=zone if isinstance(zone, str) else None,
    )
