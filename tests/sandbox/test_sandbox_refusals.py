"""Refusals answered in every style, the edge-case people, and answers lost after the effect."""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner

from worker.cli import main
from worker.errors import ConfigError
from worker.sandbox import SandboxConfig, Seed, start_sandbox
from worker.sandbox.models import CONFLICT_STYLES
from worker.sandbox.refusals import OPAQUE_MESSAGE

OWNER = {"Authorization": "Bearer sandbox-owner-token"}

#: (what is refused, request path, body) on the sample seed with edge cases, 42 tracking.
CASES = [
    ("already_tracking", "start", {"workspace_id": 1, "user_id": 42}),
    ("desktop_tracker", "start", {"workspace_id": 1, "user_id": 48}),
    ("not_tracking", "stop", {"workspace_id": 1, "user_id": 44}),
    ("member_left", "start", {"workspace_id": 1, "user_id": 47}),
    ("contract_paused", "start", {"workspace_id": 1, "user_id": 43, "contract_id": 25}),
]
EXPECTED_STATUS = {"documented": 400, "409": 409, "422": 422, "opaque": 400}


@pytest.fixture(scope="module")
def edge_sandbox():
    running = start_sandbox(Seed.sample().with_edge_cases(), SandboxConfig(rpm=0))
    yield running
    running.stop()


@pytest.mark.parametrize("style", CONFLICT_STYLES)
def test_every_refusal_in_every_style_has_no_effect(edge_sandbox, style):
    """Each refusal answers the style's status and envelope, and changes no tracker."""
    control = edge_sandbox.control
    control.reset()
    control.set_config(conflicts=style)
    control.set_tracker(42, contract_id=20, source="browser")
    before = control.trackers()
    answers = {}
    with httpx.Client(base_url=edge_sandbox.api_url + "/", headers=OWNER, timeout=5) as http:
        for name, verb, body in CASES:
            answers[name] = http.post(f"time-tracking/{verb}", json=body)
    assert control.trackers() == before
    for name, response in answers.items():
        assert response.status_code == EXPECTED_STATUS[style], (name, response.text)
        body = response.json()
        if style == "422":
            assert set(body) == {"message", "errors"}
        else:
            assert body["success"] is False
        if style == "opaque":
            assert body["message"] == OPAQUE_MESSAGE
    if style == "documented":
        assert "already has an active tracker" in answers["desktop_tracker"].json()["message"]
        assert "paused" in answers["contract_paused"].json()["message"]
        assert "not an active member" in answers["member_left"].json()["message"]


def test_desktop_tracker_blocks_a_start_but_current_data_cannot_see_it(edge_sandbox):
    """The seeded desktop-app tracker is running, invisible to current-data, back after reset."""
    control = edge_sandbox.control
    control.reset()
    assert control.tracking(48).source == "desktop"
    with httpx.Client(base_url=edge_sandbox.api_url + "/", headers=OWNER, timeout=5) as http:
        current = http.get("time-tracking/current-data", params={"workspace_id": 1, "user_id": 48})
        refused = http.post("time-tracking/start", json={"workspace_id": 1, "user_id": 48})
    assert current.json()["data"] is None
    assert refused.status_code == 400
    control.set_tracker(48, running=False)
    assert control.reset().trackers[0].user_id == 48


def test_edge_cases_fit_the_synthetic_seed_and_refuse_collisions():
    """Load-test seeds get the same edge cases; a seed that already uses the ids is refused."""
    seed = Seed.synthetic(3).with_edge_cases()
    statuses = {m.id: m.status for m in seed.members}
    assert statuses[47] == "left"
    assert any(c.status == "paused" for c in seed.contracts)
    with pytest.raises(ConfigError, match="47-48"):
        seed.with_edge_cases()


def test_a_dropped_answer_took_effect(sandbox):
    """drop_rate 1: the start applies, then the connection closes before the body."""
    sandbox.control.set_faults(drop_rate=1.0)
    with (
        httpx.Client(base_url=sandbox.api_url + "/", headers=OWNER, timeout=5) as http,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        http.post("time-tracking/start", json={"workspace_id": 1, "user_id": 42})
    (call,) = sandbox.control.calls()
    assert (call.status, call.effect, call.dropped) == (200, "started", True)
    assert sandbox.control.tracking(42) is not None
    with httpx.Client(base_url=sandbox.api_url + "/", headers=OWNER, timeout=5) as http:
        refused = http.post("time-tracking/start", json={"workspace_id": 1, "user_id": 42})
    assert refused.status_code == 400  # refusals are answered: only effects are dropped


def test_cli_offers_conflict_styles_edge_cases_and_dropped_answers():
    """``autoclock sandbox --help`` documents the new options; a bad style is a usage error."""
    result = CliRunner().invoke(main, ["sandbox", "--help"])
    assert result.exit_code == 0
    for option in ("--conflicts", "--edge-cases", "--drop-rate", "documented|409|422|opaque"):
        assert option in result.output
    bad = CliRunner().invoke(main, ["sandbox", "--conflicts", "teapot"])
    assert bad.exit_code == 2
    assert "teapot" in bad.output
