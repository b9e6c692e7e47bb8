"""Door direction: first scan of the local day is in, later ones out; double swipes debounce."""

from __future__ import annotations

import json

from tests.webhooks.helpers import (
    SECRETS,
    VERKADA_IN,
    body_of,
    kisi_headers,
    queued_triggers,
    verkada_headers,
)


def kisi_scan(
    http,
    uuid: str,
    at: str,
    *,
    door: str = "Main Entrance",
    door_id: int = 31877,
    actor: int = 482913,
):
    payload = json.loads(
        '{"uuid": "", "actor_type": "User", "actor_id": 0, "object_type": "Lock", "success": true,'
        ' "type": "lock.unlock", "created_at": ""}'
    )
    payload.update(uuid=uuid, created_at=at, object_name=door, object_id=door_id, actor_id=actor)
    body = body_of(payload)
    return http.post("/hooks/kisi-hq", content=body, headers=kisi_headers(body, SECRETS["kisi-hq"]))


def kinds(redis_client, keys) -> dict[str, str]:
    return {t["id"].rsplit(":", 1)[1]: t["kind"] for t in queued_triggers(redis_client, keys)}


def test_both_door_first_scan_in_later_scans_out(http, redis_client, keys):
    """At a 'both' door Dana's first scan of her (Los Angeles) day is in, the later ones out."""
    assert kisi_scan(http, "a", "2026-11-02T16:00:00Z").status_code == 202  # 08:00 PST
    assert kisi_scan(http, "b", "2026-11-02T20:00:00Z").status_code == 202  # 12:00
    assert kisi_scan(http, "c", "2026-11-03T01:30:00Z").status_code == 202  # 17:30, same day
    assert kisi_scan(http, "d", "2026-11-03T16:00:00Z").status_code == 202  # next day 08:00
    assert kinds(redis_client, keys) == {
        "a": "badge_in",
        "b": "badge_out",
        "c": "badge_out",
        "d": "badge_in",
    }


def test_late_arriving_earlier_scan_is_in(http, redis_client, keys):
    """A retried delivery of an earlier scan, arriving after a later one, is still that day's in."""
    assert kisi_scan(http, "late", "2026-11-02T20:00:00Z").status_code == 202
    assert kisi_scan(http, "early", "2026-11-02T16:00:00Z").status_code == 202
    assert kisi_scan(http, "after", "2026-11-02T22:00:00Z").status_code == 202
    assert kinds(redis_client, keys) == {
        "late": "badge_in",
        "early": "badge_in",
        "after": "badge_out",
    }


def test_double_swipe_within_debounce_is_one_event(http, redis_client, keys):
    """Two scans 20 s apart are one event (2xx, reason 'debounced'); one 90 s later counts."""
    assert kisi_scan(http, "s1", "2026-11-02T16:00:00Z").status_code == 202
    second = kisi_scan(http, "s2", "2026-11-02T16:00:20Z")
    assert second.status_code == 200
    assert second.json()["reason"].startswith("debounced")
    assert kisi_scan(http, "s3", "2026-11-02T16:01:30Z").status_code == 202
    assert kinds(redis_client, keys) == {"s1": "badge_in", "s3": "badge_out"}
    decisions = [e[1][b"reason"].decode() for e in redis_client.xrange(keys("ingress"))]
    assert any(d.startswith("debounced") for d in decisions)


def test_in_and_out_doors_and_door_ids(http, redis_client, keys):
    """An 'out' door (by name) is badge_out even first thing; door id 31999 is configured 'in'."""
    assert (
        kisi_scan(http, "o", "2026-11-02T16:00:00Z", door="Back Exit", door_id=1).status_code == 202
    )
    assert (
        kisi_scan(http, "i", "2026-11-02T19:00:00Z", door="Side", door_id=31999).status_code == 202
    )
    assert kinds(redis_client, keys) == {"o": "badge_out", "i": "badge_in"}


def test_people_are_tracked_separately(http, redis_client, keys):
    """Two people's first scans are both 'in'."""
    assert kisi_scan(http, "p1", "2026-11-02T16:00:00Z", actor=482913).status_code == 202
    assert kisi_scan(http, "p2", "2026-11-02T16:00:05Z", actor=999).status_code == 202
    assert kinds(redis_client, keys) == {"p1": "badge_in", "p2": "badge_in"}


def test_vendor_direction_wins_over_first_scan(http, redis_client, keys):
    """A Verkada Outbound scan is badge_out even as the first scan of the day."""
    payload = json.loads(json.dumps(VERKADA_IN))
    payload["data"]["direction"] = "Outbound"
    body = body_of(payload)
    r = http.post(
        "/hooks/verkada-hq", content=body, headers=verkada_headers(body, SECRETS["verkada-hq"])
    )
    assert r.status_code == 202
    assert list(kinds(redis_client, keys).values()) == ["badge_out"]
