"""The sandbox answers like WebWork's docs: envelopes, access rules, tracker rules, lookups."""

from __future__ import annotations

import httpx
import pytest


def api(sb, token: str | None = "owner") -> httpx.Client:
    tokens = {"owner": sb.owner_token, "regular": sb.regular_token, "exec": sb.exec_token}
    headers = {"Authorization": f"Bearer {tokens.get(token, token)}"} if token else {}
    return httpx.Client(base_url=sb.api_url + "/", headers=headers, timeout=5)


def test_start_and_stop_return_documented_envelopes(sandbox):
    """Start/stop 200 bodies carry success, data.start_time/stopped_at, message and meta."""
    with api(sandbox) as http:
        body = {
            "workspace_id": 1,
            "user_id": 42,
            "contract_id": 20,
            "task_id": 5,
            "activity_description": "desk",
        }
        started = http.post("time-tracking/start", json=body).json()
        assert started["success"] is True
        assert (
            started["message"] == started["data"]["message"] == "Time tracking started successfully"
        )
        assert started["data"]["start_time"].endswith("+00:00")
        assert (started["data"]["contract_id"], started["data"]["project_id"]) == (20, 10)
        assert started["meta"]["api_version"] == "2.0.0"
        assert started["meta"]["timestamp"].endswith("Z")
        stopped = http.post("time-tracking/stop", json={"workspace_id": 1, "user_id": 42}).json()
        assert stopped["success"] is True
        assert stopped["data"]["stopped_at"].endswith("+00:00")


def test_error_envelope_and_tracker_conflicts(sandbox):
    """Second start and stop-with-none are rejected in the error envelope; state is unchanged."""
    with api(sandbox) as http:
        assert http.post("time-tracking/start", json={"workspace_id": 1, "user_id": 42}).is_success
        since = sandbox.control.tracking(42).since
        again = http.post("time-tracking/start", json={"workspace_id": 1, "user_id": 42})
        assert again.status_code == 400
        assert set(again.json()) == {"success", "message", "error", "meta"}
        assert again.json()["success"] is False
        assert sandbox.control.tracking(42).since == since
        assert http.post("time-tracking/stop", json={"workspace_id": 1, "user_id": 42}).is_success
        none = http.post("time-tracking/stop", json={"workspace_id": 1, "user_id": 42})
        assert none.status_code == 400
        assert "No active tracker" in none.json()["message"]
    effects = [(c.path.rsplit("/", 1)[1], c.status, c.effect) for c in sandbox.control.calls()]
    assert effects == [
        ("start", 200, "started"),
        ("start", 400, None),
        ("stop", 200, "stopped"),
        ("stop", 400, None),
    ]


@pytest.mark.parametrize(
    ("token", "status"), [(None, 401), ("bogus-token", 401), ("regular", 403), ("exec", 200)]
)
def test_only_owner_and_executive_tokens_may_call(sandbox, token, status):
    """No/unknown token → 401; a regular user's token → 403; an executive manager's → 200."""
    with api(sandbox, token) as http:
        response = http.post("time-tracking/start", json={"workspace_id": 1, "user_id": 44})
    assert response.status_code == status
    assert response.json()["success"] is (status == 200)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"user_id": 42}, "workspace id field is required"),
        ({"workspace_id": 1}, "user id field is required"),
        ({"workspace_id": 1, "user_id": "forty-two"}, "must be an integer"),
        ({"workspace_id": 1, "user_id": 7}, "member of the specified workspace"),
        ({"workspace_id": 1, "user_id": 42, "contract_id": 22}, "belong to the user"),
        ({"workspace_id": 1, "user_id": 43, "contract_id": 25}, "paused"),
        ({"workspace_id": 1, "user_id": 42, "task_id": 5}, "only be provided if contract"),
        ({"workspace_id": 1, "user_id": 43, "contract_id": 21, "task_id": 7}, "project associated"),
        ({"workspace_id": 1, "user_id": 42, "activity_description": 5}, "must be a string"),
    ],
)
def test_start_validation(sandbox, body, fragment):
    """Each documented start rule is enforced with a clear 400 message and no effect."""
    with api(sandbox) as http:
        response = http.post("time-tracking/start", json=body)
    assert response.status_code == 400
    assert fragment in response.json()["message"]
    assert sandbox.control.state().trackers == []


def test_foreign_workspace_is_forbidden_and_bad_input_is_400(sandbox):
    """Another workspace is 403; a non-JSON body, unknown path and wrong method are clean errors."""
    with api(sandbox) as http:
        assert (
            http.post("time-tracking/start", json={"workspace_id": 2, "user_id": 42}).status_code
            == 403
        )
        bad = http.post(
            "time-tracking/start",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert bad.status_code == 400
        assert "JSON object" in bad.json()["message"]
        assert http.get("nope").status_code == 404
        assert http.get("time-tracking/start").status_code == 405
        assert http.get("members", params={"workspace_id": 1, "per_page": 101}).status_code == 400
        assert (
            http.get(
                "time-entries",
                params={"workspace_id": 1, "user_id": 42, "date": "2026-01-01", "per_page": 51},
            ).status_code
            == 400
        )
        assert (
            http.get("leaves", params={"workspace_id": 1, "date_from": "12/24"}).status_code == 400
        )


def test_older_docs_mode_requires_contract(sandbox):
    """With require_contract on (older docs), a start without contract_id is rejected."""
    sandbox.control.set_config(require_contract=True)
    with api(sandbox) as http:
        response = http.post("time-tracking/start", json={"workspace_id": 1, "user_id": 42})
    assert response.status_code == 400
    assert "contract id" in response.json()["message"]


def test_lookups_and_pagination_placements(sandbox):
    """Members page in meta.pagination; contracts put pagination at the top level (doc example)."""
    with api(sandbox) as http:
        members = http.get("members", params={"workspace_id": 1, "per_page": 3, "page": 3}).json()
        assert members["meta"]["pagination"] == {
            "total": 7,
            "per_page": 3,
            "current_page": 3,
            "last_page": 3,
            "from": 7,
            "to": 7,
        }
        assert [m["id"] for m in members["data"]] == [46]
        contracts = http.get("contracts", params={"workspace_id": 1, "status": "active"}).json()
        assert contracts["pagination"]["total"] == 5
        assert "pagination" not in contracts["meta"]
        assert contracts["message"]
        one = http.get("members/42", params={"workspace_id": 1}).json()["data"]
        assert one["email"] == "dana.ruiz@example.com"
        assert http.get("members/9999", params={"workspace_id": 1}).status_code == 404
        empty = http.get("time-tracking/current-data", params={"workspace_id": 1, "user_id": 42})
        assert empty.json()["success"] is True
        assert empty.json()["data"] is None


def test_per_token_rate_limit_61st_request_gets_429(sandbox_factory):
    """60 requests in a minute pass with X-RateLimit headers; the 61st gets 429 + Retry-After."""
    sb = sandbox_factory()  # the documented default: 60 per minute per token
    with api(sb) as http, api(sb, "exec") as other:
        for n in range(1, 61):
            response = http.get("workspaces")
            assert response.status_code == 200, n
            assert response.headers["X-RateLimit-Limit"] == "60"
            assert response.headers["X-RateLimit-Remaining"] == str(60 - n)
        limited = http.get("workspaces")
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert limited.json()["success"] is False
        assert other.get("workspaces").status_code == 200  # budgets are per token
    assert [c.status for c in sb.control.calls()][-2:] == [429, 200]
