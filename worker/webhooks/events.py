"""What an adapter makes of one delivery, and the helpers every adapter shares.

An adapter turns a :class:`Delivery` (raw body, lower-cased headers, the source's secrets)
into one of three results — a :class:`Scan` (a person presented a credential and was let
in), an :class:`Ignored` event (anything else; answered 2xx with a reason), or a
:class:`TrackerChange` (WebWork's own tracker webhooks) — or raises :class:`Reject` with the
HTTP status and the reason the sender is told.

Secrets are ``str`` here only inside the adapters' MAC computations; they never reach a
reason, a log line or a repr.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from worker import safejson
from worker.numbers import ascii_int
from worker.rules.schema import WebhookSource

__all__ = [
    "MAX_EVENT_ID",
    "MAX_SUBJECT",
    "Delivery",
    "Direction",
    "Ignored",
    "Parsed",
    "Reject",
    "Scan",
    "SubjectKind",
    "TrackerChange",
    "get_path",
    "opt_str",
    "parse_json_object",
    "parse_time",
    "require_str",
    "signing_secrets",
]

Direction = Literal["in", "out"]
SubjectKind = Literal["email", "vendor_user_id", "card"]

#: Longest vendor event id / subject accepted (a Trigger id is at most 512 characters).
MAX_EVENT_ID = 200
MAX_SUBJECT = 320

#: Event times further than this in the future are refused (clock skew allowance).
MAX_FUTURE = timedelta(days=1)


class Reject(Exception):
    """Refuse the delivery with ``status`` (4xx) and a reason the sender may read."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"{status}: {reason}")


@dataclass(frozen=True)
class Delivery:
    """One request to ``POST /hooks/<source>``, as the adapter sees it.

    ``headers`` has lower-case names. ``secrets`` are the source's active secrets (several
    during a rotation); ``now`` is the receipt time in Unix seconds; ``tolerance_s`` the
    replay window for schemes that sign a timestamp.
    """

    body: bytes
    headers: Mapping[str, str]
    secrets: Sequence[str] = field(repr=False)
    source: str
    allow_unsigned: bool
    now: float
    tolerance_s: int
    secret_env: str = ""
    """Name of the environment variable holding the secret (for error messages)."""
    spec: WebhookSource | None = None
    """The source's configuration (``signature:`` and ``fields:`` of mapped sources)."""


@dataclass(frozen=True)
class Scan:
    """A credential presented and accepted at a door, attributable to a person."""

    event_id: str
    subject: str
    subject_kind: SubjectKind
    occurred_at: datetime
    event_type: str
    door_name: str | None = None
    door_id: str | None = None
    direction: Direction | None = None
    """Direction the vendor itself reported (Verkada In/Out doors, ``badge.in``/``badge.out``)."""
    zone: str | None = None
    """A time zone the vendor reported for the door or site, if any."""
    extra_ids: tuple[str, ...] = ()
    """Further dedupe keys of the same delivery (Standard Webhooks ``webhook-id``)."""


@dataclass(frozen=True)
class Ignored:
    """Not a presence event: answered 2xx so the vendor stops retrying, with the reason."""

    reason: str
    event_id: str | None = None


@dataclass(frozen=True)
class TrackerChange:
    """WebWork reported that a person's tracker started or stopped."""

    event_id: str | None
    tracking: bool
    at: datetime | None
    user_id: str | None = None
    email: str | None = None
    timed: bool = True
    """False when the payload carried no event time (``at`` is then the receipt time)."""


Parsed = Scan | Ignored | TrackerChange


# ---------------------------------------------------------------- authentication helpers


def signing_secrets(delivery: Delivery) -> list[str] | None:
    """The secrets to verify with; ``None`` means "accept unsigned" (explicitly allowed).

    A source with no secret configured is refused (401) unless it says ``allow_unsigned``.
    """
    if delivery.secrets:
        return list(delivery.secrets)
    if delivery.allow_unsigned:
        return None
    hint = f" (set {delivery.secret_env})" if delivery.secret_env else ""
    raise Reject(401, f"no secret is configured for source {delivery.source!r}{hint}")


# ---------------------------------------------------------------- payload helpers


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; 400 naming the problem otherwise."""
    try:
        value = safejson.loads(body)
    except safejson.JSONRefused as exc:
        raise Reject(400, f"malformed JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Reject(400, f"malformed JSON: expected an object, got {type(value).__name__}")
    return value


def get_path(payload: Mapping[str, Any], *path: str) -> Any:
    """``payload[a][b]…`` or None when any step is missing or not an object."""
    value: Any = payload
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def opt_str(value: Any) -> str | None:
    """A non-empty string (numbers become their text), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def require_str(value: Any, name: str, *, limit: int = MAX_SUBJECT) -> str:
    """``opt_str(value)`` or a 400 naming the missing field."""
    text = opt_str(value)
    if text is None:
        raise Reject(400, f"missing field {name}")
    if len(text) > limit:
        raise Reject(400, f"field {name} is longer than {limit} characters")
    return text


def parse_time(value: Any, name: str, *, now: float) -> datetime:
    """An event time: ISO-8601 with a zone (``Z`` or an offset) or Unix seconds (or ms).

    Naive ISO times are refused (which zone would they be in?), as are times more than a day
    in the future or before 2000.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Reject(400, f"missing field {name}")
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
            if seconds > 1e11:  # milliseconds
                seconds /= 1000
            result = datetime.fromtimestamp(seconds, UTC)
        elif isinstance(value, str):
            text = value.strip()
            number = ascii_int(text)
            if number is not None:
                return parse_time(number, name, now=now)
            result = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            if result.tzinfo is None or result.utcoffset() is None:
                raise Reject(400, f"field {name} has no time zone (add Z or an offset)")
            result = result.astimezone(UTC)
        else:
            raise Reject(400, f"field {name} is not a time")
    except (ValueError, OverflowError, OSError):
        raise Reject(400, f"field {name} is not a valid time: {str(value)[:40]!r}") from None
    if result.year < 2000:
        raise Reject(400, f"field {name} is before the year 2000")
    if result > datetime.fromtimestamp(now, UTC) + MAX_FUTURE:
        raise Reject(400, f"field {name} is more than a day in the future")
    return result
