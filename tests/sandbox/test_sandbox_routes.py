"""The sandbox's /api/v2 routing: every request passes the gates first (call log, token,
rate limit), then an unknown path is 404 and a known path with another method 405, both in
WebWork's error envelope; trailing slashes are ignored; a member id is 1 to 18 digits."""

from __future__ import annotations

import httpx


def test_routing_answers_in_the_error_envelope_after_the_gates(sandbox) -> None:
    headers = {"Authorization": f"Bearer {sandbox.owner_token}"}
    with httpx.Client(base_url=sandbox.api_url + "/", headers=headers, timeout=5) as http:
        unknown = http.get("nope")
        assert unknown.status_code == 404
        assert unknown.json()["success"] is False
        assert unknown.json()["error"] == "no endpoint /nope"

        wrong = http.get("time-tracking/start")
        assert wrong.status_code == 405
        assert wrong.json()["error"] == "/time-tracking/start accepts POST"
        assert http.post("workspaces", json={}).json()["error"] == "/workspaces accepts GET"
        assert http.head("workspaces").status_code == 405  # WebWork answers GET only

        assert http.get("workspaces/").status_code == 200
        member = http.get("members/42/", params={"workspace_id": 1})
        assert member.status_code == 200
        assert member.json()["data"]["id"] == 42
        long_id = http.get("members/1234567890123456789", params={"workspace_id": 1})
        assert long_id.json()["error"] == "no endpoint /members/1234567890123456789"
        assert http.get("members/abc", params={"workspace_id": 1}).status_code == 404

    anonymous = httpx.get(sandbox.api_url + "/nope", timeout=5)
    assert anonymous.status_code == 401  # the token gate comes before routing
    calls = [(c.method, c.path, c.status) for c in sandbox.control.calls()]
    assert calls[0] == ("GET", "/api/v2/nope", 404)
    assert calls[-1] == ("GET", "/api/v2/nope", 401)
    assert ("GET", "/api/v2/workspaces/", 200) in calls
