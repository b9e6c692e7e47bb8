"""Each vendor's documented payloads, signed as the vendor signs them, become the right triggers."""

from __future__ import annotations

import base64
import copy
import json
import time

import httpx
import pytest
import redis

from tests.webhooks.helpers import (
    GENEA_AUDIT,
    GENEA_GRANTED,
    KISI_FAILED,
    KISI_UNLOCK,
    SECRETS,
    UNIFI_DPS,
    UNIFI_NFC,
    UNIFI_WALLET,
    VERKADA_IN,
    VERKADA_OPENED,
    VERKADA_OUT,
    body_of,
    genea_headers,
    kisi_headers,
    queued_triggers,
    standard_headers,
    unifi_headers,
    verkada_headers,
)
from worker.pipeline.state import TrackerState
from worker.store import Keys


def only_trigger(redis_client: redis.Redis, keys: Keys) -> dict:
    triggers = queued_triggers(redis_client, keys)
    assert len(triggers) == 1, triggers
    return triggers[0]


@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_kisi_unlock_signed_hex_or_base64_is_a_badge_in(http, redis_client, keys, encoding):
    """A Kisi user unlock, signed in hex or base64, becomes badge_in at the day's first scan."""
    body = body_of(KISI_UNLOCK)
    r = http.post(
        "/hooks/kisi-hq",
        content=body,
        headers=kisi_headers(body, SECRETS["kisi-hq"], encoding=encoding),
    )
    assert r.status_code == 202, r.text
    trigger = only_trigger(redis_client, keys)
    assert trigger["id"] == "webhook:kisi-hq:5b0e8d9a-2f61-4c7e-9a3b-6d1f2e4c8a71"
    assert trigger["source"] == "webhook:kisi-hq"
    assert trigger["kind"] == "badge_in"
    assert trigger["subject"] == "482913"
    assert trigger["occurred_at"].startswith("2026-01-05T08:58:23")
    assert trigger["attributes"]["door"] == "Main Entrance"
    assert trigger["attributes"]["vendor"] == "kisi"
    assert trigger["attributes"]["person"] == "dana.ruiz@example.com"
    assert "first scan" in trigger["attributes"]["direction_reason"]


def test_kisi_failed_unlock_is_ignored_with_reason(http, redis_client, keys):
    """A failed Kisi unlock is acknowledged (2xx) with a reason and makes no trigger."""
    body = body_of(KISI_FAILED)
    r = http.post("/hooks/kisi-hq", content=body, headers=kisi_headers(body, SECRETS["kisi-hq"]))
    assert r.status_code == 200
    assert r.json()["status"] == "ignored"
    assert "not successful" in r.json()["reason"]
    assert queued_triggers(redis_client, keys) == []


def test_verkada_in_and_out_doors_follow_the_vendor_direction(http, redis_client, keys):
    """Verkada's Inbound/Outbound direction decides badge_in / badge_out; the PIN is never kept."""
    for payload in (VERKADA_IN, VERKADA_OUT):
        body = body_of(payload)
        r = http.post(
            "/hooks/verkada-hq", content=body, headers=verkada_headers(body, SECRETS["verkada-hq"])
        )
        assert r.status_code == 202, r.text
    triggers = {t["id"]: t for t in queued_triggers(redis_client, keys)}
    first = triggers["webhook:verkada-hq:a4f9c2d1-7b3e-4e8a-9c10-2b7d5e6f8a90"]
    second = triggers["webhook:verkada-hq:e7d1c0b2-5a4f-4c3e-8d2b-1a0f9e8d7c6b"]
    assert (first["kind"], second["kind"]) == ("badge_in", "badge_out")
    assert first["subject"] == "dana.ruiz@example.com"
    assert first["attributes"]["door"] == "HQ - Lobby Turnstile"
    assert first["occurred_at"].startswith("2026-01-05T08:58:23")
    dumped = json.dumps(list(triggers.values())) + repr(redis_client.xrange(keys("ingress")))
    assert "40|5990" not in dumped


