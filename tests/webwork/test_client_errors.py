"""Every error class the actors branch on, produced by the real client against the sandbox."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr

from worker.errors import (
    AlreadyTracking,
    Forbidden,
    NotTracking,
    RateLimited,
    Rejected,
    Transient,
    Unauthorized,
    WebWorkError,
)
from worker.sandbox import Faults
from worker.sandbox.server import bind
from worker.webwork import WebWorkClient


def client_for(sb, token: str | None = None, **kwargs) -> WebWorkClient:
    return WebWorkClient(base_url=sb.api_url, token=SecretStr(token or sb.owner_token), **kwargs)


def test_already_tracking_and_not_tracking(sandbox):
    """A second start is AlreadyTracking and a stop with none running NotTracking (status 400)."""
    with client_for(sandbox) as client:
        client.start(workspace_id=1, user_id=42, contract_id=20)
        since = sandbox.control.tracking(42).since
        with pytest.raises(AlreadyTracking) as started:
            client.start(workspace_id=1, user_id=42, contract_id=20)
        assert started.value.status == 400
        assert "already has an active tracker" in (started.value.api_message or "")
        assert sandbox.control.tracking(42).since == since  # running tracker untouched
        client.stop(workspace_id=1, user_id=42)
        with pytest.raises(NotTracking) as stopped:
            client.stop(workspace_id=1, user_id=42)
        assert stopped.value.status == 400
        assert stopped.value.latency_ms > 0


def test_unknown_token_is_unauthorized(sandbox):
    """A token the API does not know raises Unauthorized (401) with the API's message."""
    with (
        client_for(sandbox, token="not-a-real-token") as client,
        pytest.raises(Unauthorized) as err,
    ):
        client.workspaces()
    assert err.value.status == 401
    assert "Unauthenticated" in (err.value.api_message or "")


def test_regular_user_token_is_forbidden(sandbox):
    """A regular user's token (not owner/executive manager) raises Forbidden (403)."""
    with client_for(sandbox, token=sandbox.regular_token) as client:
        with pytest.raises(Forbidden) as err:
            client.start(workspace_id=1, user_id=43, contract_id=21)
        assert err.value.status == 403
        with pytest.raises(Forbidden):
            client.workspaces()


def test_executive_manager_token_may_start_for_others(sandbox):
    """An executive manager's token starts and stops another member's tracker."""
    with client_for(sandbox, token=sandbox.exec_token) as client:
        assert client.start(workspace_id=1, user_id=44, contract_id=22).status == 200
        assert client.stop(workspace_id=1, user_id=44).status == 200


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"user_id": 43, "contract_id": 25}, "paused"),
        ({"user_id": 42, "contract_id": 21}, "belong to the user"),
        ({"user_id": 42, "task_id": 5}, "only be provided if contract id"),
        ({"user_id": 42, "contract_id": 20, "task_id": 7}, "project associated"),
        ({"user_id": 999}, "member of the specified workspace"),
    ],
)
def test_invalid_start_is_rejected_with_api_message(sandbox, kwargs, fragment):
    """A start the API refuses for another reason is Rejected, carrying its message."""
    with client_for(sandbox) as client, pytest.raises(Rejected) as err:
        client.start(workspace_id=1, **kwargs)
    assert err.value.status == 400
    assert fragment in (err.value.api_message or "")
    assert not isinstance(err.value, AlreadyTracking | NotTracking)
    assert sandbox.control.state().trackers == []


def test_unknown_project_lookup_is_rejected(sandbox):
    """A 404 on a lookup is Rejected with status 404."""
    with client_for(sandbox) as client, pytest.raises(Rejected) as err:
        client.tasks(workspace_id=1, project_id=999)
    assert err.value.status == 404


def test_rate_limit_is_rate_limited_with_retry_after(sandbox_factory):
    """Past the per-token budget the client raises RateLimited carrying Retry-After seconds."""
    sb = sandbox_factory(rpm=3)
    with client_for(sb) as client:
        for _ in range(3):
            client.workspaces()
        with pytest.raises(RateLimited) as err:
            client.workspaces()
    assert err.value.status == 429
    assert 1 <= err.value.retry_after_s <= 60


def test_server_errors_and_outage_are_transient(sandbox):
    """Injected 5xx errors and an outage window raise Transient; the outage then ends."""
    with client_for(sandbox) as client:
        sandbox.control.set_faults(error_rate=1.0, error_status=502)
        with pytest.raises(Transient) as err:
            client.start(workspace_id=1, user_id=42)
        assert err.value.status == 502
        sandbox.control.set_faults(error_rate=0.0, outage_s=0.4)
        with pytest.raises(Transient) as outage:
            client.stop(workspace_id=1, user_id=42)
        assert outage.value.status == 503
        time.sleep(0.5)
        with pytest.raises(NotTracking):  # the injected 502 had no effect
            client.stop(workspace_id=1, user_id=42)


def test_hanging_request_times_out_as_transient(sandbox_factory):
    """A request that hangs past the client's timeout raises Transient with no status."""
    sb = sandbox_factory(rpm=0, faults=Faults(hang_rate=1.0, hang_s=1.5))
    with client_for(sb, timeout_s=0.3) as client:
        started = time.monotonic()
        with pytest.raises(Transient) as err:
            client.start(workspace_id=1, user_id=42)
        assert time.monotonic() - started < 1.2
    assert err.value.status is None
    assert "timed out" in str(err.value)
    assert 250 <= (err.value.latency_ms or 0) < 1200


def test_connection_refused_is_transient():
    """Nothing listening on the base URL raises Transient (a network error)."""
    sock = bind()
    port = sock.getsockname()[1]
    sock.close()
    client = WebWorkClient(base_url=f"http://127.0.0.1:{port}/api/v2", token=SecretStr("tok-1234"))
    with client, pytest.raises(Transient) as err:
        client.current(workspace_id=1, user_id=42)
    assert err.value.status is None
    assert isinstance(err.value, WebWorkError)
