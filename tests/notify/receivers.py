"""Real receivers on loopback: an HTTP server for Apprise's JSON target and an SMTP server
(aiosmtpd) for email."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.ports import free_port


@dataclass
class JsonReceiver:
    """Collects the JSON bodies POSTed to it."""

    port: int = 0
    posts: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> JsonReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.posts.append(json.loads(body))
                receiver.headers.append(dict(self.headers))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def url(self, secret: str = "hook-user:hook-pass-0123456789") -> str:
        return f"json://{secret}@127.0.0.1:{self.port}/hook"


@dataclass
class SmtpReceiver:
    """Collects the mails delivered to it: (envelope recipients, parsed message)."""

    mails: list[tuple[list[str], Message]] = field(default_factory=list)
    controller: Controller | None = None
    port: int = 0

    def start(self) -> SmtpReceiver:
        receiver = self

        class Handler:
            async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
                receiver.mails.append(
                    (list(envelope.rcpt_tos), message_from_bytes(envelope.original_content))
                )
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=autoclock@example.com"


def text_of(message: Message) -> str:
    """The plain-text part of ``message``."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            return payload.decode() if isinstance(payload, bytes) else str(payload)
    return ""
