"""For systems that cannot sign: a shared token in ``X-Autoclock-Token``, compared in constant time.

Allowed only for sources that say ``allow_unsigned: true`` (the rules schema enforces it).
The token is the source's secret (``AUTOCLOCK_WEBHOOK_SECRET_<NAME>``); a source without one
refuses every delivery. There is no replay protection beyond dedupe on the payload ``id``,
so use HTTPS. The body is the generic payload of :mod:`.generic` (``id`` required).
"""

from __future__ import annotations

from worker.webhooks.adapters.generic import parse_generic
from worker.webhooks.events import Delivery, Parsed, Reject, parse_json_object
from worker.webhooks.signatures import tokens_match

__all__ = ["HEADER", "receive"]

HEADER = "x-autoclock-token"


def receive(delivery: Delivery) -> Parsed:
    """Check the token header, then parse the generic payload."""
    if not delivery.secrets:
        hint = f" (set {delivery.secret_env})" if delivery.secret_env else ""
        raise Reject(401, f"no token is configured for source {delivery.source!r}{hint}")
    presented = delivery.headers.get(HEADER)
    if not presented:
        raise Reject(401, "missing X-Autoclock-Token header")
    if not tokens_match(delivery.secrets, presented):
        raise Reject(401, "bad token")
    payload = parse_json_object(delivery.body)
    return parse_generic(payload, fallback_id=None, now=delivery.now)
