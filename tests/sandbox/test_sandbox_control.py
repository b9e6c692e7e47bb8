"""Operators and tests steer the sandbox at run time: faults, config, state, calls, reset."""

from __future__ import annotations

import time

import httpx
import pytest

from worker.sandbox import Faults


def post(sb, path, body, token=None):
    headers = {"Authorization": f"Bearer {token or sb.owner_token}"}
    return httpx.post(sb.api_url + path, json=body, headers=headers, timeout=5)


def test_state_and_calls_show_who_tracks_and_every_call(sandbox):
    """State lists running trackers with contract/task/since; calls are ordered, token-free."""
    post(
        sandbox,
        "/time-tracking/start",
        {"workspace_id": 1, "user_id": 45, "contract_id": 23, "task_id": 6},
    )
    post(sandbox, "/time-tracking/start", {"workspace_id": 1, "user_id": 45})
    (tracker,) = sandbox.control.state().trackers
    assert (tracker.user_id, tracker.email, tracker.contract_id, tracker.task_id) == (
        45,
        "alex.night@example.com",
        23,
        6,
    )
    calls = sandbox.control.calls()
    assert [c.seq for c in calls] == [1, 2]
    assert [(c.user_id, c.caller_id, c.effect) for c in calls] == [
        (45, 1, "started"),
        (45, 1, None),
    ]
    assert [c.seq for c in sandbox.control.calls(since=1)] == [2]
    raw = httpx.get(sandbox.url + "/_sandbox/calls").text
    assert sandbox.owner_token not in raw


def test_reset_returns_to_the_seed(sandbox):
    """Reset clears trackers, calls and runtime config changes."""
    post(sandbox, "/time-tracking/start", {"workspace_id": 1, "user_id": 42})
    sandbox.control.set_config(reject_status=422)
    view = sandbox.control.reset()
    assert view.trackers == []
    assert view.calls_total == 0
    assert view.config.reject_status == 400


def test_rejection_status_and_wording_change_at_run_time(sandbox):
    """Reconfiguring the conflict answer takes effect on the next request."""
    sandbox.control.set_config(reject_status=409, not_tracking_message="Nothing to stop")
    response = post(sandbox, "/time-tracking/stop", {"workspace_id": 1, "user_id": 42})
    assert response.status_code == 409
    assert response.json()["message"] == "Nothing to stop"
    with pytest.raises(ValueError, match="reject_status"):
        sandbox.control.set_config(reject_status=418)


def test_added_latency(sandbox):
    """Injected latency delays every API answer by at least that much."""
    sandbox.control.set_faults(latency_ms=150)
    started = time.monotonic()
    post(sandbox, "/time-tracking/stop", {"workspace_id": 1, "user_id": 42})
    assert time.monotonic() - started >= 0.15


def test_error_rate_is_reproducible_and_has_no_effect(sandbox_factory):
    """The same RNG seed yields the same 5xx pattern; failed starts start nothing."""
    patterns = []
    for _ in range(2):
        sb = sandbox_factory(rpm=0, faults=Faults(error_rate=0.5, rng_seed=7))
        statuses = []
        for user in (42, 43, 44, 45, 46) * 4:
            statuses.append(
                post(sb, "/time-tracking/stop", {"workspace_id": 1, "user_id": user}).status_code
            )
        patterns.append(statuses)
        assert 500 in statuses
        assert 400 in statuses
    assert patterns[0] == patterns[1]
    sb.control.set_faults(error_rate=1.0)
    assert post(sb, "/time-tracking/start", {"workspace_id": 1, "user_id": 42}).status_code == 500
    assert sb.control.state().trackers == []


def test_outage_window_and_indefinite_outage(sandbox):
    """An outage answers 503 to every API call for its window, or until turned off."""
    view = sandbox.control.set_faults(outage_s=0.3)
    assert view.outage
    assert 0 < (view.outage_remaining_s or 0) <= 0.3
    assert (
        post(sandbox, "/time-tracking/start", {"workspace_id": 1, "user_id": 42}).status_code == 503
    )
    time.sleep(0.35)
    assert (
        post(sandbox, "/time-tracking/start", {"workspace_id": 1, "user_id": 42}).status_code == 200
    )
    sandbox.control.set_faults(outage=True)
    assert httpx.get(sandbox.api_url + "/workspaces").status_code == 503
    assert httpx.get(sandbox.url + "/_sandbox/state").status_code == 200  # control stays up
    sandbox.control.set_faults(outage=False)
    assert not sandbox.control.faults().outage
    assert (
        post(sandbox, "/time-tracking/stop", {"workspace_id": 1, "user_id": 42}).status_code == 200
    )


def test_hang_then_504_without_effect(sandbox):
    """A hanging request answers 504 after hang_s and changes nothing."""
    sandbox.control.set_faults(hang_rate=1.0, hang_s=0.3)
    started = time.monotonic()
    response = post(sandbox, "/time-tracking/start", {"workspace_id": 1, "user_id": 42})
    assert response.status_code == 504
    assert time.monotonic() - started >= 0.3
    assert sandbox.control.state().trackers == []


def test_invalid_control_input_is_a_clear_400(sandbox):
    """Bad control payloads are refused with the field named, never a 500."""
    response = httpx.post(sandbox.url + "/_sandbox/faults", json={"error_rate": 2})
    assert response.status_code == 400
    assert "error_rate" in response.text
    response = httpx.post(sandbox.url + "/_sandbox/faults", content=b"[1]")
    assert response.status_code == 400
    response = httpx.post(sandbox.url + "/_sandbox/tracker", json={"user_id": 9999})
    assert response.status_code == 400
    assert "not a member" in response.text
