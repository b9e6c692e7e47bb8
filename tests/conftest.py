"""Fixtures shared by every test: a real Redis, a per-test key namespace, settings.

Redis: the one named by ``AUTOCLOCK_TEST_REDIS_URL``, else a ``redis-server`` this session
starts itself (in a temporary directory, Unix socket only; stopped at the end). A Redis that
merely answers on 127.0.0.1:6379 is never used unless named: it may be another project's,
or a deployment's. Each test gets its own namespace, so tests never see each other's keys and
nothing is flushed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from worker.redisserver import RedisServer
from worker.settings import Settings

#: Names the Redis the tests may use (keys under ``test-*`` namespaces, never flushed).
TEST_REDIS_ENV = "AUTOCLOCK_TEST_REDIS_URL"


def named_test_redis() -> str | None:
    """The explicitly named test Redis, or None (the session starts its own)."""
    return os.environ.get(TEST_REDIS_ENV) or None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Redis server for this test session."""
    url = named_test_redis()
    if url:
        yield url
        return
    server = RedisServer.start(
        tmp_path_factory.mktemp("redis"), config={"save": "", "appendonly": "no"}
    )
    yield server.url
    server.stop()


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A fresh key namespace; its keys (and its Dramatiq keys) are deleted afterwards."""
    ns = f"test-{uuid.uuid4().hex[:12]}"
    yield ns
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{ns}*", count=1000):
            client.delete(key)
    except (redis.RedisError, OSError):
        pass  # a fault test may have left this Redis stopped; its keys die with it
    finally:
        client.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, namespace: str) -> Settings:
    """Settings pointing at the test Redis and namespace, with files under ``tmp_path``."""
    return Settings(
        redis_url=redis_url,
        namespace=namespace,
        data_dir=tmp_path / "data",
        rules_dir=tmp_path / "rules",
        log_format="json",
    )


# -- WebWork sandbox (issue 2) ---------------------------------------------------------------

from collections.abc import Callable  # noqa: E402

from worker.sandbox import Faults, RunningSandbox, SandboxConfig, Seed, start_sandbox  # noqa: E402


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """A WebWork sandbox on the sample seed, rate limit off, on a free loopback port.

    ``.api_url`` (client base URL), ``.control`` (SandboxControl), ``.owner_token``, ``.seed``.
    """
    running = start_sandbox(Seed.sample(), SandboxConfig(rpm=0))
    yield running
    running.stop()


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., RunningSandbox]]:
    """``sandbox_factory(seed=None, faults=None, **config)`` starts a customised sandbox
    (``config`` fields of SandboxConfig; rate limit 60 rpm unless given); all stop at teardown."""
    started: list[RunningSandbox] = []

    def make(
        seed: Seed | None = None, faults: Faults | None = None, **config: object
    ) -> RunningSandbox:
        running = start_sandbox(seed or Seed.sample(), SandboxConfig.model_validate(config), faults)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()
