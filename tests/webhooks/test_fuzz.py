"""2,000+ generated requests against the running server: never a 5xx, always a reasoned answer.

The strategies include what an independent acceptance run used to get 500s: non-ASCII digits
(``Nd``/``No``) in every signature and timestamp header, integers over 4,300 digits, NaN and
Infinity, lone surrogates, deep nesting, odd subjects (``²``), signed and unsigned. Every
request must also appear in the ingress log, and no refusal may leave a pending claim.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.webhooks.helpers import (
    GENEA_GRANTED,
    KISI_UNLOCK,
    SECRETS,
    UNIFI_NFC,
    VERKADA_IN,
    genea_headers,
    kisi_headers,
    standard_headers,
    unifi_headers,
    verkada_headers,
)
from tests.webhooks.hostile import (
    HOSTILE_JSON,
    NUMERIC_TEXT,
    dump,
    header_bytes,
    hostile_header_value,
    pending_claims,
)
from worker.webhooks.ingress import IngressLog

REQUESTS = 2_000
SOURCES = ["kisi-hq", "verkada-hq", "unifi-hq", "genea-hq", "std", "legacy", "webwork", "nosecret"]
HEADER_TEXT = (
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80).map(str.strip)
    | hostile_header_value()
    | st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=20)
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | HOSTILE_JSON,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
FIELD_NAMES = [
    "uuid",
    "type",
    "success",
    "actor_id",
    "created_at",
    "event",
    "event_object_id",
    "data",
    "event_action",
    "event_time",
    "subject",
    "occurred_at",
    "id",
    "door",
    "user_id",
    "token",
    "actor",
    "granted",
    "subject_kind",
    "timezone",
]
CONTENT_TYPES = (
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "",
            "application/x-www-form-urlencoded",
            "application/cloudevents+json",
            "APPLICATION/JSON",
        ]
    )
    | HEADER_TEXT
)


@st.composite
def mutated_sample(draw):
    """A documented vendor sample with some fields replaced, removed or added."""
    base = draw(st.sampled_from([json.loads(KISI_UNLOCK), VERKADA_IN, UNIFI_NFC, GENEA_GRANTED]))
    payload = json.loads(json.dumps(base))
    target = payload["data"] if "data" in payload and draw(st.booleans()) else payload
    if not isinstance(target, dict):
        target = payload
    for name in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=3)):
        if draw(st.booleans()):
            target.pop(name, None)
        else:
            target[name] = draw(JSON_VALUES)
    return payload


@st.composite
def generic_payload(draw):
    return {
        "type": draw(st.sampled_from(["badge.scan", "badge.in", "badge.out", "other"])),
        "id": draw(st.text(min_size=1, max_size=20) | st.integers()),
        "subject": draw(
            st.sampled_from(["dana.ruiz@example.com", "482913", "12006465125", "²", "7001"])
            | st.text(max_size=10)
            | NUMERIC_TEXT
            | HOSTILE_JSON
        ),
        "occurred_at": draw(
            st.integers(0, 2**40)
            | st.sampled_from(["2026-11-02T08:00:00Z", "bad", "2026-11-02T08:00:00"])
        ),
        "door": draw(st.sampled_from(["Lobby", "Garage", "Roof", "Main Entrance"]) | st.none()),
    }


@st.composite
def request(draw):
    """(source path, content type, body, headers): random, malformed, or validly signed."""
    # "." and ".." are dot segments: the client sends them to / or /hooks, not to a source
    source = draw(
        st.sampled_from(SOURCES) | st.text(max_size=20).filter(lambda s: s not in (".", ".."))
    )
    content_type = draw(CONTENT_TYPES)
    style = draw(st.sampled_from(["bytes", "json", "sample", "generic"]))
    if style == "bytes":
        body = draw(st.binary(max_size=300))
    elif style == "json":
        body = dump(draw(JSON_VALUES)).encode()
    elif style == "sample":
        body = dump(draw(mutated_sample())).encode()
    else:
        body = dump(draw(generic_payload())).encode()
    headers: dict[str, str] = {}
    signing = draw(st.sampled_from(["valid", "random", "none", "stale"]))
    secret = SECRETS.get(source if isinstance(source, str) else "", "x")
    ts = int(time.time()) - (900 if signing == "stale" else 0)
    if signing in ("valid", "stale"):
        if source == "std":
            headers = standard_headers(
                body, secret, msg_id=draw(st.text("abc123", min_size=1, max_size=8)), ts=ts
            )
        elif source in ("legacy", "webwork"):
            headers = {"X-Autoclock-Token": secret, "X-Webwork-Token": secret}
        else:
            headers = {
                **kisi_headers(body, secret),
                **verkada_headers(body, secret, ts=ts),
                **unifi_headers(body, secret, ts=ts),
                **genea_headers(body, secret),
            }
    elif signing == "random":
        for name in draw(
            st.lists(
                st.sampled_from(
                    [
                        "X-Signature",
                        "Verkada-Signature",
                        "Signature",
                        "x-sequr-signature",
                        "webhook-id",
                        "webhook-timestamp",
                        "webhook-signature",
                        "X-Autoclock-Token",
                        "X-Webwork-Token",
                    ]
                ),
                max_size=4,
            )
        ):
            headers[name] = draw(HEADER_TEXT)
    headers["Content-Type"] = content_type
    return quote(source, safe=""), body, headers


def test_fuzzed_requests_never_get_a_5xx(app_url, redis_client, keys):
    """Random bodies, headers, content types, sources and signatures: every answer is < 500,
    logged, and a refusal leaves no pending dedupe claim."""
    statuses: list[int] = []
    ingress = IngressLog(redis_client, keys)
    with httpx.Client(base_url=app_url, timeout=10) as client:
        # Besides the random draws, one signed delivery of an event that is not a badge scan:
        # its 200 ("ignored") is the rarest answer, and the closing check wants every class.
        ignored = dump({"type": "other", "id": "fuzz-ignored", "subject": "x"}).encode()
        ignored_headers = {
            **standard_headers(ignored, SECRETS["std"], msg_id="fuzz-ignored"),
            "Content-Type": "application/json",
        }

        @settings(
            max_examples=REQUESTS,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(req=request())
        @example(req=("std", ignored, ignored_headers))
        def one(req):
            source, body, headers = req
            wire = {name: header_bytes(value) for name, value in headers.items()}
            before = redis_client.xlen(ingress.key)
            response = client.post(f"/hooks/{source}", content=body, headers=wire)
            statuses.append(response.status_code)
            assert response.status_code < 500, (response.status_code, response.text, req)
            assert redis_client.xlen(ingress.key) == before + 1, ("not in the log", req)
            if response.status_code >= 400:
                assert pending_claims(redis_client, keys) == [], req
            if response.headers.get("content-type", "").startswith("application/json"):
                answer = response.json()
                assert ("error" in answer) == (response.status_code >= 400)

        one()
        # and after all that, a valid delivery is still accepted
        body = json.dumps(
            {
                "type": "badge.in",
                "id": "after-the-fuzz",
                "subject": "dana.ruiz@example.com",
                "occurred_at": int(time.time()),
                "door": "Lobby",
            }
        ).encode()
        headers = standard_headers(body, SECRETS["std"], msg_id="after-the-fuzz")
        assert client.post("/hooks/std", content=body, headers=headers).status_code == 202
    assert len(statuses) >= REQUESTS
    assert {200, 400, 401, 404, 415} <= set(statuses), sorted(set(statuses))
