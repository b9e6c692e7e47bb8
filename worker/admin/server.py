"""Serve an ASGI app with uvicorn in a background thread, on a socket bound up front.

Binding before the thread starts makes "port in use" or "no such address" an error the
caller sees at once (the CLI turns it into exit 3 naming ``AUTOCLOCK_ADMIN_PORT``), not a
log line from a thread.
"""

from __future__ import annotations

import socket
import threading

import uvicorn
from starlette.types import ASGIApp

from worker.errors import ConfigError

__all__ = ["AdminServer"]


class AdminServer:
    """One uvicorn server on ``host:port`` (port 0: any free port, see :attr:`port`), or on
    ``sock``, a socket the caller bound already."""

    def __init__(
        self,
        app: ASGIApp,
        host: str,
        port: int,
        *,
        name: str = "admin",
        sock: socket.socket | None = None,
    ) -> None:
        self.host = host
        if sock is not None:
            self.socket = sock
        else:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.socket = socket.socket(family, socket.SOCK_STREAM)
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.socket.bind((host, port))
            except OSError as exc:
                self.socket.close()
                raise ConfigError(
                    f"cannot listen on {host}:{port} ({exc.strerror or type(exc).__name__})"
                ) from None
        self.port: int = self.socket.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        )
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def _serve(self) -> None:
        self.server.run(sockets=[self.socket])

    def start(self) -> AdminServer:
        self.thread.start()
        return self

    def alive(self) -> bool:
        """True while the server thread runs and has not been asked to stop."""
        return self.thread.is_alive() and not self.server.should_exit

    def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=timeout_s)
        self.socket.close()