def test_verkada_door_opened_is_ignored(http, redis_client, keys):
    """A Verkada door_opened (no person) is acknowledged with a reason, no trigger."""
    body = body_of(VERKADA_OPENED)
    r = http.post(
        "/hooks/verkada-hq", content=body, headers=verkada_headers(body, SECRETS["verkada-hq"])
    )
    assert r.status_code == 200
    assert "door_opened" in r.json()["reason"]
    assert queued_triggers(redis_client, keys) == []


def test_verkada_retry_with_new_timestamp_is_a_duplicate(http, redis_client, keys):
    """Verkada re-signs a retry with a new timestamp; the event id still dedupes it."""
    body = body_of(VERKADA_IN)
    now = int(time.time())
    r1 = http.post(
        "/hooks/verkada-hq",
        content=body,
        headers=verkada_headers(body, SECRETS["verkada-hq"], ts=now - 5),
    )
    r2 = http.post(
        "/hooks/verkada-hq",
        content=body,
        headers=verkada_headers(body, SECRETS["verkada-hq"], ts=now),
    )
    assert (r1.status_code, r2.status_code) == (202, 200)
    assert r2.json()["status"] == "duplicate"
    assert len(queued_triggers(redis_client, keys)) == 1


def test_unifi_granted_unlocks_use_the_signed_time(http, redis_client, keys):
    """UniFi Access Granted by a user counts; its time is the signed t (the body has none)."""
    ts = int(time.time()) - 3
    for payload in (UNIFI_NFC, UNIFI_WALLET):
        body = body_of(payload)
        r = http.post(
            "/hooks/unifi-hq", content=body, headers=unifi_headers(body, SECRETS["unifi-hq"], ts=ts)
        )
        assert r.status_code == 202, r.text
    triggers = {t["subject"]: t for t in queued_triggers(redis_client, keys)}
    assert set(triggers) == {
        "d62e92fd-4b1c-4e5f-9a8b-7c6d5e4f3a21",
        "a11b22c3-128b-2f33-0c5c-7fd0a6a3a450",
    }
    sam = triggers["a11b22c3-128b-2f33-0c5c-7fd0a6a3a450"]
    assert sam["id"] == "webhook:unifi-hq:access.door.unlock:7c0e5b2a-91d4-4f63-a8e7-2b6c4d9f1e08"
    assert sam["attributes"]["door"] == "Front Door"
    assert sam["attributes"]["person"] == "sam.lee@example.com"
    from datetime import datetime

    assert datetime.fromisoformat(sam["occurred_at"]).timestamp() == ts


def test_unifi_door_position_event_is_ignored(http, redis_client, keys):
    """A UniFi dps_status event is acknowledged with a reason and makes no trigger."""
    body = body_of(UNIFI_DPS)
    r = http.post("/hooks/unifi-hq", content=body, headers=unifi_headers(body, SECRETS["unifi-hq"]))
    assert r.status_code == 200
    assert "not a door unlock" in r.json()["reason"]
    assert queued_triggers(redis_client, keys) == []


def test_genea_access_granted_counts_and_audit_is_ignored(http, redis_client, keys):
    """Genea SEQUR_ACCESS_GRANTED makes a trigger for the user's email; an AUDIT event does not."""
    for payload, expected in ((GENEA_GRANTED, 202), (GENEA_AUDIT, 200)):
        body = body_of(payload)
        r = http.post(
            "/hooks/genea-hq", content=body, headers=genea_headers(body, SECRETS["genea-hq"])
        )
        assert r.status_code == expected, r.text
    trigger = only_trigger(redis_client, keys)
    assert trigger["subject"] == "dana.ruiz@example.com"
    assert trigger["id"] == "webhook:genea-hq:66a1f0c2d64a99000414d61e"
    assert trigger["occurred_at"].startswith("2026-01-05T16:58:23")


