"""Hostile-input strategies shared by the property tests and the fuzz.

What the acceptance run used and what these generate: Unicode decimal digits and other
numeric characters (``Nd``/``No``: superscripts, Arabic-Indic digits) in every header and
field, lone surrogates,
integers past Python's 4,300-digit limit, ``NaN``/``Infinity``, deep nesting, odd subjects.
JSON is written by :func:`dump`, which splices :class:`Raw` text in as it is, so a body can
hold what ``json.dumps`` refuses to write.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis
from hypothesis import strategies as st

from tests.webhooks.helpers import (
    SECRETS,
    genea_headers,
    kisi_headers,
    standard_headers,
    unifi_headers,
    verkada_headers,
)
from worker.store import Keys


class Raw(str):
    """JSON text to splice into a body verbatim (by :func:`dump`)."""


def dump(value: Any) -> str:
    """``json.dumps`` that writes :class:`Raw` values verbatim."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)


#: Characters ``str.isdigit`` or ``int`` treat as digits although they are not ASCII.
NUMERIC_CHARS = st.characters(categories=["Nd", "No", "Nl"], exclude_characters="0123456789")
#: The same, limited to Latin-1 (what an HTTP header can carry as one byte each).
LATIN1_NUMERIC = st.sampled_from(["²", "³", "¹", "¼", "½", "¾"])
NUMERIC_TEXT = st.text(
    NUMERIC_CHARS | LATIN1_NUMERIC | st.sampled_from("0123456789"), min_size=1, max_size=8
)

#: JSON values the standard library parses but that break code later (or do not parse).
HOSTILE_JSON = st.one_of(
    st.sampled_from(
        [
            Raw("9" * 4301),
            Raw("-" + "1" * 5000),
            Raw("NaN"),
            Raw("Infinity"),
            Raw("-Infinity"),
            Raw("1e999"),
            Raw('"\\ud800"'),
            Raw('"a\\udfffb"'),
            Raw('{"\\ud83d": 1}'),
            Raw("[" * 5000 + "]" * 5000),
            Raw("[" * 200 + "]" * 200),
            Raw('{"a":' * 300 + "1" + "}" * 300),
            "²",
            "¹",
            "١٢٣",
            "",
            " ",
        ]
    ),
    NUMERIC_TEXT,
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)

#: Every header some adapter (or the app) reads.
HEADERS_READ = {
    "kisi-hq": ["X-Signature"],
    "verkada-hq": ["Verkada-Signature"],
    "unifi-hq": ["Signature"],
    "genea-hq": ["x-sequr-signature"],
    "std": [
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "svix-id",
        "svix-timestamp",
        "svix-signature",
    ],
    "legacy": ["X-Autoclock-Token"],
    "webwork": [
        "X-Webwork-Token",
        "X-Webhook-Token",
        "X-Webwork-Signature",
        "X-Signature",
        "Signature",
    ],
}
ALL_HEADERS = sorted({h for names in HEADERS_READ.values() for h in names})


@st.composite
def hostile_header_value(draw: st.DrawFn) -> str:
    """A header value built around non-ASCII digits, in the shape the header expects."""
    digits = draw(NUMERIC_TEXT)
    other = draw(NUMERIC_TEXT | st.text(max_size=10))
    return draw(
        st.sampled_from(
            [
                digits,
                f"{digits}|{other}",
                f"{digits}|00",
                f"t={digits},v1={other}",
                f"t={digits},v1=00",
                f"v1,{digits}",
                f"sha1={digits}",
                f"sha256={digits}",
                f" {digits} ",
            ]
        )
    )


def header_bytes(value: str) -> bytes:
    """How a sender puts ``value`` on the wire: Latin-1 when it can, else UTF-8.

    Control characters and surrounding spaces, which HTTP forbids, are dropped.
    """
    value = "".join(c for c in value if c >= " " and c != "\x7f").strip()
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def signed_headers(source: str, body: bytes, *, msg_id: str = "msg-1") -> dict[str, str]:
    """Valid signature / token headers for ``source`` over ``body``, signed now."""
    secret = SECRETS.get(source, "x")
    ts = int(time.time())
    if source == "std":
        return standard_headers(body, secret, msg_id=msg_id, ts=ts)
    if source in ("legacy", "webwork"):
        return {"X-Autoclock-Token": secret, "X-Webwork-Token": secret}
    return {
        **kisi_headers(body, secret),
        **verkada_headers(body, secret, ts=ts),
        **unifi_headers(body, secret, ts=ts),
        **genea_headers(body, secret),
    }


def pending_claims(client: redis.Redis, keys: Keys) -> list[str]:
    """Dedupe claims of ``keys``' namespace still pending (an answered delivery leaves none)."""
    names = list(client.scan_iter(match=keys("webhooks", "seen", "*"), count=1000))
    if not names:
        return []
    values = client.mget(names)
    return [
        name.decode()
        for name, value in zip(names, values, strict=True)
        if value is not None and value.startswith(b"pending:")
    ]
