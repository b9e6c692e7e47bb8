"""The Redis connection: from ``REDIS_URL``, or the embedded server under the data directory.

``REDIS_URL`` is ``redis://``, ``rediss://`` (TLS) or ``unix://``, with an ACL user and
password as ``rediss://user:password@host:port/0`` (a private CA:
``?ssl_ca_certs=/path/ca.pem``). Every role uses the one URL.

Without ``REDIS_URL`` only ``run`` and ``demo`` start an embedded ``redis-server`` (see
:mod:`worker.redisserver`) with append-only persistence and ``noeviction``, its files in
``<data_dir>/redis``, so queued triggers, the dedupe ledger and the outcome history survive a
restart. The process that starts it owns it (a lock file) and stops it when it stops. The
command-line tools (``history``, ``status``, ``dlq``, ``trigger``) use the running one, or
start it for as long as they run; the roles ``worker``, ``webhooks`` and ``scheduler`` need
``REDIS_URL`` (a private Redis there would never see the other roles' triggers).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import redis
import redis.asyncio
import redis.asyncio.connection
import redis.asyncio.retry
from redis.backoff import NoBackoff
from redis.retry import Retry

from worker.errors import ConfigError
from worker.redisserver import RedisServer, find_redis_server
from worker.settings import Settings

__all__ = [
    "COMPARE_AND_DELETE",
    "FAIL_FAST_TIMEOUT_S",
    "Embedded",
    "Keys",
    "RedisHandle",
    "async_connector",
    "async_fail_fast",
    "connect",
    "fail_fast",
    "redis_server_binary",
    "same_server",
]

#: Lua: delete ``KEYS[1]`` only while it still holds ``ARGV[1]`` (a lock's or lease's token),
#: so an owner whose lock expired and was taken by another cannot release the other's. 1 if
#: deleted, else 0. Register it with ``client.register_script(COMPARE_AND_DELETE)``.
COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

#: Socket timeout of a fail-fast client: a Redis that hangs (a stopped process, a dead
#: link) is reported well within a badge vendor's few seconds.
FAIL_FAST_TIMEOUT_S = 0.8

#: Server settings for the embedded Redis: durable, never evicting queue keys.
EMBEDDED_SERVER_CONFIG = {
    "appendonly": "yes",
    "appendfsync": "everysec",
    "maxmemory-policy": "noeviction",
    "dbfilename": "autoclock.rdb",
    "save": "",
}

#: Whether a command may use the embedded Redis when ``REDIS_URL`` is unset: ``own`` starts
#: (and owns) it, refusing a data directory another process owns; ``shared`` uses a running
#: one or starts it; ``never`` refuses (exit 3 naming ``REDIS_URL``).
Embedded = Literal["own", "shared", "never"]


def redis_server_binary() -> str:
    """The ``redis-server`` executable the embedded Redis runs (>= 7 on PATH, else bundled)."""
    return find_redis_server().path


def redacted_url(url: str) -> str:
    """``url`` with its password (and user) hidden, for logs and messages."""
    return re.sub(r"(?<=//)[^/@]*@", "***@", url, count=1)


@dataclass
class RedisHandle:
    """A Redis client, its URL, the settings' key namespace in it, and the embedded server
    that must live as long as it."""

    client: redis.Redis
    url: str
    keys: Keys
    """``Keys(settings.namespace)``: every key this process writes in that Redis."""
    description: str = ""
    """Which Redis, for the start-up line (no password)."""
    embedded: RedisServer | None = field(default=None, repr=False)
    lock: IO[str] | None = field(default=None, repr=False)

    def __enter__(self) -> RedisHandle:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the client; stop the embedded server (it persists its data) if we own it."""
        self.client.close()
        if self.embedded is not None:
            server, self.embedded = self.embedded, None
            server.stop()
        if self.lock is not None:
            lock, self.lock = self.lock, None
            lock.close()  # releases the flock


def fail_fast(client: redis.Redis, *, timeout_s: float = FAIL_FAST_TIMEOUT_S) -> redis.Redis:
    """A client on its own pool, same server and options (TLS, ACL user), that gives up fast.

    Each command waits at most ``timeout_s`` (connect and read), and only a refused or
    dropped connection is retried, once and at once (it replaces a connection that died with
    a restarted server). A hung Redis accepts connections and never answers: its commands
    fail after ``timeout_s``, not after redis-py's default retries with backoff (seconds per
    command). Falls back to ``client`` when its pool cannot be cloned.
    """
    pool = client.connection_pool
    kwargs = dict(getattr(pool, "connection_kwargs", {}))
    if not kwargs:
        return client
    kwargs["retry"] = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
    kwargs["socket_timeout"] = timeout_s
    kwargs["socket_connect_timeout"] = timeout_s
    try:
        clone = type(pool)(connection_class=pool.connection_class, **kwargs)
    except TypeError:
        return client
    return redis.Redis(connection_pool=clone)


#: The connection settings an asyncio client copies from a synchronous one: the server, the
#: credentials and TLS, never the sync client's timeouts, retries or pool helpers.
_ASYNC_COPIED = frozenset(
    {"host", "port", "path", "db", "username", "password", "credential_provider", "client_name",
     "protocol", "encoding", "encoding_errors", "decode_responses", "socket_keepalive",
     "socket_keepalive_options", "ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs",
     "ssl_ca_data", "ssl_ca_path", "ssl_check_hostname", "ssl_min_version", "ssl_ciphers",
     "ssl_password"}
)  # fmt: skip