def test_genea_signature_over_reserialised_json_is_accepted(http, redis_client, keys):
    """Genea's sample signs JSON.stringify(body): a pretty body signed that way passes."""
    pretty = json.dumps(GENEA_GRANTED, indent=2).encode()
    compact = json.dumps(GENEA_GRANTED, separators=(",", ":")).encode()
    headers = genea_headers(compact, SECRETS["genea-hq"])
    r = http.post("/hooks/genea-hq", content=pretty, headers=headers)
    assert r.status_code == 202, r.text
    assert len(queued_triggers(redis_client, keys)) == 1


def test_standard_webhooks_generic_payload_and_key_rotation(http, redis_client, keys, monkeypatch):
    """A Standard Webhooks delivery signed with either of two rotated secrets is accepted."""
    new_secret = "whsec_" + base64.b64encode(b"the-next-secret-of-24-bytes").decode()
    monkeypatch.setenv("AUTOCLOCK_WEBHOOK_SECRET_STD", f"{SECRETS['std']},{new_secret}")
    for n, secret in enumerate((SECRETS["std"], new_secret)):
        payload = {
            "type": "badge.out",
            "subject": "Sam.Lee@example.com",
            "occurred_at": f"2026-11-02T17:0{n}:00+01:00",
            "door": "Lobby",
        }
        body = body_of(payload)
        r = http.post(
            "/hooks/std", content=body, headers=standard_headers(body, secret, msg_id=f"msg_{n}")
        )
        assert r.status_code == 202, r.text
    triggers = sorted(queued_triggers(redis_client, keys), key=lambda t: t["id"])
    assert [t["id"] for t in triggers] == ["webhook:std:msg_0", "webhook:std:msg_1"]
    assert {t["kind"] for t in triggers} == {"badge_out"}
    assert triggers[0]["occurred_at"].startswith("2026-11-02T16:00:00")


def test_standard_webhooks_unknown_door_with_no_default_is_ignored(http, redis_client, keys):
    """A scan at a door the source does not list, with default_direction null, is ignored (2xx)."""
    body = body_of(
        {
            "type": "badge.scan",
            "subject": "x@example.com",
            "occurred_at": 1767603503,
            "door": "Roof",
        }
    )
    r = http.post(
        "/hooks/std", content=body, headers=standard_headers(body, SECRETS["std"], msg_id="m-roof")
    )
    assert r.status_code == 200
    assert "not configured" in r.json()["reason"]
    assert queued_triggers(redis_client, keys) == []


def test_shared_secret_token_header(http, redis_client, keys):
    """The shared-secret adapter accepts the right X-Autoclock-Token and refuses a wrong one."""
    body = body_of(
        {
            "type": "badge.scan",
            "id": "L-1",
            "subject": "12006465125",
            "subject_kind": "card",
            "occurred_at": "2026-11-02T08:00:00Z",
        }
    )
    ok = http.post(
        "/hooks/legacy",
        content=body,
        headers={"X-Autoclock-Token": SECRETS["legacy"], "Content-Type": "application/json"},
    )
    bad = http.post(
        "/hooks/legacy",
        content=body,
        headers={"X-Autoclock-Token": "guess", "Content-Type": "application/json"},
    )
    assert ok.status_code == 202, ok.text
    assert bad.status_code == 401
    trigger = only_trigger(redis_client, keys)
    assert trigger["attributes"]["person"] == "dana.ruiz@example.com"
    assert trigger["attributes"]["subject_kind"] == "card"


def test_source_without_secret_refuses_deliveries(http):
    """A signing vendor whose secret is not configured is refused with the variable to set."""
    body = body_of(KISI_UNLOCK)
    r = http.post("/hooks/nosecret", content=body, headers=kisi_headers(body, "anything"))
    assert r.status_code == 401
    assert "AUTOCLOCK_WEBHOOK_SECRET_NOSECRET" in r.json()["error"]


