"""The client's calls against a running sandbox: start/stop/current and every lookup."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import SecretStr

from worker.errors import Backpressure, ConfigError
from worker.sandbox import Seed
from worker.settings import Settings
from worker.webwork import WebWorkClient


def client_for(sb, **kwargs) -> WebWorkClient:
    return WebWorkClient(base_url=sb.api_url, token=SecretStr(sb.owner_token), **kwargs)


def test_start_stop_round_trip_sends_all_fields(sandbox):
    """Starting records contract, task and description; stop returns when it stopped."""
    with client_for(sandbox) as client:
        started = client.start(
            workspace_id=1, user_id=42, contract_id=20, task_id=5, description="Front desk shift"
        )
        assert started.status == 200
        assert started.at is not None
        assert started.at.tzinfo is not None
        assert abs((datetime.now(UTC) - started.at).total_seconds()) < 5
        assert started.message == "Time tracking started successfully"
        tracker = sandbox.control.tracking(42)
        assert tracker is not None
        assert (tracker.contract_id, tracker.task_id) == (20, 5)
        assert tracker.activity_description == "Front desk shift"
        current = client.current(workspace_id=1, user_id=42)
        assert current is not None
        assert (current.contract_id, current.task_id, current.task_title) == (20, 5, "Front desk")
        stopped = client.stop(workspace_id=1, user_id=42)
        assert stopped.status == 200
        assert stopped.at is not None
        assert stopped.at >= started.at
        assert client.current(workspace_id=1, user_id=42) is None
        assert sandbox.control.tracking(42) is None


@pytest.mark.parametrize("placement", ["both", "top", "data"])
def test_message_read_from_either_placement(sandbox, placement):
    """The API's message is found whether it sits at the top level, in data, or both."""
    sandbox.control.set_config(message_placement=placement)
    with client_for(sandbox) as client:
        assert client.start(workspace_id=1, user_id=44).message == (
            "Time tracking started successfully"
        )
        assert client.stop(workspace_id=1, user_id=44).message == (
            "Time tracking stopped successfully"
        )


def test_lookups_return_typed_rows(sandbox):
    """Workspaces, members by email, contracts by user/status, tasks, leaves and entries."""
    with client_for(sandbox) as client:
        (workspace,) = client.workspaces()
        assert (workspace.id, workspace.workspace_name, workspace.role) == (1, "Acme Demo", "owner")
        member = client.find_member(workspace_id=1, email="Dana.Ruiz@example.com")
        assert member is not None
        assert member.user_id == 42
        assert client.find_member(workspace_id=1, email="nobody@example.com") is None
        assert len(client.members(workspace_id=1)) == 7
        contracts = client.contracts(workspace_id=1, user_id=43)
        assert {(c.id, c.status) for c in contracts} == {(21, "active"), (25, "paused")}
        assert [c.id for c in client.contracts(workspace_id=1, status="paused")] == [25]
        assert [t.title for t in client.tasks(workspace_id=1, project_id=11)] == ["Tickets"]
        approved = client.leaves(
            workspace_id=1,
            status="approved",
            date_from=date(2026, 12, 24),
            date_to=date(2026, 12, 24),
        )
        assert [(leave.user_id, leave.leave_period) for leave in approved] == [(42, 0)]
        assert client.leaves(workspace_id=1, user_id=44, date_to=date(2026, 12, 1)) == []
        client.start(workspace_id=1, user_id=45, contract_id=23)
        today = datetime.now(UTC).date()
        (running,) = client.time_entries(workspace_id=1, user_id=45, day=today)
        assert running.end_time is None
        assert running.contract_id == 23
        client.stop(workspace_id=1, user_id=45)
        (done,) = client.time_entries(workspace_id=1, user_id=45, day=today)
        assert done.end_time is not None


@pytest.mark.parametrize("placement", ["documented", "meta", "top"])
def test_all_pages_read_from_either_pagination_placement(sandbox_factory, placement):
    """Listings longer than a page come back whole, wherever the pagination block sits."""
    sb = sandbox_factory(seed=Seed.synthetic(250), rpm=0, pagination_placement=placement)
    with client_for(sb) as client:
        members = client.members(workspace_id=1)
        contracts = client.contracts(workspace_id=1)
    assert len(members) == 253
    assert len({m.id for m in members}) == 253
    assert len(contracts) == 252
    pages = [c.path for c in sb.control.calls()]
    assert pages.count("/api/v2/members") == 3
    assert pages.count("/api/v2/contracts") == 3


def test_observer_and_before_request_see_every_request(sandbox):
    """The observer gets (endpoint, status, latency) per request; before_request may veto one."""
    seen: list[tuple[str, int | None, float]] = []
    allowed = [True]

    def gate() -> None:
        if not allowed[0]:
            raise Backpressure(250)

    with client_for(sandbox, observer=lambda *a: seen.append(a), before_request=gate) as client:
        client.start(workspace_id=1, user_id=42)
        client.workspaces()
        allowed[0] = False
        with pytest.raises(Backpressure):
            client.stop(workspace_id=1, user_id=42)
    assert [(label, status) for label, status, _ in seen] == [
        ("POST /time-tracking/start", 200),
        ("GET /workspaces", 200),
    ]
    assert all(latency > 0 for _, _, latency in seen)
    assert [c.path for c in sandbox.control.calls()] == [
        "/api/v2/time-tracking/start",
        "/api/v2/workspaces",
    ]


def test_from_settings_uses_token_base_url_and_patterns(sandbox, settings):
    """A client built from settings reaches WEBWORK_BASE_URL with WEBWORK_TOKEN."""
    configured = settings.model_copy(
        update={
            "webwork_base_url": sandbox.api_url,
            "webwork_token": SecretStr(sandbox.owner_token),
            "webwork_already_tracking_patterns": ["^User already has"],
        }
    )
    with WebWorkClient.from_settings(configured) as client:
        assert client.classifier.already_tracking_patterns == ("^User already has",)
        assert client.start(workspace_id=1, user_id=46).status == 200
    with pytest.raises(ConfigError, match="WEBWORK_TOKEN"):
        WebWorkClient.from_settings(Settings(webwork_base_url=sandbox.api_url))
