"""Hostile input, every adapter x every header it reads x signed or not: a 4xx, never a 5xx.

Two levels, same strategies (tests/webhooks/hostile.py):

- each adapter function on its own: it returns a result or raises ``Reject`` with a 4xx,
  whatever the headers and body (any Unicode, surrogates included);
- the served receiver with real Redis: every answer is < 500, every request is one entry
  in the ingress log (``autoclock webhooks log``) with the status the sender got, and no
  refused delivery leaves a pending dedupe claim behind.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webhooks.helpers import (
    GENEA_GRANTED,
    KISI_UNLOCK,
    SECRETS,
    UNIFI_NFC,
    VERKADA_IN,
)
from tests.webhooks.hostile import (
    HEADERS_READ,
    HOSTILE_JSON,
    dump,
    header_bytes,
    hostile_header_value,
    pending_claims,
    signed_headers,
)
from tests.webhooks.mapped_helpers import SECRETS as MAPPED_SECRETS
from tests.webhooks.mapped_helpers import SOURCES as MAPPED_SOURCES
from tests.webhooks.mapped_helpers import acme_event, acme_headers
from worker.webhooks.adapters import ADAPTERS
from worker.webhooks.events import Delivery, Reject, Scan, TrackerChange
from worker.webhooks.ingress import IngressLog

VENDOR = {
    "kisi-hq": "kisi",
    "verkada-hq": "verkada",
    "unifi-hq": "unifi",
    "genea-hq": "genea",
    "std": "standard",
    "legacy": "shared_secret",
    "webwork": "webwork",
    "acme-doors": "mapped",
}
NOW = time.time()
#: The mapped source (served by other tests' apps, so only checked adapter-level here).
ACME = next(s for s in MAPPED_SOURCES.webhooks if s.name == "acme-doors")
ACME_SECRETS = MAPPED_SECRETS["acme-doors"].split(",")


def _generic() -> dict[str, Any]:
    return {
        "type": "badge.in",
        "id": "evt-1",
        "subject": "dana.ruiz@example.com",
        "occurred_at": int(NOW) - 60,
        "door": "Lobby",
    }


BASES: dict[str, dict[str, Any]] = {
    "kisi-hq": json.loads(KISI_UNLOCK),
    "verkada-hq": VERKADA_IN,
    "unifi-hq": UNIFI_NFC,
    "genea-hq": GENEA_GRANTED,
    "std": _generic(),
    "legacy": _generic(),
    "webwork": {"event": "tracker.started", "id": "ww-1", "user_id": 7001, "timestamp": int(NOW)},
    "acme-doors": json.loads(acme_event("acme-1")),
}
#: Every payload field some adapter reads, per source (a path into the JSON object).
FIELDS: dict[str, list[tuple[str, ...]]] = {
    "kisi-hq": [
        ("uuid",),
        ("type",),
        ("success",),
        ("actor_type",),
        ("actor_email",),
        ("actor_id",),
        ("created_at",),
        ("object_name",),
        ("object_id",),
    ],
    "verkada-hq": [
        ("data",),
        ("data", "event_id"),
        ("data", "notification_type"),
        ("data", "user_info"),
        ("data", "user_info", "email"),
        ("data", "user_info", "user_id"),
        ("data", "direction"),
        ("data", "created"),
        ("data", "door_id"),
        ("data", "door_info", "name"),
        ("data", "door_info", "timezone"),
    ],
    "unifi-hq": [
        ("event",),
        ("event_object_id",),
        ("data",),
        ("data", "object", "result"),
        ("data", "actor", "type"),
        ("data", "actor", "id"),
        ("data", "actor", "email"),
        ("data", "location", "name"),
        ("data", "device", "alias"),
    ],
    "genea-hq": [
        ("uuid",),
        ("event_action",),
        ("event_time",),
        ("actor", "user_email"),
        ("actor", "user_uuid"),
        ("card", "card_number"),
        ("door",),
        ("location", "timezone"),
    ],
    "std": [
        ("type",),
        ("id",),
        ("subject",),
        ("subject_kind",),
        ("occurred_at",),
        ("door",),
        ("door_id",),
        ("granted",),
        ("timezone",),
    ],
    "webwork": [
        ("event",),
        ("id",),
        ("user_id",),
        ("email",),
        ("timestamp",),
        ("token",),
        ("data",),
    ],
}
FIELDS["legacy"] = FIELDS["std"]
FIELDS["acme-doors"] = [
    ("id",),
    ("type",),
    ("data",),
    ("data", "result"),
    ("data", "user", "email"),
    ("data", "time"),
    ("data", "direction"),
    ("data", "door", "name"),
    ("data", "door", "id"),
]
HEADERS = {**HEADERS_READ, "acme-doors": ["X-Acme-Signature"]}
SOURCES = sorted(BASES)
SERVED = [name for name in SOURCES if VENDOR[name] != "mapped"]


def _set(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target: Any = payload
    for part in path[:-1]:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[path[-1]] = value


@st.composite
def hostile_delivery(
    draw: st.DrawFn, *, any_unicode: bool, sources: list[str] = SOURCES
) -> tuple[str, bytes, dict[str, str]]:
    """(source, body, headers): one source's payload and headers with hostile parts."""
    source = draw(st.sampled_from(sources))
    payload = copy.deepcopy(BASES[source])
    for path in draw(st.lists(st.sampled_from(FIELDS[source]), max_size=2, unique=True)):
        _set(payload, path, draw(HOSTILE_JSON))
    body = dump(payload).encode("utf-8", "surrogatepass")
    signer = (lambda b: acme_headers(b, ACME_SECRETS[-1])) if source == "acme-doors" else None
    signed = draw(st.booleans())
    headers = (signer(body) if signer else signed_headers(source, body)) if signed else {}
    value_text = (
        st.text(st.characters(codec=None) | st.characters(categories=["Cs"]), max_size=20)
        if any_unicode
        else st.nothing()
    )
    for name in draw(st.lists(st.sampled_from(HEADERS[source]), max_size=2, unique=True)):
        headers[name] = draw(hostile_header_value() | value_text)
    return source, body, headers


