"""Parsing rules: tolerant where the docs disagree, strict on success/start_time/stopped_at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from worker.errors import AlreadyTracking, ConfigError, Transient
from worker.webwork import Classifier, WebWorkClient
from worker.webwork.envelope import (
    api_message,
    last_page,
    parse_retry_after,
    parse_timestamp,
)


def test_message_from_top_level_data_error_and_errors_map():
    """The error text joins message (top or in data), error and a Laravel errors map."""
    assert api_message({"message": "A", "error": "B"}) == "A; B"
    assert api_message({"data": {"message": "inside"}}) == "inside"
    assert api_message({"message": "Invalid", "errors": {"user_id": ["taken", "bad"]}}) == (
        "Invalid; user_id: taken, bad"
    )
    assert api_message(None, b"<html>Bad gateway</html>") == "<html>Bad gateway</html>"


def test_pagination_from_meta_or_top_level():
    """last_page is read from meta.pagination, else top-level pagination, else total/per_page."""
    assert last_page({"meta": {"pagination": {"last_page": 4}}}) == 4
    assert last_page({"meta": {}, "pagination": {"current_page": 1, "last_page": 3}}) == 3
    assert last_page({"pagination": {"total": 201, "per_page": 100}}) == 3
    assert last_page({"data": []}) == 1


def test_timestamps_in_every_documented_form():
    """+00:00, Z and microsecond forms parse to aware datetimes; junk does not."""
    expected = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert parse_timestamp("2024-01-15T10:30:00+00:00") == expected
    assert parse_timestamp("2024-01-15T10:30:00.000000Z") == expected
    assert parse_timestamp("2024-01-15 10:30:00") == expected
    assert parse_timestamp("yesterday") is None
    assert parse_timestamp(None) is None


def test_retry_after_seconds_date_and_default():
    """Retry-After as seconds or HTTP date; absent or garbage means 60 s."""
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("17") == 17
    later = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(later, now=now) == 30
    assert parse_retry_after(None) == 60
    assert parse_retry_after("soon") == 60


def test_invalid_pattern_is_a_config_error():
    """A broken regular expression in the patterns is refused, naming the setting."""
    with pytest.raises(ConfigError, match="WEBWORK_NOT_TRACKING_PATTERNS"):
        Classifier(not_tracking_patterns=("no (active",))


def _client_answering(status: int, body: bytes) -> WebWorkClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})

    return WebWorkClient(
        base_url="http://webwork.invalid/api/v2",
        token=SecretStr("unit-test-token"),
        transport=httpx.MockTransport(handler),
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": {"start_time": "2024-01-15T10:30:00+00:00"}}',  # no success flag
        b'{"success": "yes", "data": {"start_time": "2024-01-15T10:30:00+00:00"}}',
        b'{"success": true, "data": {"message": "ok"}}',  # no start_time
        b'{"success": true, "data": {"start_time": "later"}}',
        b"<html>proxy page</html>",
    ],
)
def test_start_200_without_success_or_start_time_is_transient(body):
    """A 200 that does not say success:true with a valid start_time is not taken as a start."""
    with _client_answering(200, body) as client, pytest.raises(Transient, match="malformed"):
        client.start(workspace_id=1, user_id=42)


def test_success_false_with_200_is_classified():
    """A 200 with success:false and conflict wording is still AlreadyTracking."""
    body = b'{"success": false, "message": "User already has an active tracker"}'
    with _client_answering(200, body) as client, pytest.raises(AlreadyTracking):
        client.start(workspace_id=1, user_id=42)


def test_unknown_fields_are_ignored():
    """Extra fields anywhere in a response do not break parsing."""
    body = (
        b'{"success": true, "extra": 1, "data": {"stopped_at": "2024-01-15T12:30:00+00:00",'
        b' "user_name": "Dana", "new_field": {"x": 1}}, "meta": {"api_version": "2.1.0"}}'
    )
    with _client_answering(200, body) as client:
        result = client.stop(workspace_id=1, user_id=42)
    assert result.at == datetime(2024, 1, 15, 12, 30, tzinfo=UTC)
    assert result.message is None
