"""Serving the sandbox on a real socket: in a background thread (tests, demo, benchmarks) or
in the foreground (``autoclock sandbox``).

:func:`serve_in_thread` binds first (port 0 picks a free port), so ``.url`` is known before the
first request; :func:`start_sandbox` adds a :class:`SandboxControl` and the seed's tokens.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette

from worker.sandbox.app import create_app, sandbox_state
from worker.sandbox.control import SandboxControl
from worker.sandbox.models import Faults, SandboxConfig
from worker.sandbox.seed import Seed
from worker.sandbox.state import SandboxState

__all__ = ["RunningSandbox", "RunningServer", "bind", "serve_in_thread", "start_sandbox"]

#: Seconds to wait for the server to come up / to finish in-flight (e.g. hanging) requests.
STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_GRACE_S = 1


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket bound to ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, uvicorn's separate header/body writes
    # meet Nagle + delayed ACK and every keep-alive response takes ~40 ms on loopback.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: Any, host: str, port: int) -> uvicorn.Config:
    """Quiet, fast uvicorn settings that leave the process's logging alone."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )


@dataclass
class RunningServer:
    """A uvicorn server running in a daemon thread; ``url`` is its root (``http://h:p``)."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread
    app: Any = None

    @property
    def api_url(self) -> str:
        """The WebWork base URL to give the client: ``url + "/api/v2"``."""
        return self.url + "/api/v2"

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask uvicorn to exit and wait (bounded) for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout_s)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve ``app`` with uvicorn on ``host:port`` in a daemon thread; returns once it listens."""
    sock = bind(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, host, bound_port))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{bound_port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"sandbox server did not start on {host}:{bound_port}")
        time.sleep(0.005)
    shown = f"[{host}]" if ":" in host else host
    return RunningServer(url=f"http://{shown}:{bound_port}", server=server, thread=thread, app=app)


@dataclass
class RunningSandbox(RunningServer):
    """A running sandbox: the server plus its seed, tokens, control client and live state."""

    seed: Seed = field(default_factory=Seed.sample)
    control: SandboxControl = field(init=False)

    def __post_init__(self) -> None:
        self.control = SandboxControl(self.url)

    @property
    def owner_token(self) -> str:
        return self.seed.token_for_role("owner")

    @property
    def exec_token(self) -> str:
        return self.seed.token_for_role("executive_manager")

    @property
    def regular_token(self) -> str:
        return self.seed.token_for_role("user")

    @property
    def state(self) -> SandboxState:
        """The in-process state (read it between requests; prefer ``control`` over HTTP)."""
        assert isinstance(self.app, Starlette)
        return sandbox_state(self.app)

    def stop(self, timeout_s: float = 10.0) -> None:
        self.control.close()
        super().stop(timeout_s)


def start_sandbox(
    seed: Seed | None = None,
    config: SandboxConfig | None = None,
    faults: Faults | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
) -> RunningSandbox:
    """Start a sandbox (the sample seed by default) in a background thread."""
    seed = seed or Seed.sample()
    app = create_app(seed, config, faults)
    running = serve_in_thread(app, host=host, port=port)
    return RunningSandbox(
        url=running.url, server=running.server, thread=running.thread, app=app, seed=seed
    )
