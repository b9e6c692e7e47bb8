"""Mapped sources: any signed JSON webhook, described in ``sources.yaml`` instead of code.

A ``vendor: mapped`` source has two blocks (schema: :class:`~worker.rules.schema.SignatureSpec`
and :class:`~worker.rules.schema.FieldsSpec`):

- ``signature:`` — HMAC-SHA256 or HMAC-SHA1, hex or base64, in a header (with an optional
  ``prefix`` such as ``sha256=`` and a ``separator`` when the header lists several entries),
  over a ``signed`` template of the raw body, the signed timestamp and the delivery id. The
  timestamp, when there is one, must be inside the replay window. Every active secret is
  tried against every presented signature, each compare in constant time, without stopping
  early.
- ``fields:`` — JMESPath expressions on the JSON body for the event id, the event type and
  result (the ``accept`` filter: anything else is acknowledged and ignored with the reason),
  the subject and its kind, the event time and its format, the direction and the door.

The Standard Webhooks adapter uses :func:`evaluate` / :func:`decide` for its optional
``fields:``. Nothing here touches Redis or the network.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from worker.rules.schema import DEFAULT_DIRECTIONS, FieldsSpec, SignatureSpec
from worker.webhooks.events import (
    MAX_EVENT_ID,
    MAX_SUBJECT,
    Delivery,
    Direction,
    Ignored,
    Parsed,
    Reject,
    Scan,
    SubjectKind,
    opt_str,
    parse_json_object,
    parse_time,
    signing_secrets,
)
from worker.webhooks.signatures import check_timestamp, parse_timestamp, verify

__all__ = [
    "FIELD_ORDER",
    "Failed",
    "SignatureCheck",
    "check_signature",
    "decide",
    "evaluate",
    "receive",
]

#: The fields in the order ``webhooks try`` prints them.
FIELD_ORDER = (
    "event_id",
    "event_type",
    "result",
    "subject",
    "occurred_at",
    "direction",
    "door",
    "door_id",
    "timezone",
)
#: At most this many entries of a signature header are compared (a hostile header may list more).
MAX_ENTRIES = 16
_KINDS: dict[str, SubjectKind] = {"email": "email", "badge": "card", "vendor_id": "vendor_user_id"}
_PLACEHOLDER = re.compile(r"\{(body|timestamp|id)\}")
_ALGORITHMS = {"hmac-sha256": "sha256", "hmac-sha1": "sha1"}


# ---------------------------------------------------------------- signature


@dataclass(frozen=True)
class SignatureCheck:
    """The MAC verdict and, separately, the replay-window verdict (``webhooks try`` shows both)."""

    verified: bool
    reason: str
    timestamp: str | None = None
    """The signed timestamp as sent, if the scheme has one."""
    stale: str | None = None
    """Why the timestamp is outside the replay window (None: inside, or no timestamp)."""


def _entries(value: str, separator: str | None) -> list[str]:
    parts = value.split(separator) if separator else [value]
    return [p.strip() for p in parts[: MAX_ENTRIES + 1]]


def _key(spec: SignatureSpec, delivery: Delivery) -> Callable[[str], bytes] | None:
    if spec.key_encoding == "text":
        return None

    def key(secret: str) -> bytes:
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            where = delivery.secret_env or "the environment"
            raise Reject(401, f"the secret in {where} is not base64 (key_encoding)") from None

    return key


def _signed(spec: SignatureSpec, delivery: Delivery, timestamp: str, delivery_id: str) -> bytes:
    """The signed content: the ``signed`` template with the raw body, timestamp and id."""
    parts = {
        "body": delivery.body,
        "timestamp": timestamp.encode(),
        "id": delivery_id.encode("utf-8", "replace"),
    }
    message = b""
    last = 0
    for match in _PLACEHOLDER.finditer(spec.signed):
        message += spec.signed[last : match.start()].encode() + parts[match.group(1)]
        last = match.end()
    return message + spec.signed[last:].encode()


def _timestamp(
    spec: SignatureSpec, delivery: Delivery, entries: list[str]
) -> tuple[str | None, int, str | None]:
    """The signed timestamp as sent, the index of its entry when it shares the signature
    header (else -1), and why it is unusable (None when it is fine or there is none)."""
    if spec.timestamp is None:
        return None, -1, None
    ts_spec = spec.timestamp
    same = ts_spec.header == spec.header
    pool = entries if same else _entries(delivery.headers.get(ts_spec.header, ""), None)
    for index, entry in enumerate(pool):
        if entry and entry.startswith(ts_spec.prefix):
            timestamp = entry.removeprefix(ts_spec.prefix).strip()
            try:
                parse_timestamp(timestamp, name=f"{ts_spec.header} timestamp")
            except Reject as exc:
                return None, -1, exc.reason
            return timestamp, index if same else -1, None
    return None, -1, f"missing timestamp in {ts_spec.header} header"


def _stale(spec: SignatureSpec, delivery: Delivery, timestamp: str | None) -> str | None:
    """Why ``timestamp`` is outside the replay window now (None: inside, or none signed)."""
    if timestamp is None or spec.timestamp is None:
        return None
    tolerance = spec.timestamp.tolerance
    window = delivery.tolerance_s if tolerance is None else int(tolerance.total_seconds())
    try:
        check_timestamp(
            timestamp,
            now=delivery.now,
            tolerance_s=window,
            name=f"{spec.timestamp.header} timestamp",
        )
    except Reject as exc:
        return exc.reason
    return None


def check_signature(spec: SignatureSpec, delivery: Delivery, secrets: list[str]) -> SignatureCheck:
    """Verify ``delivery`` against ``spec`` with every secret (via :mod:`..signatures`).

    The MAC verdict and the replay-window verdict are kept apart, so ``webhooks try`` can
    say that a recorded delivery is authentic although it is too old to be accepted now.
    """
    header = delivery.headers.get(spec.header)
    if not header:
        return SignatureCheck(False, f"missing {spec.header} header")
    entries = _entries(header, spec.separator)
    timestamp, skip, problem = _timestamp(spec, delivery, entries)
    if problem is not None:
        return SignatureCheck(False, problem)
    delivery_id = delivery.headers.get(spec.id_header) if spec.id_header else None
    if "{id}" in spec.signed and not delivery_id:
        return SignatureCheck(False, f"missing {spec.id_header} header")
    presented = [
        entry.removeprefix(spec.prefix)
        for index, entry in enumerate(entries[:MAX_ENTRIES])
        if index != skip and entry.startswith(spec.prefix)
    ]
    try:
        ok = verify(
            secrets,
            _signed(spec, delivery, timestamp or "", delivery_id or ""),
            presented,
            algorithm=_ALGORITHMS[spec.algorithm],
            encodings=(spec.encoding,),
            key=_key(spec, delivery),
        )
    except Reject as exc:  # a secret that is not base64 under key_encoding: base64
        return SignatureCheck(False, exc.reason)
    if not ok:
        return SignatureCheck(False, "bad signature", timestamp)
    return SignatureCheck(True, "signature verifies", timestamp, _stale(spec, delivery, timestamp))


# ---------------------------------------------------------------- fields


@dataclass(frozen=True)
class Failed:
    """An expression that raised on this body (a type error in a JMESPath function …)."""

    reason: str


@lru_cache(maxsize=512)
def _compiled(expression: str) -> ParsedResult:
    return jmespath.compile(expression)


def _search(expression: str, payload: Mapping[str, Any]) -> Any:
    try:
        return _compiled(expression).search(payload)
    except JMESPathError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Failed(f"expression {expression!r} failed on this body: {detail[:120]}")
    except (RecursionError, ValueError, TypeError, OverflowError, ArithmeticError) as exc:
        return Failed(f"expression {expression!r} failed on this body ({type(exc).__name__})")


def evaluate(fields: FieldsSpec, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Every configured expression's value on ``payload`` (a :class:`Failed` where it raised)."""
    values: dict[str, Any] = {}
    for name in FIELD_ORDER:
        expression = getattr(fields, name)
        if expression is not None:
            values[name] = _search(expression, payload)
    return values


