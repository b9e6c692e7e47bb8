"""autoclock's own small badge payload, used by the Standard Webhooks and shared-secret adapters.

.. code-block:: json

    {"type": "badge.scan", "id": "evt-123", "subject": "dana@example.com",
     "occurred_at": "2026-01-05T08:58:23Z", "door": "Main Entrance"}

- ``type``: ``badge.scan`` (direction from the door configuration), ``badge.in`` or
  ``badge.out`` (the sender knows the direction; it wins). Any other type is ignored (2xx).
- ``subject`` (required): an email, a vendor user id or a card number.
- ``subject_kind`` (optional): ``email``, ``vendor_user_id`` or ``card``; guessed otherwise.
- ``occurred_at`` (required): ISO-8601 with ``Z`` or an offset, or Unix seconds.
- ``id``: the sender's event id (required for shared-secret; Standard Webhooks falls back to
  the ``webhook-id`` header).
- ``door`` / ``door_id`` (optional): matched against the source's ``doors``.
- ``granted`` (optional, default true): ``false`` is ignored.
- ``timezone`` (optional): IANA zone of the site, used when the person's zone is unknown.
"""

from __future__ import annotations

from typing import Any

from worker.webhooks.events import (
    MAX_EVENT_ID,
    Ignored,
    Parsed,
    Reject,
    Scan,
    SubjectKind,
    opt_str,
    parse_time,
    require_str,
)

__all__ = ["TYPES", "parse_generic"]

TYPES = {"badge.scan": None, "badge.in": "in", "badge.out": "out"}


def guess_kind(subject: str) -> SubjectKind:
    return "email" if "@" in subject else "vendor_user_id"


def parse_generic(payload: dict[str, Any], *, fallback_id: str | None, now: float) -> Parsed:
    """Turn the generic payload into a :class:`Scan` or :class:`Ignored` (400 on bad fields)."""
    kind = payload.get("type")
    event_id = opt_str(payload.get("id")) or fallback_id
    if not isinstance(kind, str) or not kind:
        raise Reject(400, "missing field type (badge.scan, badge.in or badge.out)")
    if kind not in TYPES:
        return Ignored(f"event type {kind[:60]!r} is not a badge event", event_id)
    if payload.get("granted", True) is False:
        return Ignored("badge scan was not granted", event_id)
    if event_id is None:
        raise Reject(400, "missing field id")
    event_id = require_str(event_id, "id", limit=MAX_EVENT_ID)
    subject = require_str(payload.get("subject"), "subject")
    declared = payload.get("subject_kind")
    subject_kind: SubjectKind
    if declared in ("email", "vendor_user_id", "card"):
        subject_kind = declared
    elif declared is None:
        subject_kind = guess_kind(subject)
    else:
        raise Reject(400, "field subject_kind must be email, vendor_user_id or card")
    zone = payload.get("timezone")
    direction = TYPES[kind]
    return Scan(
        event_id=event_id,
        subject=subject,
        subject_kind=subject_kind,
        occurred_at=parse_time(payload.get("occurred_at"), "occurred_at", now=now),
        event_type=kind,
        door_name=opt_str(payload.get("door")),
        door_id=opt_str(payload.get("door_id")),
        direction="in" if direction == "in" else "out" if direction == "out" else None,
        zone=zone if isinstance(zone, str) else None,
    )