@pytest.mark.parametrize("auth", ["header", "field", "hmac"])
def test_webwork_tracker_webhooks_keep_known_state(http, redis_client, keys, settings, auth):
    """WebWork tracker.started/stopped, verified by its token (3 ways), set known state."""
    state = TrackerState(redis_client, keys, ttl_s=settings.known_state_ttl_s)
    token = SECRETS["webwork"]
    for event, tracking, at in (
        ("tracker.started", True, "2026-11-27T08:00:00Z"),
        ("tracker.stopped", False, "2026-11-27T12:00:00Z"),
    ):
        payload: dict = {"event": event, "data": {"user_id": 7001, "timestamp": at}}
        headers = {"Content-Type": "application/json"}
        if auth == "field":
            payload["token"] = token
        body = body_of(payload)
        if auth == "header":
            headers["X-Webwork-Token"] = token
        elif auth == "hmac":
            import hashlib
            import hmac

            headers["X-Webwork-Signature"] = hmac.new(
                token.encode(), body, hashlib.sha256
            ).hexdigest()
        r = http.post("/hooks/webwork", content=body, headers=headers)
        assert r.status_code == 200, r.text
        known = state.get("dana.ruiz@example.com")
        assert known is not None
        assert (known.tracking, known.source) == (tracking, "webwork")
    assert queued_triggers(redis_client, keys) == []


def test_webwork_event_without_a_time_clears_the_known_state(http, redis_client, keys, settings):
    """A tracker event with no time cannot be ordered: the known state is dropped, not set."""
    state = TrackerState(redis_client, keys, ttl_s=settings.known_state_ttl_s)
    headers = {"X-Webwork-Token": SECRETS["webwork"]}
    timed = {"event": "tracker.started", "user_id": 7001, "timestamp": "2026-11-27T08:00:00Z"}
    assert http.post("/hooks/webwork", json=timed, headers=headers).status_code == 200
    assert state.get("dana.ruiz@example.com") is not None
    untimed = http.post(
        "/hooks/webwork", json={"event": "tracker.stopped", "user_id": 7001}, headers=headers
    )
    assert untimed.status_code == 200
    assert "known state" in untimed.json()["reason"]
    assert state.get("dana.ruiz@example.com") is None


def test_webwork_wrong_token_and_unknown_user(http, redis_client, keys, settings):
    """A WebWork webhook with a wrong token is 401; an unknown user id is acknowledged, ignored."""
    bad = http.post(
        "/hooks/webwork",
        json={"event": "tracker.started", "user_id": 7001},
        headers={"X-Webwork-Token": "nope"},
    )
    assert bad.status_code == 401
    unknown = http.post(
        "/hooks/webwork",
        json={"event": "tracker.started", "user_id": 99999},
        headers={"X-Webwork-Token": SECRETS["webwork"]},
    )
    assert unknown.status_code == 200
    assert unknown.json()["status"] == "ignored"
    assert "unknown WebWork user id 99999" in unknown.json()["reason"]


def test_signature_over_a_modified_body_is_rejected(http, redis_client, keys):
    """Changing one byte of a signed Verkada body makes the signature fail (401)."""
    payload = copy.deepcopy(VERKADA_IN)
    body = body_of(payload)
    headers = verkada_headers(body, SECRETS["verkada-hq"])
    payload["data"]["user_info"]["email"] = "mallory@example.com"
    r = http.post("/hooks/verkada-hq", content=body_of(payload), headers=headers)
    assert r.status_code == 401
    assert r.json() == {"error": "bad signature"}
    assert queued_triggers(redis_client, keys) == []


def test_health_and_readiness(settings, redis_client, keys, queue, secrets_env, app_url):
    """The admin listener: /healthz alive; /readyz 200 when Redis pings and the rules are
    loaded, warning about a source without a secret. The public listener serves neither."""
    from tests.webhooks.conftest import PEOPLE, SOURCES
    from tests.webhooks.helpers import admin_for, serve
    from worker.webhooks.app import create_app

    app = create_app(
        settings, client=redis_client, keys=keys, sources=SOURCES, directory=PEOPLE, queue=queue
    )
    for path in ("/healthz", "/readyz", "/metrics"):
        assert httpx.get(app_url + path).status_code == 404
    with serve(admin_for(app)) as admin_url:
        assert httpx.get(admin_url + "/healthz").json() == {"status": "alive"}
        ready = httpx.get(admin_url + "/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert any("NOSECRET" in w for w in ready.json()["warnings"])
