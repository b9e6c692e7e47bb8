"""The WebWork API V2 client: the only module that talks HTTP to WebWork (httpx stays in here).

One :class:`httpx.Client` per :class:`WebWorkClient` (connections are reused), a timeout on
every call, the bearer token held as a :class:`~pydantic.SecretStr` and added to each request
by an :class:`httpx.Auth` at send time, so it appears in no repr, log line or exception text.

Errors are the classes of :mod:`worker.errors`:

=============================  ==============================================
what happened                  raised (from :mod:`worker.errors`)
=============================  ==============================================
network error, timeout         ``Transient`` (``status`` None)
5xx; malformed 2xx body        ``Transient``
429                            ``RateLimited`` (``Retry-After``, default 60 s)
401 / 403                      ``Unauthorized`` / ``Forbidden``
start/stop conflict            ``AlreadyTracking`` / ``NotTracking``
start/stop refused, unknown    ``Unconfirmed`` (only with ``confirm=False``)
any other 4xx                  ``Rejected`` (with the API's message)
=============================  ==============================================

A start/stop rejection is a *conflict* when its status is one of the classifier's conflict
statuses (or a 2xx says ``success: false``) and its text matches a pattern; when it matches
none and ``confirm_with_current_data`` is on, ``GET /time-tracking/current-data`` decides
(start + a tracker runs → AlreadyTracking; stop + none runs → NotTracking; else Rejected).
A caller that must pay for that call itself (the pipeline: the confirmation is part of the
action's API budget) passes ``confirm=False`` and gets ``Unconfirmed`` instead.
A malformed 2xx (not JSON, no ``success: true``, start without ``data.start_time``) is
Transient: the effect is unknown, and a retried start/stop is itself classified safely.

``Transient.maybe_applied`` is False when the failure proves nothing happened: no connection
was made (``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``) or the answer was 503
(maintenance mode and load balancers answer it before the application runs). A timeout after
sending, a dropped connection and 500/502/504 may follow an effect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from datetime import date
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from worker.errors import (
    AlreadyTracking,
    ConfigError,
    Forbidden,
    NotTracking,
    RateLimited,
    Rejected,
    Transient,
    Unauthorized,
    Unconfirmed,
    WebWorkError,
)
from worker.logs import get_logger
from worker.settings import Settings
from worker.webwork.classify import Classifier
from worker.webwork.envelope import (
    api_message,
    data_message,
    last_page,
    parse_body,
    parse_retry_after,
    parse_timestamp,
)
from worker.webwork.models import (
    CallResult,
    Contract,
    CurrentTracker,
    Leave,
    Member,
    Task,
    TimeEntry,
    Workspace,
)

__all__ = ["MAX_PAGES", "Observer", "WebWorkClient"]

log = get_logger(__name__)

#: Upper bound on pages read for one listing (100 per page: 100 000 rows).
MAX_PAGES = 1000

Observer = Callable[[str, int | None, float], None]
"""Called after every request with (endpoint label, status or None, latency in ms)."""

_M = TypeVar("_M", bound=BaseModel)

#: Transport failures that prove the request never reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class _BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <token>`` when a request is sent; holds the token secret."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = "Bearer " + self._token.get_secret_value()
        yield request

    def __repr__(self) -> str:
        return "_BearerAuth(token=**********)"


class _Reply:
    """A response that arrived: status, parsed JSON object (or None), raw bytes, latency."""

    __slots__ = ("body", "latency_ms", "raw", "response")

    def __init__(self, response: httpx.Response, latency_ms: float) -> None:
        self.response = response
        self.raw = response.content
        self.body = parse_body(self.raw)
        self.latency_ms = latency_ms

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def ok(self) -> bool:
        """A 2xx whose body is a JSON object with ``success: true``."""
        return (
            200 <= self.status < 300 and self.body is not None and self.body.get("success") is True
        )


class WebWorkClient:
    """Synchronous client of the WebWork API V2 endpoints autoclock uses.

    ``before_request`` runs before every request (it may raise, e.g. Backpressure, to abort
    it); ``observer`` runs after every request, answered or not. ``timeout_s`` bounds every
    phase (connect, write, read, pool) of each request. Thread-safe as httpx.Client is.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: SecretStr,
        timeout_s: float = 10.0,
        classifier: Classifier | None = None,
        before_request: Callable[[], None] | None = None,
        observer: Observer | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token.get_secret_value():
            raise ConfigError("WEBWORK_TOKEN is empty")
        self.base_url = base_url.rstrip("/")
        self.classifier = classifier or Classifier()
        self._before_request = before_request
        self._observer = observer
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=_BearerAuth(token),
            timeout=httpx.Timeout(timeout_s),
            headers={"Accept": "application/json", "User-Agent": "autoclock"},
            transport=transport,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        before_request: Callable[[], None] | None = None,
        observer: Observer | None = None,
    ) -> WebWorkClient:
        """A client for ``WEBWORK_BASE_URL`` with ``WEBWORK_TOKEN`` and the settings' classifier."""
        if settings.webwork_token is None:
            raise ConfigError("WEBWORK_TOKEN is not set")
        return cls(
            base_url=settings.webwork_base_url,
            token=settings.webwork_token,
            timeout_s=settings.webwork_timeout_s,
            classifier=Classifier.from_settings(settings),
            before_request=before_request,
            observer=observer,
        )

    def __repr__(self) -> str:
        return f"WebWorkClient(base_url={self.base_url!r})"

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- time tracking ---------------------------------------------------------------------

    def start(
        self,
        *,
        workspace_id: int,
        user_id: int,
        contract_id: int | None = None,
        task_id: int | None = None,
        description: str | None = None,
        confirm: bool = True,
    ) -> CallResult:
        """Clock ``user_id`` in. Raises AlreadyTracking when a tracker already runs.

        ``confirm=False``: an unmatched refusal raises Unconfirmed instead of asking
        current-data here (see the module docstring)."""
        payload: dict[str, Any] = {"workspace_id": workspace_id, "user_id": user_id}
        if contract_id is not None:
            payload["contract_id"] = contract_id
        if task_id is not None:
            payload["task_id"] = task_id
        if description is not None:
            payload["activity_description"] = description
        reply = self._send("POST", "/time-tracking/start", json=payload)
        if not reply.ok:
            raise self._conflict("start", reply, workspace_id, user_id, confirm=confirm)
        return self._call_result(reply, "start_time")

    def stop(self, *, workspace_id: int, user_id: int, confirm: bool = True) -> CallResult:
        """Clock ``user_id`` out. Raises NotTracking when no tracker runs (``confirm`` as for
        :meth:`start`)."""
        payload = {"workspace_id": workspace_id, "user_id": user_id}
        reply = self._send("POST", "/time-tracking/stop", json=payload)
        if not reply.ok:
            raise self._conflict("stop", reply, workspace_id, user_id, confirm=confirm)
        return self._call_result(reply, "stopped_at")

    def current(self, *, workspace_id: int, user_id: int) -> CurrentTracker | None:
        """The user's running tracker, or ``None`` when nothing runs.

        WebWork's current-data only sees trackers started from the API or a browser.
        """
        params = {"workspace_id": workspace_id, "user_id": user_id}
        reply = self._send("GET", "/time-tracking/current-data", params=params)
        body = self._ok_body(reply)
        data = body.get("data")
        if not isinstance(data, dict) or not data or data.get("is_tracking") is False:
            return None
        if data.get("user_id") is None and data.get("contract_id") is None:
            return None
        return self._model(CurrentTracker, data, reply)

    # -- lookups ---------------------------------------------------------------------------

    def workspaces(self) -> list[Workspace]:
        """The caller's workspaces (all pages)."""
        return self._list(Workspace, "/workspaces", {})

    def members(
        self, *, workspace_id: int, email: str | None = None, status: str | None = None
    ) -> list[Member]:
        """Members of a workspace (all pages), optionally filtered by exact email and status."""
        params: dict[str, Any] = {"workspace_id": workspace_id}
        if email is not None:
            params["email"] = email
        if status is not None:
            params["status"] = status
        return self._list(Member, "/members", params)

    def find_member(self, *, workspace_id: int, email: str) -> Member | None:
        """The member with this email (case-insensitive), or ``None``."""
        wanted = email.strip().casefold()
        for member in self.members(workspace_id=workspace_id, email=email.strip()):
            if (member.email or "").strip().casefold() == wanted:
                return member
        return None

    def contracts(
        self, *, workspace_id: int, user_id: int | None = None, status: str | None = None
    ) -> list[Contract]:
        """Contracts of a workspace (all pages), optionally of one user and/or one status."""
        params: dict[str, Any] = {"workspace_id": workspace_id}
        if user_id is not None:
            params["user_id"] = user_id
        if status is not None:
            params["status"] = status
        return self._list(Contract, "/contracts", params)

    def tasks(self, *, workspace_id: int, project_id: int) -> list[Task]:
        """Tasks of one project (all pages)."""
        return self._list(Task, "/tasks", {"workspace_id": workspace_id, "project_id": project_id})

    def leaves(
        self,
        *,
        workspace_id: int,
        user_id: int | None = None,
        status: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
    ) -> list[Leave]:
        """Leave requests (all pages) filtered by user, status and overlapping date range."""
        params: dict[str, Any] = {"workspace_id": workspace_id}
        if user_id is not None:
            params["user_id"] = user_id
        if status is not None:
            params["status"] = status
        if date_from is not None:
            params["date_from"] = date_from.isoformat()
        if date_to is not None:
            params["date_to"] = date_to.isoformat()
        return self._list(Leave, "/leaves", params)

    def time_entries(self, *, workspace_id: int, user_id: int, day: date) -> list[TimeEntry]:
        """The user's time entries of one day (all pages; WebWork caps these at 50 per page)."""
        params = {"workspace_id": workspace_id, "user_id": user_id, "date": day.isoformat()}
        return self._list(TimeEntry, "/time-entries", params, per_page=50)

    # -- internals -------------------------------------------------------------------------

    def _send(
        self,
        method: Literal["GET", "POST"],
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> _Reply:
        """One request; transport failures and non-conflict error statuses are raised here."""
        label = f"{method} {path}"
        if self._before_request is not None:
            self._before_request()
        started = time.perf_counter()
        try:
            response = self._http.request(method, path.lstrip("/"), json=json, params=params)
        except httpx.TimeoutException as exc:
            latency = _ms_since(started)
            self._observe(label, None, latency)
            raise Transient(
                f"{label}: timed out after {latency:.0f} ms ({type(exc).__name__})",
                latency_ms=latency,
                maybe_applied=not isinstance(exc, _NOT_SENT),
            ) from exc
        except httpx.HTTPError as exc:
            latency = _ms_since(started)
            self._observe(label, None, latency)
            raise Transient(
                f"{label}: network error ({type(exc).__name__}: {exc})",
                latency_ms=latency,
                maybe_applied=not isinstance(exc, _NOT_SENT),
            ) from exc
        reply = _Reply(response, _ms_since(started))
        self._observe(label, reply.status, reply.latency_ms)
        if not reply.ok:
            log.warning(
                "webwork_error_response",
                endpoint=label,
                status=reply.status,
                body=reply.raw[:500].decode("utf-8", "replace"),
                latency_ms=round(reply.latency_ms, 1),
            )
            error = self._status_error(label, reply)
            if error is not None:
                raise error
        return reply

    def _observe(self, label: str, status: int | None, latency_ms: float) -> None:
        if self._observer is not None:
            self._observer(label, status, latency_ms)

    @staticmethod
    def _status_error(label: str, reply: _Reply) -> WebWorkError | None:
        """The error a non-ok reply means, or ``None`` when it is a possible conflict (4xx/2xx)."""
        status, latency = reply.status, reply.latency_ms
        message = api_message(reply.body, reply.raw)
        text = f"{label} → {status}" + (f": {message}" if message else "")
        kwargs: dict[str, Any] = {"status": status, "api_message": message, "latency_ms": latency}
        if status == 429:
            retry = parse_retry_after(reply.response.headers.get("Retry-After"))
            return RateLimited(f"{text} (retry after {retry:g} s)", retry_after_s=retry, **kwargs)
        if status == 401:
            return Unauthorized(text, **kwargs)
        if status == 403:
            return Forbidden(text, **kwargs)
        if status >= 500:
            return Transient(text, maybe_applied=status != 503, **kwargs)
        if 200 <= status < 300 and (reply.body is None or reply.body.get("success") is not False):
            return Transient(f"{label} → {status}: malformed response (no success: true)", **kwargs)
        if 300 <= status < 400:
            return Rejected(text, **kwargs)
        return None  # 4xx or a 2xx with success: false; the caller classifies it

    def _ok_body(self, reply: _Reply) -> dict[str, Any]:
        """The body of an ok reply; a 4xx/``success: false`` outside start/stop is Rejected."""
        if reply.ok and reply.body is not None:
            return reply.body
        label = f"{reply.response.request.method} {reply.response.request.url.path}"
        message = api_message(reply.body, reply.raw)
        raise Rejected(
            f"{label} → {reply.status}" + (f": {message}" if message else ""),
            status=reply.status,
            api_message=message,
            latency_ms=reply.latency_ms,
        )

    def _conflict(
        self,
        verb: Literal["start", "stop"],
        reply: _Reply,
        workspace_id: int,
        user_id: int,
        *,
        confirm: bool = True,
    ) -> WebWorkError:
        """Classify a rejected start/stop: AlreadyTracking/NotTracking or Rejected."""
        status, latency = reply.status, reply.latency_ms
        message = api_message(reply.body, reply.raw)
        label = f"POST /time-tracking/{verb}"
        text = f"{label} → {status}" + (f": {message}" if message else "")
        kwargs: dict[str, Any] = {"status": status, "api_message": message, "latency_ms": latency}
        conflict_cls = AlreadyTracking if verb == "start" else NotTracking
        expected: Literal["already_tracking", "not_tracking"] = (
            "already_tracking" if verb == "start" else "not_tracking"
        )
        eligible = self.classifier.is_conflict_status(status) or 200 <= status < 300
        if not eligible:
            return Rejected(text, **kwargs)
        pattern = self.classifier.match(expected, message)
        if pattern is not None:
            return conflict_cls(f"{text} (matched pattern {pattern!r})", **kwargs)
        if not self.classifier.confirm_with_current_data:
            return Rejected(text, **kwargs)
        if not confirm:
            return Unconfirmed(f"{text} (no pattern matched)", **kwargs)
        try:
            running = self.current(workspace_id=workspace_id, user_id=user_id)
        except (Transient, RateLimited):
            raise  # cannot tell yet; retrying the start/stop is safe
        except WebWorkError as exc:
            return Rejected(f"{text} (current-data could not confirm: {exc})", **kwargs)
        if verb == "start" and running is not None:
            return AlreadyTracking(f"{text} (confirmed via current-data)", **kwargs)
        if verb == "stop" and running is None:
            return NotTracking(f"{text} (confirmed via current-data)", **kwargs)
        return Rejected(text, **kwargs)

    def _call_result(self, reply: _Reply, field: str) -> CallResult:
        body = reply.body or {}
        data = body.get("data")
        at = parse_timestamp(data.get(field)) if isinstance(data, dict) else None
        if at is None:
            verb = "start" if field == "start_time" else "stop"
            raise Transient(
                f"POST /time-tracking/{verb} → {reply.status}: malformed response "
                f"(no valid data.{field})",
                status=reply.status,
                api_message=data_message(body),
                latency_ms=reply.latency_ms,
            )
        return CallResult(
            status=reply.status, latency_ms=reply.latency_ms, message=data_message(body), at=at
        )

    def _model(self, model: type[_M], data: Any, reply: _Reply) -> _M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise Transient(
                f"{reply.response.request.method} {reply.response.request.url.path} → "
                f"{reply.status}: malformed {model.__name__} "
                f"({exc.error_count()} problem(s), first: {exc.errors()[0]['msg']})",
                status=reply.status,
                latency_ms=reply.latency_ms,
            ) from None

    def _list(
        self, model: type[_M], path: str, params: dict[str, Any], *, per_page: int = 100
    ) -> list[_M]:
        items: list[_M] = []
        for reply in self._pages(path, params, per_page):
            data = self._ok_body(reply).get("data")
            if data is None:
                continue
            if not isinstance(data, list):
                raise Transient(
                    f"GET {path} → {reply.status}: malformed response (data is not a list)",
                    status=reply.status,
                    latency_ms=reply.latency_ms,
                )
            items.extend(self._model(model, row, reply) for row in data)
        return items

    def _pages(self, path: str, params: dict[str, Any], per_page: int) -> Iterator[_Reply]:
        """Every page of a listing, reading pagination from ``meta`` or the top level."""
        page = 1
        while page <= MAX_PAGES:
            reply = self._send("GET", path, params={**params, "page": page, "per_page": per_page})
            yield reply
            body = reply.body or {}
            data = body.get("data")
            if page >= last_page(body) or not data:
                return
            page += 1


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
