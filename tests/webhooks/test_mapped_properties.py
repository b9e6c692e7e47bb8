"""Property-based tests of mapped sources: every signature configuration verifies exactly the
deliveries signed as it describes, and no body or header value makes the adapter do anything
but answer (a Scan, an Ignored, or a 4xx Reject)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from worker.rules.schema import WebhookSource
from worker.webhooks.adapters import mapped
from worker.webhooks.events import Delivery, Ignored, Reject, Scan

NOW = 1_767_603_600.0

SCHEMES = st.fixed_dictionaries(
    {
        "algorithm": st.sampled_from(["hmac-sha256", "hmac-sha1"]),
        "encoding": st.sampled_from(["hex", "base64"]),
        "header": st.sampled_from(["X-Signature", "Signature", "webhook-signature"]),
        "layout": st.sampled_from(["alone", "list", "inline-ts", "ts-header"]),
        "prefix": st.sampled_from(["", "sha256=", "v1,", "v1="]),
        "separator": st.sampled_from([" ", ",", "|", ";"]),
        "template": st.sampled_from(["{body}", "{timestamp}.{body}", "{id}.{timestamp}.{body}"]),
        "key_encoding": st.sampled_from(["text", "base64"]),
    }
)
SECRET_TEXT = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=40)


def _config(scheme: dict[str, Any]) -> tuple[WebhookSource, dict[str, Any]]:
    """A source from a drawn scheme, adjusted to something an operator could write."""
    layout = scheme["layout"]
    template = scheme["template"]
    if layout in ("alone", "list") and "{timestamp}" in template:
        layout = "ts-header"
    prefix = scheme["prefix"]
    separator = scheme["separator"]
    if layout == "inline-ts" and (separator in prefix or prefix == ""):
        prefix = "v1="
    if layout == "list" and separator in prefix:
        separator = " "
    signature: dict[str, Any] = {
        "algorithm": scheme["algorithm"],
        "encoding": scheme["encoding"],
        "header": scheme["header"],
        "prefix": prefix,
        "signed": template,
        "key_encoding": scheme["key_encoding"],
    }
    if layout in ("list", "inline-ts"):
        signature["separator"] = separator
    if layout == "inline-ts":
        signature["timestamp"] = {"header": scheme["header"], "prefix": "t="}
    elif "{timestamp}" in template:
        signature["timestamp"] = {"header": "X-Timestamp"}
    if "{id}" in template:
        signature["id_header"] = "X-Delivery-Id"
    source = WebhookSource.model_validate(
        {
            "name": "prop",
            "vendor": "mapped",
            "signature": signature,
            "fields": {
                "event_id": "id",
                "event_type": "type",
                "accept": {"event_types": ["door.unlock"]},
                "subject": "who",
                "occurred_at": "at",
            },
        }
    )
    return source, {**scheme, "layout": layout, "prefix": prefix, "separator": separator}


def _sign(scheme: dict[str, Any], secret: str, body: bytes, ts: int, msg_id: str) -> dict[str, str]:
    """Sign as the scheme's description says (independently of the adapter's code)."""
    key = base64.b64decode(secret) if scheme["key_encoding"] == "base64" else secret.encode()
    signed = (
        scheme["template"]
        .replace("{timestamp}", str(ts))
        .replace("{id}", msg_id)
        .encode()
        .replace(b"{body}", body)
    )
    digest = hashlib.sha256 if scheme["algorithm"] == "hmac-sha256" else hashlib.sha1
    mac = hmac.new(key, signed, digest).digest()
    value = mac.hex() if scheme["encoding"] == "hex" else base64.b64encode(mac).decode()
    sig = scheme["prefix"] + value
    sep = scheme["separator"]
    headers = {"X-Delivery-Id": msg_id, "X-Timestamp": str(ts)}
    if scheme["layout"] == "list":
        sig = sep.join(["v0,deadbeef", sig]) if sep != "," else f"v0=deadbeef{sep}{sig}"
    elif scheme["layout"] == "inline-ts":
        sig = f"t={ts}{sep}{sig}"
    headers[scheme["header"].lower()] = sig
    return headers


def _delivery(source: WebhookSource, secrets: list[str], body: bytes, headers: dict[str, str]):
    return Delivery(
        body=body,
        headers={k.lower(): v for k, v in headers.items()},
        secrets=secrets,
        source=source.name,
        allow_unsigned=source.allow_unsigned,
        now=NOW,
        tolerance_s=300,
        spec=source,
    )


def _refused(delivery: Delivery) -> Reject:
    with pytest.raises(Reject) as caught:
        mapped.receive(delivery)
    return caught.value


BODY = json.dumps(
    {"id": "e-1", "type": "door.unlock", "who": "dana@example.com", "at": "2026-01-05T08:58:23Z"}
).encode()


@settings(max_examples=300, deadline=None)
@given(scheme=SCHEMES, secret=SECRET_TEXT, other=SECRET_TEXT, data=st.data())
def test_every_scheme_verifies_its_own_signature_and_nothing_tampered(scheme, secret, other, data):
    source, scheme = _config(scheme)
    if scheme["key_encoding"] == "base64":
        secret = base64.b64encode(secret.encode()).decode()
        other = base64.b64encode(other.encode()).decode()
    ts = int(NOW) - data.draw(st.integers(0, 299))
    headers = _sign(scheme, secret, BODY, ts, "msg-1")
    # any secret of a rotation verifies, in either order
    parsed = mapped.receive(_delivery(source, [other, secret], BODY, headers))
    assert isinstance(parsed, Scan)
    assert parsed.subject == "dana@example.com"
    # one flipped byte anywhere in the body is refused
    index = data.draw(st.integers(0, len(BODY) - 1))
    tampered = BODY[:index] + bytes([BODY[index] ^ 0x01]) + BODY[index + 1 :]
    assert _refused(_delivery(source, [secret], tampered, headers)).status == 401
    # a secret that is not this one is refused
    if other != secret:
        assert _refused(_delivery(source, [other], BODY, headers)).reason == "bad signature"
    # a signed timestamp outside the window is refused even though the MAC is right
    if source.signature is not None and source.signature.timestamp is not None:
        old = _sign(scheme, secret, BODY, int(NOW) - 301 - data.draw(st.integers(0, 10**6)), "m")
        assert _refused(_delivery(source, [secret], BODY, old)).reason.startswith("stale timestamp")


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "door.unlock",
            "granted",
            "dana@example.com",
            "2026-01-05T08:58:23Z",
            "2026-01-05T08:58:23",
            "1767603503",
            "in",
            "OUT",
            "9" * 400,
            "\x00",
            "\ud7ff",
            "1e308",
        ]
    )
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=25,
)
TIMES = ["2026-01-05T08:58:23Z", "2026-01-05T08:58:23", "05/01/2026 08:58:23", 1767603503000]
FIELD_PATHS = ["id", "type", "result", "who", "at", "dir", "door", "zone", "data"]


@st.composite
def hostile_payloads(draw):
    """A valid delivery with a few of its fields (or all of them) replaced by hostile JSON."""
    payload: dict[str, Any] = {
        "id": "e-2",
        "type": "door.unlock",
        "result": draw(st.sampled_from(["granted", True, 1, "denied", False, 0])),
        "who": "dana@example.com",
        "at": draw(st.sampled_from(TIMES)),
        "dir": draw(st.sampled_from(["in", "OUT", "Exit", "sideways", None])),
        "door": "Lobby",
        "zone": draw(st.sampled_from(["Europe/Berlin", "Mars/Olympus", None])),
    }
    for name in draw(st.sets(st.sampled_from(FIELD_PATHS), max_size=len(FIELD_PATHS))):
        if draw(st.integers(0, 4)) == 0:
            payload.pop(name, None)
        else:
            payload[name] = draw(JSON_VALUES)
    return payload


HOSTILE_SOURCE = WebhookSource.model_validate(
    {
        "name": "hostile",
        "vendor": "mapped",
        "allow_unsigned": True,
        "doors": {"Lobby": "in"},
        "fields": {
            "event_id": "id",
            "event_type": "type",
            "result": "result",
            "accept": {"event_types": ["door.unlock"], "results": ["granted", True, 1]},
            "subject": "who",
            "occurred_at": "at",
            "occurred_at_format": "auto",
            "occurred_at_timezone": "Europe/Berlin",
            "direction": "dir",
            "door": "door",
            "door_id": "data.door.id || data[0]",
            "timezone": "zone",
        },
    }
)
STRPTIME_SOURCE = HOSTILE_SOURCE.model_copy(
    update={
        "fields": HOSTILE_SOURCE.fields.model_copy(  # type: ignore[union-attr]
            update={"occurred_at_format": "%d/%m/%Y %H:%M:%S"}
        )
    }
)
UNIX_SOURCE = HOSTILE_SOURCE.model_copy(
    update={
        "fields": HOSTILE_SOURCE.fields.model_copy(  # type: ignore[union-attr]
            update={"occurred_at_format": "unix_ms", "subject": "sort_by(data, &id)[0].who"}
        )
    }
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    payload=hostile_payloads(),
    source=st.sampled_from([HOSTILE_SOURCE, STRPTIME_SOURCE, UNIX_SOURCE]),
    headers=st.dictionaries(
        st.sampled_from(["x-signature", "content-type", "x-delivery-id"]),
        st.text(max_size=60),
    ),
)
def test_hostile_values_are_answered_never_raised(payload, source, headers):
    """Any JSON at the mapped paths: a Scan with sane fields, an Ignored, or a 400 — never
    another exception (which the receiver would turn into a 500)."""
    try:
        body = json.dumps(payload).encode()
    except ValueError:
        return
    delivery = _delivery(source, [], body, headers)
    try:
        parsed = mapped.receive(delivery)
    except Reject as exc:
        rejected = exc
    else:
        rejected = None
    if rejected is not None:
        event(f"reject {rejected.status}")
        assert 400 <= rejected.status < 500
        assert rejected.reason
        return
    event(type(parsed).__name__)
    if isinstance(parsed, Ignored):
        assert parsed.reason
        return
    assert isinstance(parsed, Scan)
    assert 0 < len(parsed.event_id) <= 200
    assert 0 < len(parsed.subject) <= 320
    assert parsed.occurred_at.tzinfo is not None
    assert parsed.occurred_at.year >= 2000
    assert parsed.direction in (None, "in", "out")


def test_unsigned_body_bytes_are_a_400_not_a_crash():
    for body in (b"", b"\xff\xfe", b"[1,2]", b"{" * 100_000, b'{"a": NaN}', b"null"):
        assert _refused(_delivery(HOSTILE_SOURCE, [], body, {})).status == 400


def test_a_fresh_signature_now_is_accepted_by_the_live_clock():
    """Sanity check of the window itself with the real time (no fixed NOW)."""
    source, scheme = _config(
        {
            "algorithm": "hmac-sha256",
            "encoding": "hex",
            "header": "Signature",
            "layout": "inline-ts",
            "prefix": "v1=",
            "separator": ",",
            "template": "{timestamp}.{body}",
            "key_encoding": "text",
        }
    )
    now = time.time()
    headers = _sign(scheme, "s3cret-value", BODY, int(now), "m")
    delivery = _delivery(source, ["s3cret-value"], BODY, headers)
    assert isinstance(mapped.receive(Delivery(**{**delivery.__dict__, "now": now})), Scan)
