"""An accepted scan costs one Redis command (claim, direction, enqueue, commit and ingress
entry in one script), and a script whose reply is lost is settled by the vendor's retry."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.ports import free_port
from tests.webhooks.conftest import PEOPLE, SOURCES
from tests.webhooks.helpers import SECRETS, queued_triggers, serve, standard_headers
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.redisserver import RedisServer
from worker.settings import Settings
from worker.store import Keys, connect
from worker.webhooks.app import create_app


def _event(n: int, *, prefix: str = "trip") -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "type": "badge.in",
            "subject": f"p{n}@example.com",
            "occurred_at": "2026-11-02T08:00:00Z",
            "door": "Lobby",
        }
    ).encode()
    return body, standard_headers(body, SECRETS["std"], msg_id=f"{prefix}-{n}")


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[RedisServer, int]]:
    """A private redis-server (nobody else's commands in MONITOR): its Unix socket, and a
    loopback TCP port for the proxy."""
    port = free_port()
    server = RedisServer.start(
        tmp_path / "redis", config={"save": "", "appendonly": "no"}, port=port
    )
    yield server, port
    server.stop()


def _app(url: str, tmp_path: Path, namespace: str) -> tuple[object, redis.Redis, Keys]:
    settings = Settings(
        redis_url=url,
        namespace=namespace,
        data_dir=tmp_path / "d",
        rules_dir=tmp_path / "r",
        log_format="json",
    )
    handle = connect(settings)
    keys = Keys(namespace)
    app = create_app(
        settings,
        client=handle.client,
        keys=keys,
        sources=SOURCES,
        directory=PEOPLE,
        queue=TriggerQueue(make_broker(handle.client, keys)),
    )
    return app, handle.client, keys


def test_an_accepted_scan_is_one_evalsha(
    own_redis: tuple[RedisServer, int], tmp_path: Path, secrets_env: None
) -> None:
    """MONITOR sees exactly one command per accepted scan, and one queued trigger each."""
    server, _port = own_redis
    app, client, keys = _app(server.url, tmp_path, "trips")
    commands: list[str] = []
    ready = threading.Event()

    def watch() -> None:
        with redis.Redis.from_url(server.url).monitor() as monitor:
            ready.set()
            for seen in monitor.listen():
                if seen["command"] == "ECHO end-of-test":
                    return
                if seen.get("client_type") != "lua":  # not the commands a script ran
                    commands.append(seen["command"].split(" ", 1)[0].upper())

    marker = redis.Redis.from_url(server.url)
    marker.ping()  # connected before MONITOR starts: only its ECHO is seen
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        body, headers = _event(0)  # connects and loads the script
        assert http.post("/hooks/std", content=body, headers=headers).status_code == 202
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        assert ready.wait(5)
        for n in range(1, 6):
            body, headers = _event(n)
            answer = http.post("/hooks/std", content=body, headers=headers)
            assert answer.status_code == 202, answer.text
        marker.echo("end-of-test")
        watcher.join(10)
    assert commands == ["EVALSHA"] * 5
    ids = sorted(t["id"] for t in queued_triggers(client, keys))
    assert ids == [f"webhook:std:trip-{n}" for n in range(6)]


class DroppingProxy:
    """A TCP proxy to Redis that, once armed, closes the connection instead of passing the
    next reply on: the command ran, its answer is lost (as when Redis stops right after).
    With ``delay_s`` it passes that reply on late instead."""

    def __init__(self, upstream_port: int, *, delay_s: float = 0.0) -> None:
        self.upstream_port = upstream_port
        self.delay_s = delay_s
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.dropped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(downstream, upstream, False)).start()
            threading.Thread(target=self._pump, args=(upstream, downstream, True)).start()

    def _pump(self, source: socket.socket, target: socket.socket, replies: bool) -> None:
        try:
            while data := source.recv(65536):
                if replies and self.armed.is_set():
                    self.armed.clear()
                    self.dropped.set()
                    if not self.delay_s:
                        break
                    time.sleep(self.delay_s)
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.listener.close()


def test_a_lost_reply_is_a_503_and_the_retry_is_accepted_once(
    own_redis: tuple[RedisServer, int], tmp_path: Path, secrets_env: None
) -> None:
    """The script ran but its reply was lost: 503; the vendor's retry gets the 202 it is
    owed (not a 200 duplicate), the trigger is queued once, a later resend is a duplicate."""
    proxy = DroppingProxy(own_redis[1])
    try:
        app, client, keys = _app(f"redis://127.0.0.1:{proxy.port}/0", tmp_path, "lost")
        with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
            body, headers = _event(0, prefix="lost")
            assert http.post("/hooks/std", content=body, headers=headers).status_code == 202
            body, headers = _event(1, prefix="lost")
            proxy.armed.set()
            first = http.post("/hooks/std", content=body, headers=headers)
            assert proxy.dropped.is_set()
            retry = http.post("/hooks/std", content=body, headers=headers)
            again = http.post("/hooks/std", content=body, headers=headers)
        assert first.status_code == 503, first.text
        assert first.headers["Retry-After"]
        assert retry.status_code == 202, retry.text
        assert retry.json()["kind"] == "badge_in"
        assert retry.json()["trigger_id"] == "webhook:std:lost-1"
        assert again.status_code == 200
        assert again.json()["status"] == "duplicate"
        ids = [t["id"] for t in queued_triggers(client, keys)]
        assert sorted(ids) == ["webhook:std:lost-0", "webhook:std:lost-1"]
        accepted = [
            e
            for _, e in client.xrange(keys("ingress"))
            if e[b"decision"] == b"accepted" and e[b"event_id"] == b"lost-1"
        ]
        assert len(accepted) == 1
    finally:
        proxy.close()


def test_concurrent_deliveries_each_get_their_own_answer(
    own_redis: tuple[RedisServer, int], tmp_path: Path, secrets_env: None
) -> None:
    """60 deliveries at once share one pipelined connection: each answer is its own event's
    (a new event 202 with its trigger id, a resend 200 duplicate), each trigger queued once."""
    server, _port = own_redis
    app, client, keys = _app(server.url, tmp_path, "many")
    events = [n % 40 for n in range(60)]  # 20 of the 40 events are sent twice
    answers: dict[int, list[httpx.Response]] = {}
    lock = threading.Lock()

    def deliver(url: str, n: int) -> None:
        body, headers = _event(n, prefix="many")
        answer = httpx.post(f"{url}/hooks/std", content=body, headers=headers, timeout=30)
        with lock:
            answers.setdefault(n, []).append(answer)

    with serve(app) as url:
        senders = [threading.Thread(target=deliver, args=(url, n)) for n in events]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(60)
    for n, got in answers.items():
        statuses = sorted(a.status_code for a in got)
        assert statuses == ([200, 202] if n < 20 else [202]), (n, [a.text for a in got])
        accepted = next(a for a in got if a.status_code == 202).json()
        assert accepted["trigger_id"] == f"webhook:std:many-{n}"
        assert accepted["event_id"] == f"many-{n}"
    ids = sorted(t["id"] for t in queued_triggers(client, keys))
    assert ids == sorted(f"webhook:std:many-{n}" for n in range(40))


def test_a_late_reply_is_never_handed_to_the_next_delivery(
    own_redis: tuple[RedisServer, int], tmp_path: Path, secrets_env: None
) -> None:
    """A reply that comes after the 0.8 s limit: that delivery is a 503, and the connection
    is dropped, so the late reply (accepted) cannot answer the next delivery (a duplicate)."""
    proxy = DroppingProxy(own_redis[1], delay_s=1.5)
    try:
        app, _client, _keys = _app(f"redis://127.0.0.1:{proxy.port}/0", tmp_path, "late")
        with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
            known, known_headers = _event(0, prefix="late")
            assert http.post("/hooks/std", content=known, headers=known_headers).status_code == 202
            late, late_headers = _event(1, prefix="late")
            proxy.armed.set()
            assert http.post("/hooks/std", content=late, headers=late_headers).status_code == 503
            time.sleep(2.0)  # the late reply has reached the receiver's side by now
            resend = http.post("/hooks/std", content=known, headers=known_headers)
            retry = http.post("/hooks/std", content=late, headers=late_headers)
        assert resend.status_code == 200, resend.text
        assert resend.json()["status"] == "duplicate"
        assert retry.status_code == 202, retry.text  # it ran: settled, queued once
    finally:
        proxy.close()


def test_a_large_delivery_is_handled_off_the_loop_with_the_same_answers(
    app_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    """A body over 64 KiB is verified and parsed in a worker thread (the general path):
    202 once, then a duplicate, and one queued trigger, as for a small one."""
    payload = {
        "type": "badge.in",
        "subject": "big@example.com",
        "occurred_at": "2026-11-02T08:00:00Z",
        "door": "Lobby",
        "note": "x" * 100_000,
    }
    body = json.dumps(payload).encode()
    assert len(body) > 64 * 1024
    headers = standard_headers(body, SECRETS["std"], msg_id="big-1")
    with httpx.Client(base_url=app_url, timeout=10) as http:
        first = http.post("/hooks/std", content=body, headers=headers)
        second = http.post("/hooks/std", content=body, headers=headers)
    assert first.status_code == 202, first.text
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert [t["id"] for t in queued_triggers(redis_client, keys)] == ["webhook:std:big-1"]