def _delivery(source: str, body: bytes, headers: dict[str, str]) -> Delivery:
    mapped = source == "acme-doors"
    return Delivery(
        body=body,
        headers={k.lower(): v for k, v in headers.items()},
        secrets=ACME_SECRETS if mapped else [SECRETS[source]],
        spec=ACME if mapped else None,
        source=source,
        allow_unsigned=False,
        now=time.time(),
        tolerance_s=300,
    )


@settings(max_examples=1500, deadline=None, database=None)
@given(hostile_delivery(any_unicode=True))
def test_every_adapter_answers_hostile_input_with_a_result_or_a_4xx(delivery):
    source, body, headers = delivery
    try:
        parsed = ADAPTERS[VENDOR[source]](_delivery(source, body, headers))
    except Reject as exc:
        status = exc.status
    else:
        status = 200
    assert 200 <= status < 500
    if status != 200:
        return
    texts = (
        [parsed.event_id, parsed.subject, parsed.door_name or "", parsed.zone or ""]
        if isinstance(parsed, Scan)
        else [parsed.event_id or "", parsed.user_id or "", parsed.email or ""]
        if isinstance(parsed, TrackerChange)
        else [parsed.reason, parsed.event_id or ""]
    )
    for text in texts:
        text.encode("utf-8")  # storable: no lone surrogate got through


@pytest.mark.parametrize(
    ("source", "header", "value"),
    [
        ("verkada-hq", "Verkada-Signature", "²|00"),
        ("unifi-hq", "Signature", "t=¹,v1=00"),
        ("std", "webhook-timestamp", "³"),
        ("std", "webhook-timestamp", "١٧٦٧٦٠٣٥٠٥"),
    ],
)
def test_found_header_repros_are_401(source, header, value):
    body = dump(BASES[source]).encode()
    headers = {**signed_headers(source, body), header: value}
    with pytest.raises(Reject) as caught:
        ADAPTERS[VENDOR[source]](_delivery(source, body, headers))
    assert caught.value.status == 401


def test_served_receiver_refuses_hostile_input_with_a_logged_4xx_and_no_pending_claim(
    app_url, redis_client, keys
):
    """Every adapter x every header it reads x signed or not, over HTTP with real Redis."""
    ingress = IngressLog(redis_client, keys)
    statuses: list[int] = []
    with httpx.Client(base_url=app_url, timeout=10) as client:

        @settings(
            max_examples=400,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(hostile_delivery(any_unicode=False, sources=SERVED))
        def one(delivery):
            source, body, headers = delivery
            wire = {k: header_bytes(v) for k, v in headers.items()}
            wire["Content-Type"] = b"application/json"
            before = redis_client.xlen(ingress.key)
            response = client.post(f"/hooks/{source}", content=body, headers=wire)
            statuses.append(response.status_code)
            assert response.status_code < 500, (response.status_code, response.text)
            assert redis_client.xlen(ingress.key) == before + 1, "request missing from the log"
            (entry,) = ingress.tail(1)
            assert entry["status"] == str(response.status_code)
            if response.status_code >= 400:
                assert "error" in response.json()
                assert entry["decision"] == "rejected"
                assert pending_claims(redis_client, keys) == []

        one()
    assert {400, 401} <= set(statuses)
    assert [s for s in statuses if s < 300], "no signed delivery got through at all"


@pytest.mark.parametrize(
    ("source", "raw"),
    [
        ("genea-hq", '{"uuid": ' + "1" * 4301 + "}"),
        ("webwork", '{"event": "tracker.started", "user_id": ' + "7" * 4400 + "}"),
        ("std", '{"type": "badge.in", "id": "\\ud800", "subject": "a@b.c", "occurred_at": 1}'),
        ("kisi-hq", '{"uuid": NaN}'),
        ("unifi-hq", "[" * 100_000 + "]" * 100_000),
    ],
)
@pytest.mark.parametrize("signed", [True, False])
def test_found_body_repros_are_400_or_401_and_logged(http, redis_client, keys, source, raw, signed):
    body = raw.encode()
    headers = signed_headers(source, body) if signed else {}
    response = http.post(
        f"/hooks/{source}", content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == (400 if signed else 401), response.text
    (entry,) = IngressLog(redis_client, keys).tail(1)
    assert entry["status"] == str(response.status_code)
    assert pending_claims(redis_client, keys) == []
