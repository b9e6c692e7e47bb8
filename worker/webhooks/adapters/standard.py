"""Standard Webhooks (https://www.standardwebhooks.com/): the generic signed scheme.

Headers ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (a
space-separated list of ``v1,<base64 HMAC-SHA256>``); ``svix-*`` header names are accepted
too. Signed content: ``"{id}.{timestamp}.{raw body}"``. The secret is ``whsec_<base64>`` (the
decoded bytes are the key); a secret without that prefix is used as base64 if it decodes,
else as its UTF-8 bytes. The body is the generic payload of :mod:`.generic`, or, when the
source has a ``fields:`` mapping, whatever that mapping describes (:mod:`.mapped`); both the
payload's event id and the ``webhook-id`` are dedupe keys.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace

from worker.webhooks.adapters.generic import parse_generic
from worker.webhooks.adapters.mapped import decide, evaluate
from worker.webhooks.events import (
    MAX_EVENT_ID,
    Delivery,
    Parsed,
    Reject,
    Scan,
    parse_json_object,
    signing_secrets,
)
from worker.webhooks.signatures import check_timestamp, verify

__all__ = ["receive", "secret_key"]


def secret_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (``whsec_`` + base64, per the spec)."""
    text = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return secret.encode()


def _header(delivery: Delivery, name: str) -> str | None:
    return delivery.headers.get(f"webhook-{name}") or delivery.headers.get(f"svix-{name}")


def receive(delivery: Delivery) -> Parsed:
    """Verify and parse one Standard Webhooks delivery."""
    secrets = signing_secrets(delivery)
    msg_id = _header(delivery, "id")
    if not msg_id:
        raise Reject(401, "missing webhook-id header")
    if len(msg_id) > MAX_EVENT_ID:
        raise Reject(400, f"webhook-id is longer than {MAX_EVENT_ID} characters")
    if secrets is not None:
        raw_ts = _header(delivery, "timestamp")
        signature = _header(delivery, "signature")
        if raw_ts is None:
            raise Reject(401, "missing webhook-timestamp header")
        if not signature:
            raise Reject(401, "missing webhook-signature header")
        check_timestamp(
            raw_ts, now=delivery.now, tolerance_s=delivery.tolerance_s, name="webhook-timestamp"
        )
        signed = f"{msg_id}.{raw_ts.strip()}.".encode("utf-8", "replace") + delivery.body
        values = [
            value
            for version, _, value in (entry.partition(",") for entry in signature.split())
            if version == "v1"
        ]
        if not verify(secrets, signed, values, encodings=("base64",), key=secret_key):
            raise Reject(401, "bad signature")
    payload = parse_json_object(delivery.body)
    fields = delivery.spec.fields if delivery.spec is not None else None
    if fields is not None:
        return decide(fields, evaluate(fields, payload), now=delivery.now, delivery_id=msg_id)
    parsed = parse_generic(payload, fallback_id=msg_id, now=delivery.now)
    if isinstance(parsed, Scan) and parsed.event_id != msg_id:
        return replace(parsed, extra_ids=(msg_id,))
    return parsed