def _async_connection(
    client: redis.Redis, timeout_s: float, retries: int
) -> tuple[type[redis.asyncio.connection.AbstractConnection], dict[str, Any]]:
    """The asyncio connection class and arguments for the server ``client`` talks to."""
    pool = client.connection_pool
    name = getattr(pool, "connection_class", redis.Connection).__name__
    connection_class = getattr(redis.asyncio.connection, name, None)
    kwargs = getattr(pool, "connection_kwargs", None)
    if connection_class is None or not kwargs:
        raise ValueError(f"no asyncio connection like {name} (pool {type(pool).__name__})")
    copied = {k: v for k, v in kwargs.items() if k in _ASYNC_COPIED}
    copied.update(
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=redis.asyncio.retry.Retry(
            NoBackoff(), retries, supported_errors=(redis.ConnectionError,)
        ),
    )
    return connection_class, copied


def async_fail_fast(
    client: redis.Redis, *, timeout_s: float = FAIL_FAST_TIMEOUT_S, retries: int = 1
) -> redis.asyncio.Redis:
    """An asyncio client for the server ``client`` talks to (same address, credentials and
    TLS) that gives up as fast as :func:`fail_fast`'s: each command waits at most
    ``timeout_s``, and only a refused or dropped connection is retried, ``retries`` times
    and at once (0 for a client whose commands must not be sent twice blindly: a dropped
    connection may have lost the reply of a command that ran).

    Its connections belong to the event loop that opens them: one such client per loop.
    Raises ``ValueError`` for a client whose connection kind has no asyncio counterpart.
    """
    connection_class, kwargs = _async_connection(client, timeout_s, retries)
    pool = redis.asyncio.ConnectionPool(connection_class=connection_class, **kwargs)
    return redis.asyncio.Redis(connection_pool=pool)


def async_connector(
    client: redis.Redis, *, timeout_s: float = FAIL_FAST_TIMEOUT_S
) -> Callable[[], redis.asyncio.connection.AbstractConnection]:
    """A factory of single asyncio connections to ``client``'s server (as
    :func:`async_fail_fast`'s: connecting waits at most ``timeout_s``, never retried) for a
    caller that times its reads and writes itself (no socket timeout on them). Raises
    ``ValueError`` like :func:`async_fail_fast`."""
    connection_class, kwargs = _async_connection(client, timeout_s, 0)
    kwargs["socket_timeout"] = None
    return lambda: connection_class(**kwargs)


def same_server(a: redis.Redis, b: redis.Redis) -> bool:
    """Whether two clients talk to the same server and database (address, socket path, db)."""

    def where(client: redis.Redis) -> tuple[object, ...]:
        kwargs = getattr(client.connection_pool, "connection_kwargs", {})
        return tuple(kwargs.get(k) for k in ("host", "port", "path", "db"))

    return a is b or where(a) == where(b)


def _client(url: str, decode_responses: bool) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        decode_responses=decode_responses,
        socket_timeout=5,
        socket_connect_timeout=3,
        health_check_interval=15,
    )


def connect(
    settings: Settings, *, decode_responses: bool = False, embedded: Embedded = "never"
) -> RedisHandle:
    """Connect to ``settings.redis_url``, or use the embedded server as ``embedded`` allows.

    Raises :class:`ConfigError` (REDIS_URL unset where it is needed, an unusable data
    directory, a data directory another process owns) and ``OSError`` when the embedded
    server cannot start.
    """
    keys = Keys(settings.namespace)
    if settings.redis_url:
        return RedisHandle(
            client=_client(settings.redis_url, decode_responses),
            url=settings.redis_url,
            keys=keys,
            description=redacted_url(settings.redis_url),
        )
    if embedded == "never":
        raise ConfigError(
            "REDIS_URL is not set: this role must share one Redis with the other roles "
            "(only `autoclock run` and `autoclock demo` start an embedded Redis)"
        )
    directory = _redis_dir(Path(settings.data_dir))
    lock = _try_lock(directory)
    if lock is None:
        owner = _read(directory / "owner.pid") or "?"
        socket = _read(directory / "socket")
        if embedded == "own" or not socket:
            raise ConfigError(
                f"AUTOCLOCK_DATA_DIR: {settings.data_dir} is in use by another autoclock process "
                f"(pid {owner}); stop it, or give this one another data directory"
            )
        url = f"unix://{socket}"
        return RedisHandle(
            client=_client(url, decode_responses),
            url=url,
            keys=keys,
            description=f"the embedded Redis of autoclock pid {owner} ({socket})",
        )
    try:
        server = RedisServer.start(directory, config=EMBEDDED_SERVER_CONFIG)
    except OSError:
        lock.close()
        raise
    (directory / "socket").write_text(str(server.socket))
    return RedisHandle(
        client=_client(server.url, decode_responses),
        url=server.url,
        keys=keys,
        description=f"embedded {server.binary.describe()} in {directory}",
        embedded=server,
        lock=lock,
    )


def _redis_dir(data_dir: Path) -> Path:
    """``<data_dir>/redis``, created and writable, or :class:`ConfigError` naming the setting."""
    directory = data_dir / "redis"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"AUTOCLOCK_DATA_DIR: cannot use {data_dir} for the embedded Redis ({reason})"
        ) from None
    return directory


def _try_lock(directory: Path) -> IO[str] | None:
    """Take ``owner.lock`` (held for the owner's lifetime), or None if another process has it."""
    handle = (directory / "owner.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    (directory / "owner.pid").write_text(str(os.getpid()))
    return handle


def _read(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text().strip()
    return ""


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
