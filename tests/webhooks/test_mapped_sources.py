"""Mapped sources over real HTTP: signed deliveries in any documented shape become the right
triggers; tampered, stale, replayed and failed-unlock deliveries do not."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webhooks.conftest import PEOPLE
from tests.webhooks.helpers import queued_triggers
from tests.webhooks.mapped_helpers import (
    SECRETS,
    acme_event,
    acme_headers,
    serve_mapped,
    sha1_headers,
    std_event,
    std_headers,
)
from worker.pipeline.broker import TriggerQueue
from worker.settings import Settings
from worker.store import Keys

OLD, NEW = SECRETS["acme-doors"].split(",")


@pytest.fixture
def http(
    settings: Settings, redis_client: redis.Redis, keys: Keys, queue: TriggerQueue
) -> Iterator[httpx.Client]:
    for url in serve_mapped(settings, redis_client, keys, queue, PEOPLE):
        with httpx.Client(base_url=url, timeout=10) as client:
            yield client


def test_a_granted_unlock_becomes_a_badge_in_for_the_mapped_person(http, redis_client, keys):
    """Every field comes from where fields: says: id, subject, time, direction, door."""
    body = acme_event("evt-1")
    r = http.post("/hooks/acme-doors", content=body, headers=acme_headers(body, NEW))
    assert r.status_code == 202, r.text
    [trigger] = queued_triggers(redis_client, keys)
    assert trigger["id"] == "webhook:acme-doors:evt-1"
    assert trigger["kind"] == "badge_in"
    assert trigger["subject"] == "dana.ruiz@example.com"
    assert trigger["occurred_at"].startswith("2026-01-05T08:58:23")
    assert trigger["attributes"]["door"] == "Lobby"
    assert trigger["attributes"]["door_id"] == "d-17"
    assert trigger["attributes"]["event_type"] == "door.unlock"
    assert trigger["attributes"]["vendor"] == "mapped"
    assert trigger["attributes"]["person"] == "dana.ruiz@example.com"
    assert trigger["attributes"]["direction_reason"] == "vendor reported in"


def test_the_old_secret_still_verifies_during_a_rotation(http, redis_client, keys):
    body = acme_event("evt-old", direction="out")
    r = http.post("/hooks/acme-doors", content=body, headers=acme_headers(body, OLD))
    assert r.status_code == 202, r.text
    assert queued_triggers(redis_client, keys)[0]["kind"] == "badge_out"


def test_a_tampered_body_is_refused_with_401(http, redis_client, keys):
    body = acme_event("evt-2")
    headers = acme_headers(body, NEW)
    tampered = body.replace(b"dana.ruiz", b"sam.lee")
    r = http.post("/hooks/acme-doors", content=tampered, headers=headers)
    assert r.status_code == 401
    assert r.json() == {"error": "bad signature"}
    assert queued_triggers(redis_client, keys) == []


def test_a_stale_timestamp_is_refused_with_401_even_when_correctly_signed(http, redis_client, keys):
    body = acme_event("evt-3")
    stale = int(time.time()) - 3600
    r = http.post("/hooks/acme-doors", content=body, headers=acme_headers(body, NEW, ts=stale))
    assert r.status_code == 401
    assert r.json()["error"].startswith("stale timestamp")
    assert "tolerance 300 s" in r.json()["error"]
    assert queued_triggers(redis_client, keys) == []


def test_a_replay_is_a_duplicate_even_re_signed_with_a_new_timestamp(http, redis_client, keys):
    """The replay window stops old signatures; dedupe on the event id stops fresh re-sends."""
    body = acme_event("evt-4")
    first = http.post("/hooks/acme-doors", content=body, headers=acme_headers(body, NEW))
    again = http.post(
        "/hooks/acme-doors", content=body, headers=acme_headers(body, NEW, ts=int(time.time()) + 1)
    )
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert len(queued_triggers(redis_client, keys)) == 1


def test_a_failed_unlock_is_ignored_with_its_reason(http, redis_client, keys):
    body = acme_event("evt-5", result="denied")
    r = http.post("/hooks/acme-doors", content=body, headers=acme_headers(body, NEW))
    assert r.status_code == 200
    assert r.json()["status"] == "ignored"
    assert r.json()["reason"] == "result 'denied' is not accepted (granted)"
    assert queued_triggers(redis_client, keys) == []


def test_an_unrelated_event_type_is_ignored_with_its_reason(http, redis_client, keys):
    body = acme_event("evt-6", kind="door.held_open")
    r = http.post("/hooks/acme-doors", content=body, headers=acme_headers(body, NEW))
    assert r.status_code == 200
    assert r.json()["reason"] == "event type 'door.held_open' is not accepted (door.unlock)"


def test_a_door_outside_the_configuration_is_ignored(http, redis_client, keys):
    body = acme_event("evt-7", door="Roof")
    r = http.post("/hooks/acme-doors", content=body, headers=acme_headers(body, NEW))
    assert r.status_code == 200
    assert "not configured" in r.json()["reason"]


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        (lambda e: e["data"].pop("user"), 400, "missing field subject ('data.user.email' found"),
        (lambda e: e["data"].update(time="yesterday"), 400, "field occurred_at is not a valid"),
        (lambda e: e["data"].update(time="2026-01-05T08:58:23"), 400, "has no time zone"),
        (lambda e: e["data"]["user"].update(email=["x"]), 400, "field subject ('data.user.email')"),
        (lambda e: e["data"]["user"].update(email="482913"), 400, "not an email"),
        (lambda e: e.pop("id"), 400, "missing field event_id"),
    ],
)
def test_bad_fields_are_a_400_naming_the_field(http, redis_client, keys, change, status, reason):
    event = json.loads(acme_event("evt-8"))
    change(event)
    body = json.dumps(event).encode()
    r = http.post("/hooks/acme-doors", content=body, headers=acme_headers(body, NEW))
    assert r.status_code == status, r.text
    assert reason in r.json()["error"]
    assert queued_triggers(redis_client, keys) == []


def test_a_body_only_sha1_base64_source_reads_badges_and_unix_ms(http, redis_client, keys):
    body = json.dumps(
        {
            "uuid": "u-1",
            "event": {"action": "ACCESS_GRANTED", "at_ms": 1767603503000},
            "card": {"number": "12006465125"},
            "reader": "Main Entrance",
        }
    ).encode()
    forged = http.post(
        "/hooks/sha1-badges", content=body, headers=sha1_headers(body, "not-the-secret")
    )
    r = http.post(
        "/hooks/sha1-badges", content=body, headers=sha1_headers(body, SECRETS["sha1-badges"])
    )
    assert forged.status_code == 401
    assert r.status_code == 202, r.text
    [trigger] = queued_triggers(redis_client, keys)
    assert trigger["subject"] == "12006465125"
    assert trigger["attributes"]["subject_kind"] == "card"
    assert trigger["attributes"]["person"] == "dana.ruiz@example.com"
    assert trigger["occurred_at"].startswith("2026-01-05T08:58:23")


def test_standard_webhooks_with_fields_reads_the_senders_own_payload(http, redis_client, keys):
    """door.access.granted with the email and direction under data: the right person, the
    direction the sender reported; webhook-id is the dedupe key."""
    secret = SECRETS["std-doors"]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    came = std_event(email="Sam.Lee@example.com", direction="in", at=now)
    went = std_event(email="dana.ruiz@example.com", direction="out", at=now)
    denied = std_event(email="dana.ruiz@example.com", direction="in", at=now, kind="door.denied")
    a = http.post("/hooks/std-doors", content=came, headers=std_headers(came, secret, msg_id="m1"))
    b = http.post("/hooks/std-doors", content=went, headers=std_headers(went, secret, msg_id="m2"))
    c = http.post("/hooks/std-doors", content=went, headers=std_headers(went, secret, msg_id="m2"))
    d = http.post(
        "/hooks/std-doors", content=denied, headers=std_headers(denied, secret, msg_id="m3")
    )
    assert (a.status_code, b.status_code, c.status_code, d.status_code) == (202, 202, 200, 200)
    assert d.json()["reason"] == "event type 'door.denied' is not accepted (door.access.granted)"
    triggers = sorted(queued_triggers(redis_client, keys), key=lambda t: t["id"])
    assert [(t["id"], t["kind"], t["attributes"]["person"]) for t in triggers] == [
        ("webhook:std-doors:m1", "badge_in", "sam.lee@example.com"),
        ("webhook:std-doors:m2", "badge_out", "dana.ruiz@example.com"),
    ]


HOSTILE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    source=st.sampled_from(["acme-doors", "sha1-badges", "std-doors"]),
    path=st.sampled_from(["id", "type", "data", "timestamp", "uuid", "card", "event", "reader"]),
    value=HOSTILE,
    signed=st.booleans(),
)
def test_hostile_signed_bodies_over_http_are_never_a_5xx(http, source, path, value, signed):
    """A correctly signed body with any JSON at a mapped path: 2xx or 4xx with a reason."""
    event = json.loads(acme_event("evt-h"))
    event[path] = value
    body = json.dumps(event).encode()
    secret = SECRETS[source].split(",")[-1] if signed else "wrong-secret"
    if source == "acme-doors":
        headers = acme_headers(body, secret)
    elif source == "sha1-badges":
        headers = sha1_headers(body, secret)
    else:
        headers = std_headers(body, SECRETS[source] if signed else "whsec_AAAA", msg_id="h-1")
    r = http.post(f"/hooks/{source}", content=body, headers=headers)
    assert r.status_code < 500, r.text
    assert r.json().get("error") or r.json().get("reason")
    if not signed:
        assert r.status_code == 401


def test_an_unlock_without_a_result_is_ignored_naming_the_expression(http, redis_client, keys):
    event = json.loads(acme_event("evt-9"))
    del event["data"]["result"]
    body = json.dumps(event).encode()
    r = http.post("/hooks/acme-doors", content=body, headers=acme_headers(body, NEW))
    assert r.status_code == 200
    assert r.json()["reason"] == "no result ('data.result' found nothing) is not accepted (granted)"
    assert queued_triggers(redis_client, keys) == []
