"""One leader at a time, each fire claimed once, feeds fetched conditionally, kept on failure."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from tests.scheduler.conftest import ICS
from worker.rules.schema import CalendarSource
from worker.scheduler.claims import Claims
from worker.scheduler.feeds import FeedFetcher
from worker.scheduler.leader import LeaderElector, LeaderLock
from worker.store import Keys

NOW = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_leader_lock_is_exclusive_renewable_and_expires(
    redis_client: redis.Redis, namespace: str
) -> None:
    """Only the token holder renews or releases; when it stops renewing another takes over."""
    key = Keys(namespace)("scheduler", "leader")
    a = LeaderLock(redis_client, key, ttl_s=0.5)
    b = LeaderLock(redis_client, key, ttl_s=0.5)
    assert a.acquire()
    assert not b.acquire()
    assert a.renew()
    assert not b.renew()
    assert not b.release()
    assert a.holder() == a.token
    time.sleep(0.7)
    assert b.acquire()
    assert not a.renew()
    assert b.release()
    assert a.acquire()


def test_elector_reports_leadership_and_releases_on_stop(
    redis_client: redis.Redis, namespace: str
) -> None:
    """An elector leads while it renews; stopping it hands the lock over at once."""
    key = Keys(namespace)("scheduler", "leader")
    changes: list[bool] = []
    one = LeaderElector(LeaderLock(redis_client, key, ttl_s=0.6), on_change=changes.append)
    two = LeaderElector(LeaderLock(redis_client, key, ttl_s=0.6))
    one.start()
    two.start()
    try:
        time.sleep(1.0)  # longer than the TTL: renewals keep the first one leading
        assert one.is_leader()
        assert not two.is_leader()
        one.stop()
        assert not one.is_leader()
        assert changes == [True, False]
        deadline = time.monotonic() + 2
        while not two.is_leader() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert two.is_leader()
    finally:
        one.stop()
        two.stop()


def test_claims_once_and_takes_over_a_dead_leaders_pending_claim(
    redis_client: redis.Redis, namespace: str
) -> None:
    """A fire is claimed once; a pending claim of a leader that died is taken by the new leader."""
    keys = Keys(namespace)
    lock = keys("scheduler", "leader")
    old = Claims(redis_client, keys, owner="old", lock_key=lock, ttl_s=60)
    new = Claims(redis_client, keys, owner="new", lock_key=lock, ttl_s=60)
    redis_client.set(lock, "old")
    assert old.claim("f1")
    assert not new.claim("f1")
    redis_client.set(lock, "new")  # old died; new leads
    assert new.claim("f1")
    assert new.state("f1") == "pending:new"
    new.complete("f1")
    assert not old.claim("f1")
    assert not new.claim("f1")
    assert new.state("f1") == "done"
    assert new.claim("f2")
    new.release("f2")
    assert new.state("f2") is None
    assert old.claim("f2")


class _Feed(http.server.BaseHTTPRequestHandler):
    body = b""
    etag = '"v1"'
    status = 200
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(dict(self.headers))
        if type(self).status != 200:
            self.send_response(type(self).status)
            self.end_headers()
            return
        if self.headers.get("If-None-Match") == type(self).etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", type(self).etag)
        self.send_header("Content-Type", "text/calendar")
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Feed.body, _Feed.etag, _Feed.status, _Feed.seen = (
        (ICS / "floating.ics").read_bytes(),
        '"v1"',
        200,
        [],
    )
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_feed_conditional_get_hash_and_last_good_copy(
    redis_client: redis.Redis,
    namespace: str,
    tmp_path: Path,
    feed_server: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """304 keeps the copy; a new body is 'changed'; a 503 or HTML keeps the last good copy."""
    secret_url = f"{feed_server}/private/s3cr3t-token/basic.ics"
    source = CalendarSource(name="team", url=secret_url, person="ana@example.com")
    fetcher = FeedFetcher(redis_client, Keys(namespace), rules_dir=tmp_path)
    first = fetcher.fetch(source, NOW)
    assert first.changed
    assert first.copy is not None
    assert first.copy.etag == '"v1"'
    second = fetcher.fetch(source, NOW)
    assert second.not_modified
    assert not second.changed
    assert second.copy == first.copy
    assert _Feed.seen[-1].get("If-None-Match") == '"v1"'
    _Feed.etag = '"v2"'  # same bytes, new validator: the hash says nothing changed
    assert not fetcher.fetch(source, NOW).changed
    _Feed.body, _Feed.etag = (ICS / "berlin-dst.ics").read_bytes(), '"v3"'
    third = fetcher.fetch(source, NOW)
    assert third.changed
    assert third.copy is not None
    assert third.copy.sha256 != first.copy.sha256
    _Feed.status = 503
    failed = fetcher.fetch(source, NOW)
    assert failed.error == "HTTP 503 from 127.0.0.1"
    assert failed.copy == third.copy
    _Feed.status, _Feed.body, _Feed.etag = 200, b"<html>sign in</html>", '"v4"'
    garbage = fetcher.fetch(source, NOW)
    assert garbage.error
    assert "iCalendar" in garbage.error
    assert garbage.copy == third.copy
    status = fetcher.status("team")
    assert status["failures"] == "2"
    assert status["last_error"] == garbage.error
    assert fetcher.stored("team") == third.copy
    captured = capsys.readouterr()
    assert "s3cr3t-token" not in captured.out + captured.err
    fetcher.close()


def test_file_feed_missing_file_is_reported(
    redis_client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    """A calendar file that is missing is a reported failure, not a crash."""
    source = CalendarSource(name="f", path="calendars/none.ics", person="ana@example.com")
    fetcher = FeedFetcher(redis_client, Keys(namespace), rules_dir=tmp_path)
    result = fetcher.fetch(source, NOW)
    assert result.copy is None
    assert result.error
    assert "calendars/none.ics" in result.error
    fetcher.close()
