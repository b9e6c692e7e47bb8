"""Verkada Access event webhooks.

Signature: ``Verkada-Signature: <timestamp>|<hex HMAC-SHA256>`` over ``raw body + "|" +
timestamp``; the timestamp must be within the replay window (Verkada re-signs each retry, so
the signature is no dedupe key: ``data.event_id`` is). Presence: a ``*_accepted``
notification with ``user_info``, except ``door_remote_unlock_accepted`` (unlocked from an
app, nobody at the door). Identity: ``user_info.email``, else ``user_info.user_id``. Door:
``door_info.name`` / ``door_id``. Time: ``data.created``. ``data.direction``
(Inbound/Outbound) wins over the door configuration. ``input_value`` (a PIN for code events)
is never read.
"""

from __future__ import annotations

from worker.webhooks.events import (
    MAX_EVENT_ID,
    Delivery,
    Direction,
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

__all__ = ["NOT_PRESENCE", "receive"]

NOT_PRESENCE = frozenset({"door_remote_unlock_accepted"})
_DIRECTIONS: dict[str, Direction] = {"inbound": "in", "outbound": "out"}


def receive(delivery: Delivery) -> Parsed:
    """Verify and parse one Verkada delivery."""
    secrets = signing_secrets(delivery)
    if secrets is not None:
        header = delivery.headers.get("verkada-signature")
        if not header:
            raise Reject(401, "missing Verkada-Signature header")
        raw_ts, sep, presented = header.partition("|")
        if not sep:
            raise Reject(401, "Verkada-Signature is not <timestamp>|<signature>")
        check_timestamp(
            raw_ts,
            now=delivery.now,
            tolerance_s=delivery.tolerance_s,
            name="Verkada-Signature timestamp",
        )
        signed = delivery.body + b"|" + raw_ts.strip().encode("ascii")
        if not verify(secrets, signed, [presented]):
            raise Reject(401, "bad signature")
    payload = parse_json_object(delivery.body)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise Reject(400, "missing field data")
    event_id = opt_str(data.get("event_id"))
    kind = data.get("notification_type")
    if not isinstance(kind, str):
        raise Reject(400, "missing field data.notification_type")
    if not kind.endswith("_accepted") or kind in NOT_PRESENCE:
        return Ignored(f"notification {kind[:60]!r} is not an accepted credential", event_id)
    user = data.get("user_info")
    if not isinstance(user, dict):
        return Ignored(f"notification {kind[:60]!r} has no user_info", event_id)
    email = opt_str(user.get("email"))
    subject = email or require_str(user.get("user_id"), "data.user_info.user_id")
    direction = opt_str(data.get("direction"))
    zone = get_path(data, "door_info", "timezone")
    return Scan(
        event_id=require_str(event_id, "data.event_id", limit=MAX_EVENT_ID),
        subject=require_str(subject, "data.user_info.email"),
        subject_kind="email" if email else "vendor_user_id",
        occurred_at=parse_time(data.get("created"), "data.created", now=delivery.now),
        event_type=kind,
        door_name=opt_str(get_path(data, "door_info", "name")),
        door_id=opt_str(data.get("door_id")) or opt_str(get_path(data, "door_info", "door_id")),
        direction=_DIRECTIONS.get(direction.lower()) if direction else None,
        zone=zone if isinstance(zone, str) else None,
    )