def _text(values: Mapping[str, Any], name: str, fields: FieldsSpec) -> str | None:
    """The field as text (numbers as their digits); 400 when its expression failed or it is
    not a scalar."""
    value = values.get(name)
    if isinstance(value, Failed):
        raise Reject(400, f"field {name}: {value.reason}")
    if isinstance(value, dict | list):
        shown = getattr(fields, name)
        raise Reject(400, f"field {name} ({shown!r}) is a {type(value).__name__}, not a value")
    text = opt_str(value)
    if text is not None and len(text) > MAX_SUBJECT:
        raise Reject(400, f"field {name} is longer than {MAX_SUBJECT} characters")
    return text


def _required(values: Mapping[str, Any], name: str, fields: FieldsSpec) -> str:
    text = _text(values, name, fields)
    if text is None:
        raise Reject(400, f"missing field {name} ({getattr(fields, name)!r} found nothing)")
    return text


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _scalar(value: Any) -> str:
    """A value as the operator wrote it in YAML: ``true``, ``1``, ``granted``; texts quoted
    when shown from a delivery."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return _show(value)


def _same(value: Any, accepted: Any) -> bool:
    """JSON equality without ``1 == true``."""
    return isinstance(value, bool) == isinstance(accepted, bool) and bool(value == accepted)


def _occurred_at(fields: FieldsSpec, values: Mapping[str, Any], now: float) -> datetime:
    value = values.get("occurred_at")
    name = "occurred_at"
    if isinstance(value, Failed):
        raise Reject(400, f"field {name}: {value.reason}")
    fmt = fields.occurred_at_format
    zone = ZoneInfo(fields.occurred_at_timezone) if fields.occurred_at_timezone else None
    if value is None or isinstance(value, bool | dict | list):
        if value is None:
            raise Reject(400, f"missing field {name} ({fields.occurred_at!r} found nothing)")
        raise Reject(400, f"field {name} is not a time: {_show(value)}")
    if fmt in ("unix", "unix_ms"):
        try:
            seconds = float(value)
        except (TypeError, ValueError, OverflowError):
            raise Reject(400, f"field {name} is not a Unix time: {_show(value)}") from None
        if fmt == "unix_ms":
            seconds /= 1000
        if not -1e11 < seconds < 1e11:
            raise Reject(400, f"field {name} is not a Unix time: {_show(value)}")
        return parse_time(seconds, name, now=now)
    if fmt in ("auto", "iso8601"):
        if fmt == "iso8601" and not isinstance(value, str):
            raise Reject(400, f"field {name} is not an ISO-8601 text: {_show(value)}")
        if zone is not None and isinstance(value, str):
            value = _localised(value, None, zone, name)
        return parse_time(value, name, now=now)
    if not isinstance(value, str):
        raise Reject(400, f"field {name} is not a text in format {fmt!r}: {_show(value)}")
    return parse_time(_localised(value, fmt, zone, name), name, now=now)


def _localised(text: str, fmt: str | None, zone: ZoneInfo | None, name: str) -> str:
    """``text`` parsed with ``fmt`` (ISO-8601 when None), given ``zone`` when it has none,
    as ISO-8601 with an offset (which :func:`parse_time` then range-checks)."""
    try:
        if fmt is None:
            parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        else:
            parsed = datetime.strptime(text.strip(), fmt)
    except (ValueError, OverflowError):
        if fmt is None:
            return text  # parse_time names the problem
        raise Reject(400, f"field {name} does not match format {fmt!r}: {_show(text)}") from None
    if parsed.tzinfo is None and zone is not None:
        parsed = parsed.replace(tzinfo=zone)
    if parsed.tzinfo is None:
        return text
    return parsed.astimezone(UTC).isoformat()


def _direction(fields: FieldsSpec, values: Mapping[str, Any]) -> Direction | None:
    text = _text(values, "direction", fields)
    if text is None:
        return None
    table = fields.directions if fields.directions is not None else DEFAULT_DIRECTIONS
    folded = {k.casefold(): v for k, v in table.items()}
    result = folded.get(text.casefold())
    return "in" if result == "in" else "out" if result == "out" else None


def _kind(fields: FieldsSpec, subject: str) -> SubjectKind:
    if fields.subject_kind == "auto":
        return "email" if "@" in subject else "vendor_user_id"
    if fields.subject_kind == "email" and "@" not in subject:
        raise Reject(400, "field subject is not an email (subject_kind: email)")
    return _KINDS[fields.subject_kind]


def decide(
    fields: FieldsSpec,
    values: Mapping[str, Any],
    *,
    now: float,
    delivery_id: str | None = None,
) -> Parsed:
    """The :class:`Scan` or :class:`Ignored` that ``values`` (from :func:`evaluate`) make.

    ``delivery_id`` (a header such as ``webhook-id``) is the event id when the body has none,
    and a second dedupe key otherwise. Raises :class:`Reject` (400) naming the field.
    """
    event_id = _text(values, "event_id", fields) if fields.event_id else None
    event_id = event_id or delivery_id
    if event_id is not None and len(event_id) > MAX_EVENT_ID:
        raise Reject(400, f"event id is longer than {MAX_EVENT_ID} characters")
    event_type = _required(values, "event_type", fields)
    accept = fields.accept
    if event_type not in accept.event_types:
        listed = ", ".join(accept.event_types[:5])
        return Ignored(f"event type {event_type[:60]!r} is not accepted ({listed})", event_id)
    if accept.results is not None:
        result = values.get("result")
        if isinstance(result, Failed):
            raise Reject(400, f"field result: {result.reason}")
        if not any(_same(result, ok) for ok in accept.results):
            listed = ", ".join(_scalar(r) for r in accept.results[:5])
            if result is None:
                found = f"no result ({fields.result!r} found nothing)"
                return Ignored(f"{found} is not accepted ({listed})", event_id)
            shown = _show(result) if isinstance(result, str) else _scalar(result)
            return Ignored(f"result {shown} is not accepted ({listed})", event_id)
    if event_id is None:
        raise Reject(400, f"missing field event_id ({fields.event_id!r} found nothing)")
    subject = _required(values, "subject", fields)
    zone = _text(values, "timezone", fields)
    return Scan(
        event_id=event_id,
        subject=subject,
        subject_kind=_kind(fields, subject),
        occurred_at=_occurred_at(fields, values, now),
        event_type=event_type,
        door_name=_text(values, "door", fields),
        door_id=_text(values, "door_id", fields),
        direction=_direction(fields, values),
        zone=zone,
        extra_ids=(delivery_id,) if delivery_id and delivery_id != event_id else (),
    )


# ---------------------------------------------------------------- the adapter


def receive(delivery: Delivery) -> Parsed:
    """Verify and parse one delivery to a mapped source."""
    spec = delivery.spec
    if spec is None or spec.fields is None:
        raise Reject(404, f"source {delivery.source!r} has no fields: mapping")
    secrets = signing_secrets(delivery)
    signature = spec.signature
    delivery_id: str | None = None
    if signature is not None and signature.id_header:
        delivery_id = opt_str(delivery.headers.get(signature.id_header))
    if secrets is not None and signature is not None:
        check = check_signature(signature, delivery, secrets)
        if not check.verified:
            raise Reject(401, check.reason)
        if check.stale is not None:
            raise Reject(401, check.stale)
    payload = parse_json_object(delivery.body)
    return decide(
        spec.fields, evaluate(spec.fields, payload), now=delivery.now, delivery_id=delivery_id
    )
