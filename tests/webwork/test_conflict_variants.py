"""Already-tracking / not-tracking classification holds for every plausible status and wording."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from worker.errors import AlreadyTracking, NotTracking, Rejected
from worker.webwork import Classifier, WebWorkClient

STATUSES = [400, 409, 422]

# (already-tracking wording, not-tracking wording), each matched by a default pattern
MATCHED = [
    ("User already has an active tracker.", "There is no active tracker for this user."),
    ("Tracker is ALREADY TRACKING for user 42", "User is not tracking time right now"),
]
# wordings no default pattern matches: only the current-data confirmation can classify them
UNMATCHED = [
    ("Conflict", "Conflict"),
    ("Unable to process the request for this member.", "Invalid tracker state."),
]


def client_for(sb, **classifier) -> WebWorkClient:
    return WebWorkClient(
        base_url=sb.api_url, token=SecretStr(sb.owner_token), classifier=Classifier(**classifier)
    )


def configure(sb, status: int, already: str, not_tracking: str) -> None:
    sb.control.set_config(
        reject_status=status, already_tracking_message=already, not_tracking_message=not_tracking
    )


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize(("already", "not_tracking"), MATCHED)
def test_matched_wording_classified_without_confirmation(sandbox, status, already, not_tracking):
    """A matching message classifies the rejection by pattern alone (no current-data call)."""
    configure(sandbox, status, already, not_tracking)
    with client_for(sandbox) as client:
        client.start(workspace_id=1, user_id=42)
        before = sandbox.control.state().calls_total
        with pytest.raises(AlreadyTracking) as started:
            client.start(workspace_id=1, user_id=42)
        client.stop(workspace_id=1, user_id=42)
        with pytest.raises(NotTracking) as stopped:
            client.stop(workspace_id=1, user_id=42)
    assert started.value.status == stopped.value.status == status
    assert started.value.api_message == already
    assert "matched pattern" in str(started.value)
    paths = [c.path for c in sandbox.control.calls(since=before)]
    assert "/api/v2/time-tracking/current-data" not in paths


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize(("already", "not_tracking"), UNMATCHED)
def test_unmatched_wording_confirmed_via_current_data(sandbox, status, already, not_tracking):
    """An unknown wording on a conflict status is resolved by asking current-data."""
    configure(sandbox, status, already, not_tracking)
    with client_for(sandbox) as client:
        client.start(workspace_id=1, user_id=42)
        with pytest.raises(AlreadyTracking) as started:
            client.start(workspace_id=1, user_id=42)
        client.stop(workspace_id=1, user_id=42)
        with pytest.raises(NotTracking) as stopped:
            client.stop(workspace_id=1, user_id=42)
    assert "confirmed via current-data" in str(started.value)
    assert "confirmed via current-data" in str(stopped.value)
    assert started.value.status == status
    assert started.value.api_message == already


@pytest.mark.parametrize("status", STATUSES)
def test_unmatched_wording_without_confirmation_is_rejected(sandbox, status):
    """With confirmation off, an unknown wording stays a Rejected (never a silent success)."""
    configure(sandbox, status, *UNMATCHED[1])
    with client_for(sandbox, confirm_with_current_data=False) as client:
        client.start(workspace_id=1, user_id=42)
        with pytest.raises(Rejected) as err:
            client.start(workspace_id=1, user_id=42)
    assert err.value.status == status
    assert not isinstance(err.value, AlreadyTracking)


def test_wording_in_error_field_is_matched(sandbox):
    """A Laravel-style 422 whose detail sits in ``error`` is still classified."""
    sandbox.control.set_config(
        reject_status=422,
        already_tracking_message="The given data was invalid.",
        reject_error="The user is already tracking time.",
    )
    with client_for(sandbox, confirm_with_current_data=False) as client:
        client.start(workspace_id=1, user_id=42)
        with pytest.raises(AlreadyTracking) as err:
            client.start(workspace_id=1, user_id=42)
    assert err.value.api_message == (
        "The given data was invalid.; The user is already tracking time."
    )


def test_status_outside_conflict_set_is_rejected_even_if_worded(sandbox):
    """A status the operator did not list as a conflict is Rejected, whatever it says."""
    sandbox.control.set_config(reject_status=409)
    with client_for(sandbox, conflict_statuses=frozenset({400, 422})) as client:
        client.start(workspace_id=1, user_id=42)
        with pytest.raises(Rejected) as err:
            client.start(workspace_id=1, user_id=42)
    assert err.value.status == 409


def test_desktop_tracker_invisible_to_current_data_stays_rejected(sandbox):
    """A tracker current-data cannot see (desktop app) is not confirmed: Rejected, not success."""
    sandbox.control.set_config(already_tracking_message="Conflict")
    sandbox.control.set_tracker(42, contract_id=20, source="desktop")
    with client_for(sandbox) as client:
        assert client.current(workspace_id=1, user_id=42) is None
        with pytest.raises(Rejected) as err:
            client.start(workspace_id=1, user_id=42)
    assert not isinstance(err.value, AlreadyTracking)
    assert sandbox.control.tracking(42).source == "desktop"


def test_confirmation_when_current_data_is_missing_is_rejected(sandbox):
    """If current-data does not exist (older API), an unknown wording is Rejected, saying why."""
    sandbox.control.set_config(not_tracking_message="Conflict", current_data=False)
    with client_for(sandbox) as client, pytest.raises(Rejected) as err:
        client.stop(workspace_id=1, user_id=42)
    assert "current-data could not confirm" in str(err.value)
