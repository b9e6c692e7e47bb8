"""/readyz says 503 with reasons when Redis is unreachable or the rules are not loaded."""

from __future__ import annotations

import httpx
import redis

from tests.ports import free_port
from tests.webhooks.conftest import SOURCES
from tests.webhooks.helpers import admin_for, serve
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.webhooks.app import create_app


def test_readyz_reports_rules_not_loaded(settings, redis_client, keys, queue, secrets_env):
    """With ready() false, /readyz is 503 'rules not loaded' while /healthz stays 200."""
    app = create_app(
        settings, client=redis_client, keys=keys, sources=SOURCES, queue=queue, ready=lambda: False
    )
    with serve(admin_for(app)) as url:
        ready = httpx.get(url + "/readyz")
        alive = httpx.get(url + "/healthz")
    assert ready.status_code == 503
    assert ready.json()["reasons"] == ["rules not loaded"]
    assert alive.status_code == 200


def test_readyz_and_hooks_without_redis(settings, keys, secrets_env):
    """With Redis unreachable, /readyz is 503 and a valid delivery is 503 + Retry-After."""
    dead = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    app = create_app(
        settings,
        client=dead,
        keys=keys,
        sources=SOURCES,
        queue=TriggerQueue(make_broker(dead, keys)),
    )
    body = (
        b'{"type": "badge.in", "id": "e1", "subject": "a@example.com", "occurred_at": 1767603503}'
    )
    with serve(app) as url, serve(admin_for(app)) as admin:
        ready = httpx.get(admin + "/readyz")
        hook = httpx.post(
            url + "/hooks/legacy",
            content=body,
            headers={
                "X-Autoclock-Token": "legacy-shared-token",
                "Content-Type": "application/json",
            },
        )
    assert ready.status_code == 503
    assert ready.json()["reasons"][0].startswith("redis unreachable")
    assert hook.status_code == 503
    assert hook.headers["Retry-After"] == "5"
    assert "retry later" in hook.json()["error"]
