"""Who may see the console, and the CSRF guard of its operator actions.

* Bound to a loopback address, the console needs no credentials (anyone who can reach it is
  on this machine). Bound anywhere else it needs ``AUTOCLOCK_CONSOLE_TOKEN`` or
  ``AUTOCLOCK_CONSOLE_USER`` + ``AUTOCLOCK_CONSOLE_PASSWORD``; without them
  :func:`check_binding` refuses (the CLI exits 3). When credentials are set they are
  required on every address, loopback included (a proxy on this host must not open it).
* Credentials are HTTP Basic (user/password, or any user with the token as password) or
  ``Authorization: Bearer <token>``; compared in constant time; never logged or shown.
* Every POST needs the CSRF token: a random value in the ``autoclock_csrf`` cookie
  (``SameSite=Strict``) echoed in the form field ``csrf`` or the ``X-CSRF-Token`` header,
  and, when the browser sends an ``Origin``, that origin must be this host.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from worker.errors import ConfigError
from worker.settings import Settings

__all__ = [
    "CSRF_COOKIE",
    "AccessMiddleware",
    "check_binding",
    "csrf_ok",
    "is_loopback",
    "operator",
]

CSRF_COOKIE = "autoclock_csrf"
CSRF_HEADER = "x-csrf-token"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def has_credentials(settings: Settings) -> bool:
    return settings.console_token is not None or (
        bool(settings.console_user) and settings.console_password is not None
    )


def check_binding(settings: Settings, host: str) -> None:
    """Raise :class:`ConfigError` (one line) when ``host`` is off loopback without credentials."""
    if settings.console_user and settings.console_password is None:
        raise ConfigError(
            "AUTOCLOCK_CONSOLE_PASSWORD is not set although AUTOCLOCK_CONSOLE_USER is"
        )
    if settings.console_password is not None and not settings.console_user:
        raise ConfigError(
            "AUTOCLOCK_CONSOLE_USER is not set although AUTOCLOCK_CONSOLE_PASSWORD is"
        )
    if not is_loopback(host) and not has_credentials(settings):
        raise ConfigError(
            f"the console is bound to {host}, off loopback: set AUTOCLOCK_CONSOLE_TOKEN or "
            "AUTOCLOCK_CONSOLE_USER and AUTOCLOCK_CONSOLE_PASSWORD"
        )


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def authorised(settings: Settings, authorization: str) -> str | None:
    """The user name the ``Authorization`` header proves, or ``None``."""
    scheme, _, value = authorization.partition(" ")
    token = settings.console_token.get_secret_value() if settings.console_token else None
    if scheme.lower() == "bearer" and token is not None and _same(value.strip(), token):
        return "token"
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if token is not None and _same(password, token):
        return user or "token"
    if settings.console_user and settings.console_password is not None:
        ok_user = _same(user, settings.console_user)
        ok_password = _same(password, settings.console_password.get_secret_value())
        if ok_user and ok_password:
            return user
    return None


class AccessMiddleware:
    """Credentials (when configured) on every request; the CSRF cookie on every answer."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.required = has_credentials(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        user = "local"
        if self.required:
            found = authorised(self.settings, request.headers.get("authorization", ""))
            if found is None:
                response: Response = PlainTextResponse(
                    "the autoclock console needs credentials\n",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Basic realm="autoclock console"'},
                )
                await response(scope, receive, send)
                return
            user = found
        cookie = request.cookies.get(CSRF_COOKIE, "")
        fresh = not (16 <= len(cookie) <= 128 and cookie.isalnum())
        token = secrets.token_hex(16) if fresh else cookie
        state = scope.setdefault("state", {})
        state["csrf"] = token
        state["user"] = user

        async def send_with_cookie(message: dict[str, object]) -> None:
            if fresh and message["type"] == "http.response.start":
                headers = list(message.get("headers", []))  # type: ignore[call-overload]
                headers.append(
                    (
                        b"set-cookie",
                        f"{CSRF_COOKIE}={token}; Path=/; SameSite=Strict; HttpOnly".encode(),
                    )
                )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)  # type: ignore[arg-type]


def csrf_ok(request: Request, form_token: str | None) -> bool:
    """The POST carries the cookie's CSRF token and, if it says so, comes from this origin."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = form_token or request.headers.get(CSRF_HEADER, "")
    if not cookie or not given or not _same(given, cookie):
        return False
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc == request.headers.get("host", "")
    return True


def operator(request: Request) -> str:
    """Who did an operator action, for the audit log: ``console:<user>@<address>``."""
    client = request.client.host if request.client else "?"
    return f"console:{request.state.user}@{client}"
