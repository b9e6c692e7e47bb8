"""Reading WebWork's response envelopes: tolerant where the docs disagree, strict where it matters.

Tolerant: ``message`` at the top level or inside ``data``; ``pagination`` inside ``meta`` or at
the top level (the contracts doc example); unknown fields ignored; a Laravel-style ``errors`` map
folded into the message text. Strict: a 2xx body must be a JSON object with ``success: true``;
``start_time``/``stopped_at`` must be ISO 8601 timestamps.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from worker.clock import utcnow

__all__ = [
    "DEFAULT_RETRY_AFTER_S",
    "Pagination",
    "api_message",
    "data_message",
    "last_page",
    "pagination",
    "parse_body",
    "parse_retry_after",
    "parse_timestamp",
]

#: Seconds to wait after a 429 that carries no usable ``Retry-After`` header.
DEFAULT_RETRY_AFTER_S = 60.0

Pagination = dict[str, Any]


def parse_body(content: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or ``None`` when it is empty, not JSON, or not an object."""
    if not content:
        return None
    try:
        value = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def data_message(body: dict[str, Any]) -> str | None:
    """The API's ``message``: the top-level one, else the one inside ``data``."""
    message = body.get("message")
    if isinstance(message, str) and message:
        return message
    data = body.get("data")
    if isinstance(data, dict):
        inner = data.get("message")
        if isinstance(inner, str) and inner:
            return inner
    return None


def api_message(body: dict[str, Any] | None, raw: bytes = b"") -> str | None:
    """Everything the API said about an error, as one line: message, ``error`` and ``errors``.

    Falls back to the start of a non-JSON body (e.g. a proxy's HTML page), at most 200 chars.
    """
    if body is None:
        text = raw[:200].decode("utf-8", "replace").strip()
        return text or None
    parts: list[str] = []
    message = data_message(body)
    if message:
        parts.append(message)
    error = body.get("error")
    if isinstance(error, str) and error and error not in parts:
        parts.append(error)
    errors = body.get("errors")
    if isinstance(errors, dict):
        for field, problems in errors.items():
            items = problems if isinstance(problems, list) else [problems]
            parts.append(f"{field}: " + ", ".join(str(p) for p in items))
    return "; ".join(parts) or None


def pagination(body: dict[str, Any]) -> Pagination | None:
    """``meta.pagination`` if present, else a top-level ``pagination``, else ``None``."""
    meta = body.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("pagination"), dict) and meta["pagination"]:
        return dict(meta["pagination"])
    top = body.get("pagination")
    if isinstance(top, dict) and top:
        return dict(top)
    return None


def last_page(body: dict[str, Any]) -> int:
    """The number of pages the listing has (1 when the response carries no pagination)."""
    page = pagination(body)
    if page is None:
        return 1
    value = page.get("last_page")
    if isinstance(value, int) and value >= 1:
        return value
    total, per_page = page.get("total"), page.get("per_page")
    if isinstance(total, int) and isinstance(per_page, int) and per_page > 0:
        return max(1, -(-total // per_page))
    return 1


def parse_timestamp(value: object) -> datetime | None:
    """An ISO 8601 timestamp (``+00:00``, ``Z`` or microsecond forms) as an aware datetime.

    A timestamp without an offset is taken as UTC. Returns ``None`` when ``value`` is not a
    parseable timestamp.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date); default 60."""
    if value is None or not value.strip():
        return DEFAULT_RETRY_AFTER_S
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER_S
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or utcnow())).total_seconds()
    if seconds != seconds or seconds < 0:  # NaN or a date in the past
        return 0.0
    return seconds
