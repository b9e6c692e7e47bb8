"""Which failures prove nothing was applied, and refusals left for the caller to confirm."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from worker.errors import AlreadyTracking, Rejected, Transient, Unconfirmed
from worker.sandbox.server import bind
from worker.webwork import WebWorkClient


def client_for(url: str, token: str = "sandbox-owner-token") -> WebWorkClient:
    return WebWorkClient(base_url=url, token=SecretStr(token), timeout_s=5)


@pytest.mark.parametrize("style", ["409", "422", "opaque"])
def test_confirm_false_leaves_an_unmatched_refusal_unconfirmed_without_a_call(sandbox, style):
    """With confirm=False the client makes no current-data call: Unconfirmed (a Rejected)
    carries WebWork's status and words."""
    sandbox.control.set_config(conflicts=style)
    sandbox.control.set_tracker(42, contract_id=20, source="browser")
    with client_for(sandbox.api_url) as client, pytest.raises(Unconfirmed) as refused:
        client.start(workspace_id=1, user_id=42, confirm=False)
    assert isinstance(refused.value, Rejected)
    assert refused.value.status == {"409": 409, "422": 422, "opaque": 400}[style]
    assert refused.value.api_message
    assert [c.path.rsplit("/", 1)[-1] for c in sandbox.control.calls()] == ["start"]


def test_confirm_false_still_classifies_matched_words(sandbox):
    """The documented wording needs no confirmation either way."""
    sandbox.control.set_tracker(42, contract_id=20, source="desktop")
    with client_for(sandbox.api_url) as client, pytest.raises(AlreadyTracking):
        client.start(workspace_id=1, user_id=42, confirm=False)


def test_503_and_a_refused_connection_prove_nothing_was_applied(sandbox):
    """A 503 (maintenance, load balancer) and a connection never made: maybe_applied False."""
    sandbox.control.set_faults(outage=True)
    with client_for(sandbox.api_url) as client, pytest.raises(Transient) as unavailable:
        client.start(workspace_id=1, user_id=42)
    assert (unavailable.value.status, unavailable.value.maybe_applied) == (503, False)
    sock = bind()
    port = sock.getsockname()[1]
    sock.close()  # nobody listens there
    with (
        client_for(f"http://127.0.0.1:{port}/api/v2") as client,
        pytest.raises(Transient) as refused,
    ):
        client.stop(workspace_id=1, user_id=42)
    assert (refused.value.status, refused.value.maybe_applied) == (None, False)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_other_5xx_may_have_applied(sandbox, status):
    """500/502/504 may follow an effect: maybe_applied True (the caller confirms)."""
    sandbox.control.set_faults(error_rate=1.0, error_status=status)
    with client_for(sandbox.api_url) as client, pytest.raises(Transient) as failed:
        client.start(workspace_id=1, user_id=42)
    assert (failed.value.status, failed.value.maybe_applied) == (status, True)


def test_an_answer_dropped_after_the_effect_may_have_applied(sandbox):
    """The start applied and the connection closed before the body: maybe_applied True."""
    sandbox.control.set_faults(drop_rate=1.0)
    with client_for(sandbox.api_url) as client, pytest.raises(Transient) as lost:
        client.start(workspace_id=1, user_id=42)
    assert (lost.value.status, lost.value.maybe_applied) == (None, True)
    assert sandbox.control.tracking(42) is not None
