"""A hung Redis (the process stopped, so connections are accepted and never answered): the
receiver answers 503 within 2 s, and so does every role's /readyz; both recover."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx

from tests.webhooks.conftest import PEOPLE, SOURCES
from tests.webhooks.helpers import SECRETS, admin_for, serve, standard_headers
from worker.cli._admin import redis_health
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.redisserver import RedisServer
from worker.settings import Settings
from worker.store import Keys, connect
from worker.webhooks.app import create_app

LIMIT_S = 2.0


def _event(n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "type": "badge.in",
            "subject": f"p{n}@example.com",
            "occurred_at": "2026-11-02T08:00:00Z",
            "door": "Lobby",
        }
    ).encode()
    return body, standard_headers(body, SECRETS["std"], msg_id=f"hung-{n}")


def test_a_stopped_redis_is_a_503_within_2_s(tmp_path: Path, secrets_env: None) -> None:
    server = RedisServer.start(tmp_path / "redis", config={"save": "", "appendonly": "no"})
    settings = Settings(
        redis_url=server.url,
        namespace="hung",
        data_dir=tmp_path / "d",
        rules_dir=tmp_path / "r",
        log_format="json",
    )
    handle = connect(settings)
    keys = Keys(settings.namespace)
    app = create_app(
        settings,
        client=handle.client,
        keys=keys,
        sources=SOURCES,
        directory=PEOPLE,
        queue=TriggerQueue(make_broker(handle.client, keys)),
    )
    worker_ready = redis_health(handle.client)  # what worker and scheduler serve on /readyz
    try:
        with (
            serve(app) as url,
            serve(admin_for(app)) as admin,
            httpx.Client(timeout=30) as http,
        ):
            body, headers = _event(1)
            assert http.post(f"{url}/hooks/std", content=body, headers=headers).status_code == 202
            assert http.get(f"{admin}/readyz").status_code == 200

            server.process.send_signal(signal.SIGSTOP)
            for n in range(2, 5):
                body, headers = _event(n)
                started = time.monotonic()
                answer = http.post(f"{url}/hooks/std", content=body, headers=headers)
                elapsed = time.monotonic() - started
                assert answer.status_code == 503, answer.text
                assert elapsed < LIMIT_S, elapsed
                assert answer.headers["Retry-After"]
            started = time.monotonic()
            ready = http.get(f"{admin}/readyz")
            assert ready.status_code == 503
            assert time.monotonic() - started < LIMIT_S
            started = time.monotonic()
            assert worker_ready().problems
            assert time.monotonic() - started < LIMIT_S

            server.process.send_signal(signal.SIGCONT)
            deadline = time.monotonic() + 10
            body, headers = _event(5)
            while time.monotonic() < deadline:
                if http.post(f"{url}/hooks/std", content=body, headers=headers).status_code == 202:
                    break
                time.sleep(0.2)
            else:
                raise AssertionError("no 202 after Redis came back")
            assert http.get(f"{admin}/readyz").status_code == 200
            assert not worker_ready().problems
    finally:
        server.process.send_signal(signal.SIGCONT)
        handle.close()
        server.stop()
