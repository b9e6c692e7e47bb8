"""Bad input gets the right 4xx and a JSON reason, never a trigger and never a 500."""

from __future__ import annotations

import time

from tests.webhooks.helpers import (
    KISI_UNLOCK,
    SECRETS,
    VERKADA_IN,
    body_of,
    kisi_headers,
    queued_triggers,
    standard_headers,
    unifi_headers,
    verkada_headers,
)


def test_body_too_large_by_content_length_is_413(http, settings):
    """A Content-Length over AUTOCLOCK_WEBHOOK_MAX_BODY is refused before reading: 413."""
    body = b"{" + b" " * settings.webhook_max_body + b"}"
    r = http.post("/hooks/kisi-hq", content=body, headers=kisi_headers(body, SECRETS["kisi-hq"]))
    assert r.status_code == 413
    assert "body too large" in r.json()["error"]


def test_body_too_large_streamed_without_length_is_413(http, settings):
    """A chunked body (no Content-Length) is cut off once it passes the limit: 413."""

    def chunks():
        for _ in range(settings.webhook_max_body // 1024 + 8):
            yield b" " * 1024

    r = http.post("/hooks/kisi-hq", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "over" in r.json()["error"]


def test_wrong_content_type_is_415(http):
    """A form-encoded or text body is refused with 415 naming the content type."""
    r = http.post("/hooks/kisi-hq", content=b"a=b", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert "text/plain" in r.json()["error"]


def test_unknown_source_is_404(http):
    """POST to a source that sources.yaml does not name is 404."""
    r = http.post("/hooks/nope", json={})
    assert r.status_code == 404
    assert r.json() == {"error": "unknown source 'nope'"}


def test_bad_signature_is_401(http, redis_client, keys):
    """A Kisi delivery signed with the wrong key is 401 and makes no trigger."""
    body = body_of(KISI_UNLOCK)
    r = http.post("/hooks/kisi-hq", content=body, headers=kisi_headers(body, "wrong-key"))
    assert r.status_code == 401
    assert r.json() == {"error": "bad signature"}
    assert queued_triggers(redis_client, keys) == []


def test_stale_timestamp_is_401_with_reason(http, settings):
    """Verkada, UniFi and Standard Webhooks deliveries signed 10 minutes ago are 401 'stale'."""
    old = int(time.time()) - 600
    body = body_of(VERKADA_IN)
    cases = [
        ("verkada-hq", body, verkada_headers(body, SECRETS["verkada-hq"], ts=old)),
        ("unifi-hq", body, unifi_headers(body, SECRETS["unifi-hq"], ts=old)),
        ("std", body, standard_headers(body, SECRETS["std"], msg_id="m1", ts=old)),
    ]
    for source, content, headers in cases:
        r = http.post(f"/hooks/{source}", content=content, headers=headers)
        assert r.status_code == 401, (source, r.text)
        reason = r.json()["error"]
        assert reason.startswith("stale timestamp"), reason
        assert f"tolerance {settings.webhook_tolerance_s} s" in reason


def test_malformed_json_is_400_with_reason(http):
    """A correctly signed body that is not JSON is 400 'malformed JSON'."""
    body = b'{"uuid": "x", '
    r = http.post("/hooks/kisi-hq", content=body, headers=kisi_headers(body, SECRETS["kisi-hq"]))
    assert r.status_code == 400
    assert r.json()["error"].startswith("malformed JSON")


def test_missing_fields_is_400_naming_the_field(http, redis_client, keys):
    """A signed unlock without its uuid or time is 400 naming the missing field."""
    for missing, name in (
        ('"uuid": "5b0e8d9a-2f61-4c7e-9a3b-6d1f2e4c8a71", ', "uuid"),
        (', "created_at": "2026-01-05T08:58:23Z"', "created_at"),
    ):
        body = KISI_UNLOCK.replace(missing, "").encode()
        assert body != KISI_UNLOCK.encode()
        r = http.post(
            "/hooks/kisi-hq", content=body, headers=kisi_headers(body, SECRETS["kisi-hq"])
        )
        assert r.status_code == 400, r.text
        assert r.json() == {"error": f"missing field {name}"}
    assert queued_triggers(redis_client, keys) == []


def test_every_decision_lands_in_the_ingress_log(http, redis_client, keys):
    """Accepted and rejected requests are both in the ingress stream, without secrets."""
    body = body_of(KISI_UNLOCK)
    http.post("/hooks/kisi-hq", content=body, headers=kisi_headers(body, SECRETS["kisi-hq"]))
    http.post("/hooks/kisi-hq", content=body, headers=kisi_headers(body, "wrong"))
    http.post("/hooks/ghost", json={})
    entries = [
        {k.decode(): v.decode() for k, v in e[1].items()}
        for e in redis_client.xrange(keys("ingress"))
    ]
    assert [(e["decision"], e["status"]) for e in entries] == [
        ("accepted", "202"),
        ("rejected", "401"),
        ("rejected", "404"),
    ]
    assert entries[0]["event_id"] == "5b0e8d9a-2f61-4c7e-9a3b-6d1f2e4c8a71"
    assert SECRETS["kisi-hq"] not in repr(entries)
