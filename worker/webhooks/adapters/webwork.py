"""WebWork Tracker's own ``tracker.started`` / ``tracker.stopped`` webhooks.

WebWork documents neither the payload nor the verification scheme, only that creating a
webhook returns a ``token`` "for verifying webhook authenticity". That token is this
source's secret (``AUTOCLOCK_WEBHOOK_SECRET_<NAME>``). A delivery is authentic when ANY of
these holds (each compared in constant time):

1. a header ``X-Webwork-Token`` (or ``X-Webhook-Token``) equals the token;
2. a ``token`` field (top level, or under ``data``) equals the token;
3. a header ``X-Webwork-Signature``, ``X-Signature`` or ``Signature`` holds
   HMAC-SHA256(token, raw body), hex or base64, optionally prefixed ``sha256=``.

The payload is parsed tolerantly: the event name from ``event`` / ``type`` / ``event_type``
(top level or under ``data``); the user from ``user_id`` at the top, under ``data``, or
``user.id`` / ``data.user.id``; an email from ``email`` / ``user.email`` likewise; the time
from ``timestamp`` / ``time`` / ``occurred_at`` / ``created_at`` / ``started_at`` /
``stopped_at`` (absent: the receipt time). Other events are ignored (2xx).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from worker.webhooks.events import (
    Delivery,
    Ignored,
    Parsed,
    Reject,
    TrackerChange,
    get_path,
    opt_str,
    parse_json_object,
    parse_time,
)
from worker.webhooks.signatures import tokens_match, verify

__all__ = ["EVENTS", "receive"]

EVENTS = {"tracker.started": True, "tracker.stopped": False}
_TOKEN_HEADERS = ("x-webwork-token", "x-webhook-token")
_SIGNATURE_HEADERS = ("x-webwork-signature", "x-signature", "signature")
_TIME_FIELDS = ("timestamp", "time", "occurred_at", "created_at", "started_at", "stopped_at")


def _first(payload: dict[str, Any], *paths: tuple[str, ...]) -> Any:
    for path in paths:
        value = get_path(payload, *path)
        if value is not None:
            return value
    return None


def _authentic(delivery: Delivery, payload: dict[str, Any] | None) -> bool:
    tokens = [delivery.headers.get(name) for name in _TOKEN_HEADERS]
    if payload is not None:
        tokens += [get_path(payload, *path) for path in (("token",), ("data", "token"))]
    signatures = [
        value.strip().removeprefix("sha256=")
        for value in (delivery.headers.get(name) for name in _SIGNATURE_HEADERS)
        if value
    ]
    ok = verify(delivery.secrets, delivery.body, signatures)
    for token in tokens:
        if isinstance(token, str) and token:
            ok |= tokens_match(delivery.secrets, token)
    return ok


def receive(delivery: Delivery) -> Parsed:
    """Verify and parse one WebWork tracker webhook."""
    if not delivery.secrets:
        hint = f" (set {delivery.secret_env})" if delivery.secret_env else ""
        raise Reject(401, f"no WebWork webhook token is configured{hint}")
    try:
        payload: dict[str, Any] | None = parse_json_object(delivery.body)
    except Reject:
        payload = None
    if not _authentic(delivery, payload):
        raise Reject(401, "bad or missing WebWork token")
    if payload is None:
        payload = parse_json_object(delivery.body)  # raises the 400 with the reason
    name = _first(payload, ("event",), ("type",), ("event_type",), ("data", "event"))
    event_id = opt_str(_first(payload, ("id",), ("event_id",), ("data", "id")))
    if not isinstance(name, str):
        raise Reject(400, "missing field event (tracker.started or tracker.stopped)")
    if name not in EVENTS:
        return Ignored(f"WebWork event {name[:60]!r} is not a tracker event", event_id)
    user_id = opt_str(
        _first(payload, ("user_id",), ("data", "user_id"), ("user", "id"), ("data", "user", "id"))
    )
    email = opt_str(
        _first(payload, ("email",), ("data", "email"), ("user", "email"), ("data", "user", "email"))
    )
    if user_id is None and email is None:
        raise Reject(400, "missing field user_id")
    raw_time = None
    for field in _TIME_FIELDS:
        raw_time = _first(payload, (field,), ("data", field))
        if raw_time is not None:
            break
    at = (
        parse_time(raw_time, "timestamp", now=delivery.now)
        if raw_time is not None
        else datetime.fromtimestamp(delivery.now, UTC)
    )
    return TrackerChange(
        event_id=event_id,
        tracking=EVENTS[name],
        at=at,
        user_id=user_id,
        email=email,
        timed=raw_time is not None,
    )
