"""Feed fetching against hostile servers on loopback: a byte cap, one deadline, few redirects,
no echo of the answer, and never on the firing path."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis
from click.testing import CliRunner

from tests.scheduler.conftest import write_rules
from tests.scheduler.helpers import queued_triggers
from worker.cli import main
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.rules.load import load_ruleset
from worker.rules.schema import CalendarSource
from worker.scheduler.clock import SimulatedClock
from worker.scheduler.feeds import FeedError, FeedFetcher, _redirect_target, download
from worker.scheduler.loop import Scheduler
from worker.settings import Settings
from worker.store import Keys

SECRET_LINE = "INTERNAL-ADMIN-PAGE do-not-leak 7f3a"
ICS_BODY = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nEND:VCALENDAR\r\n"

Handler = Callable[[socket.socket, str], None]


@contextmanager
def raw_server(handler: Handler) -> Iterator[tuple[str, list[float]]]:
    """A loopback HTTP server that hands each connection (and its request path) to ``handler``.

    Yields the base URL and a list that records when each connection was closed."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()
    closed: list[float] = []

    def serve_one(conn: socket.socket) -> None:
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                data = conn.recv(4096)
                if not data:
                    return
                request += data
            path = request.split(b" ", 2)[1].decode()
            handler(conn, path)
        except OSError:
            pass
        finally:
            conn.close()
            closed.append(time.monotonic())

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", closed
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def drip(interval: float, *, limit_s: float = 60) -> Handler:
    """Headers at once, then one byte of body every ``interval`` seconds (for ``limit_s``)."""

    def handler(conn: socket.socket, _path: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n")
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            time.sleep(interval)
            conn.sendall(b"X")

    return handler


def flood(handler_bytes: int, *, declare: bool) -> Handler:
    """A 200 whose body is ``handler_bytes`` bytes, with or without a Content-Length."""

    def handler(conn: socket.socket, _path: str) -> None:
        length = f"Content-Length: {handler_bytes}\r\n" if declare else ""
        conn.sendall(f"HTTP/1.1 200 OK\r\n{length}Connection: close\r\n\r\n".encode())
        chunk = b"A" * 65536
        sent = 0
        while sent < handler_bytes:
            conn.sendall(chunk)
            sent += len(chunk)

    return handler


def redirects(target: Callable[[str], str | None]) -> Handler:
    """302 to ``target(path)``; a ``None`` target serves an internal, non-calendar page."""

    def handler(conn: socket.socket, path: str) -> None:
        location = target(path)
        if location is None:
            body = f"{SECRET_LINE}\r\n<html>admin</html>".encode()
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            conn.sendall(head + body)
            return
        conn.sendall(
            f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()
        )

    return handler


def feed(url: str) -> CalendarSource:
    return CalendarSource(name="shifts", url=url, person="ana@example.com")


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        yield client


def test_a_slow_drip_is_cut_at_the_total_deadline(http: httpx.Client, tmp_path: Path) -> None:
    with raw_server(drip(0.3)) as (url, _closed):
        started = time.monotonic()
        with pytest.raises(FeedError, match=r"no complete answer within 2 s from 127\.0\.0\.1"):
            download(feed(url + "/cal.ics"), tmp_path, http, deadline_s=2)
        assert time.monotonic() - started < 3.5


@pytest.mark.parametrize("declare", [True, False])
def test_a_huge_answer_is_cut_at_the_byte_cap_while_streaming(
    http: httpx.Client, tmp_path: Path, declare: bool
) -> None:
    with raw_server(flood(400 * 1024 * 1024, declare=declare)) as (url, _closed):
        started = time.monotonic()
        with pytest.raises(FeedError, match="larger than 1048576 bytes"):
            download(feed(url), tmp_path, http, max_bytes=1024 * 1024)
        assert time.monotonic() - started < 5  # 400 MB were never read


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("file:///etc/passwd", "to a file URL refused"),
        ("gopher://127.0.0.1/x", "to a gopher URL refused"),
        ("/again", "more than 3 redirects"),
    ],
)
def test_redirects_are_few_and_only_to_http(
    http: httpx.Client, tmp_path: Path, location: str, reason: str
) -> None:
    with (
        raw_server(redirects(lambda _path: location)) as (url, _closed),
        pytest.raises(FeedError, match=reason),
    ):
        download(feed(url + "/cal.ics"), tmp_path, http)


