"""Fixtures for the webhook receiver: configured sources with secrets, the app served over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import redis

from tests.webhooks.helpers import SECRETS, serve
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.rules.directory import Directory, Person
from worker.rules.schema import SourcesFile, WebhookSource
from worker.settings import Settings, webhook_secret_env
from worker.store import Keys
from worker.webhooks.app import create_app

SOURCES = SourcesFile(
    webhooks=[
        WebhookSource(
            name="kisi-hq",
            vendor="kisi",
            doors={"Main Entrance": "both", "Back Exit": "out", "31999": "in"},
            debounce=timedelta(seconds=60),
        ),
        WebhookSource(name="verkada-hq", vendor="verkada"),
        WebhookSource(name="unifi-hq", vendor="unifi"),
        WebhookSource(name="genea-hq", vendor="genea"),
        WebhookSource(
            name="std",
            vendor="standard",
            doors={"Lobby": "both", "Garage": "in"},
            default_direction=None,
        ),
        WebhookSource(name="legacy", vendor="shared_secret", allow_unsigned=True),
        WebhookSource(name="webwork", vendor="webwork"),
        WebhookSource(name="nosecret", vendor="kisi"),
    ]
)

PEOPLE = Directory(
    [
        Person(
            email="dana.ruiz@example.com",
            name="Dana Ruiz",
            timezone="America/Los_Angeles",
            user_id=7001,
            vendor_ids={"kisi-hq": "482913"},
            badges=("12006465125",),
        ),
        Person(
            email="sam.lee@example.com",
            name="Sam Lee",
            timezone="Europe/Berlin",
            user_id=7002,
            vendor_ids={"unifi-hq": "a11b22c3-128b-2f33-0c5c-7fd0a6a3a450"},
        ),
    ]
)


@pytest.fixture
def keys(namespace: str) -> Keys:
    return Keys(namespace)


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test source's secret in its AUTOCLOCK_WEBHOOK_SECRET_<NAME> variable."""
    for name, secret in SECRETS.items():
        monkeypatch.setenv(webhook_secret_env(name), secret)
    monkeypatch.delenv(webhook_secret_env("nosecret"), raising=False)


@pytest.fixture
def queue(redis_client: redis.Redis, keys: Keys) -> TriggerQueue:
    return TriggerQueue(make_broker(redis_client, keys))


@pytest.fixture
def app_url(
    settings: Settings,
    redis_client: redis.Redis,
    keys: Keys,
    queue: TriggerQueue,
    secrets_env: None,
) -> Iterator[str]:
    """The receiver (test sources, people directory) served on 127.0.0.1; its base URL."""
    app = create_app(
        settings, client=redis_client, keys=keys, sources=SOURCES, directory=PEOPLE, queue=queue
    )
    with serve(app) as url:
        yield url


@pytest.fixture
def http(app_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app_url, timeout=10) as client:
        yield client