def test_a_redirect_to_an_internal_page_never_echoes_it(
    http: httpx.Client, redis_client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    """Two hops are followed, but the page at the end is no calendar: the error, the stored
    status and the log name the host only."""
    with raw_server(redirects(lambda p: {"/cal.ics": "/hop", "/hop": "/internal"}.get(p))) as (
        url,
        _closed,
    ):
        fetcher = FeedFetcher(redis_client, Keys(namespace), rules_dir=tmp_path, http=http)
        result = fetcher.fetch(feed(url + "/cal.ics"), datetime.now(ZoneInfo("UTC")))
    assert result.error == "the answer from 127.0.0.1 is not an iCalendar file (56 bytes)"
    status = fetcher.status("shifts")
    assert SECRET_LINE not in str(status)
    assert status["failures"] == "1"


def test_status_shows_feed_health(
    redis_url: str,
    redis_client: redis.Redis,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``autoclock status``: last success, last error and the age of the copy in use."""
    good, bad = "http://127.0.0.1:9/good.ics", "http://127.0.0.1:9/bad.ics"
    rules = write_rules(
        tmp_path / "rules",
        calendars=[
            {"name": "good", "url": good, "person": "ana@example.com"},
            {"name": "bad", "url": bad, "person": "bo@example.com"},
        ],
    )
    fetcher = FeedFetcher(redis_client, Keys(namespace), rules_dir=rules)
    then = datetime.now(ZoneInfo("UTC")) - timedelta(minutes=42)
    with raw_server(redirects(lambda _p: None)) as (url, _closed):
        ok = CalendarSource(name="good", url=good, person="ana@example.com")
        body = ICS_BODY.decode()

        def serve(conn: socket.socket, _path: str) -> None:
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode())

        with raw_server(serve) as (ics_url, _):
            assert fetcher.fetch(ok.model_copy(update={"url": ics_url}), then).error is None
        broken = CalendarSource(name="bad", url=url, person="bo@example.com")
        fetcher.fetch(broken, then)
        fetcher.fetch(broken, then + timedelta(minutes=1))
    for name, value in {
        "REDIS_URL": redis_url,
        "AUTOCLOCK_NAMESPACE": namespace,
        "AUTOCLOCK_RULES_DIR": str(rules),
    }.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "42 min old" in lines["good"]
    assert "none" in lines["bad"]
    assert "is not an iCalendar file (56 bytes) (2 in a row)" in lines["bad"]
    assert SECRET_LINE not in result.output
    data = json.loads(CliRunner().invoke(main, ["status", "--feeds", "--json"]).output)
    feeds = {f["feed"]: f for f in data}
    assert feeds["good"]["last_error"] is None
    assert 42 * 60 <= feeds["good"]["copy_age_s"] < 43 * 60
    assert feeds["bad"]["failures"] == 2
    assert feeds["bad"]["last_success"] is None


def test_a_slow_feed_delays_no_fire(
    settings: Settings, redis_client: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    """The scheduler runs with a feed that drips for a minute; a schedule due 3 s after start
    is enqueued on time, while that fetch is still hanging."""
    zone = ZoneInfo("Europe/Berlin")
    nine = datetime.now(zone).replace(hour=9, minute=0, second=0, microsecond=0)
    with raw_server(drip(1.0)) as (url, closed):
        rules = write_rules(
            tmp_path / "rules",
            calendars=[{"name": "slow", "url": url + "/cal.ics", "person": "ana@example.com"}],
            schedules=[{"name": "nine", "at": "09:00", "people": ["ana@example.com"]}],
        )
        ruleset = load_ruleset(rules)
        queue = TriggerQueue(make_broker(redis_client, Keys(namespace)))
        clock = SimulatedClock(nine - timedelta(seconds=3))
        scheduler = Scheduler(settings, redis_client, ruleset, queue, clock=clock)
        stop = threading.Event()
        runner = threading.Thread(target=scheduler.run, args=(stop,), daemon=True)
        started = time.monotonic()
        runner.start()
        try:
            deadline = started + 15
            while not queued_triggers(redis_client, namespace) and time.monotonic() < deadline:
                time.sleep(0.1)
            waited = time.monotonic() - started
            triggers = queued_triggers(redis_client, namespace)
            still_dripping = not closed
        finally:
            stop.set()
            runner.join(5)
    assert [t["id"] for t in triggers] == [f"schedule:nine:ana@example.com:{nine.date()}"], triggers
    assert waited < 3 + 2 * settings.scheduler_tick_s + 1.5
    assert still_dripping, "the feed fetch should still have been hanging"


@pytest.mark.parametrize(
    ("start", "location", "outcome"),
    [
        ("https://feeds.example.com/a.ics", "http://feeds.example.com/b.ics", "down from https"),
        ("https://feeds.example.com/a.ics", "ftp://feeds.example.com/b.ics", "ftp URL refused"),
        ("https://feeds.example.com/a.ics", "javascript:alert(1)", "javascript URL refused"),
        ("https://feeds.example.com/a.ics", "", "without a Location"),
        ("http://feeds.example.com/a.ics", "https://cdn.example.com/b.ics", None),
        ("https://feeds.example.com/dir/a.ics", "b.ics", None),
    ],
)
def test_redirect_targets(start: str, location: str, outcome: str | None) -> None:
    if outcome is None:
        assert _redirect_target(start, location).startswith(("https://", "http://"))
    else:
        with pytest.raises(FeedError, match=outcome):
            _redirect_target(start, location)
