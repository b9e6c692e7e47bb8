"""The sandbox ASGI app: WebWork API V2 under ``/api/v2``, the control API under ``/_sandbox``.

Every ``/api/v2`` request goes through, in order: the call log (received), an outage window
(503), added latency, the bearer token (401), the per-token rate limit (429 with
``Retry-After``; ``X-RateLimit-Limit``/``-Remaining`` on every answer to a known token), an
injected 5xx, an injected hang (then 504), and the endpoint itself (:mod:`worker.sandbox.api`).
The gates are one middleware on the ``/api/v2`` ``Mount``; behind it Starlette routes
:data:`~worker.sandbox.api.ENDPOINTS` (an unknown path is 404, a known path with another
method 405, both in WebWork's error envelope; one trailing slash or more is ignored).
Injected errors never have an effect. A dropped answer (``drop_rate``) is the opposite: the
start/stop took effect, then the connection closes after the headers, before the body.

Control API (for tests, the demo and benchmarks; not part of WebWork, no token, not logged as
calls): ``GET /_sandbox/state``, ``GET /_sandbox/calls?since=&limit=``, ``GET|POST
/_sandbox/faults``, ``GET|POST /_sandbox/config``, ``POST /_sandbox/tracker``,
``POST /_sandbox/reset``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from worker.sandbox import api
from worker.sandbox.models import (
    CallRecord,
    Faults,
    FaultsUpdate,
    SandboxConfig,
    TrackerSet,
    TrackerView,
)
from worker.sandbox.seed import Seed, SeedToken
from worker.sandbox.state import SandboxState, now_utc

__all__ = ["create_app", "sandbox_state"]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":"), default=str),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


class _Dropped(Response):
    """An answer lost on the way: status line and headers promise a body that never comes;
    uvicorn then closes the connection ("returned without completing response")."""

    def __init__(self, status: int) -> None:
        super().__init__(b"", status_code=status, media_type="application/json")
        self.headers["content-length"] = "4096"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _user_id_of(query: dict[str, str], body: dict[str, Any]) -> int | None:
    value = body.get("user_id", query.get("user_id"))
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


async def _read_json(request: Request) -> dict[str, Any] | None:
    """The JSON object body (``{}`` when empty), or None when it is not a JSON object."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


class _WebWorkId(Convertor[str]):
    """A WebWork id in a path: 1 to 18 digits, kept as text (the handlers parse it)."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("webwork_id", _WebWorkId())


@dataclass
class _Admitted:
    """A call the gates let through, for the endpoint (``scope["sandbox.call"]``)."""

    call: CallRecord
    caller: SeedToken
    query: dict[str, str]
    body: dict[str, Any] | None
    headers: dict[str, str]
    path: str


class _Gates:
    """The request gates of every ``/api/v2`` call, in order (see the module docstring), in
    front of the routes; it also answers every :class:`api.ApiError` (404 and 405 included)
    in WebWork's error envelope and records each answer's status in the call log."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        path = scope["path"][len(scope.get("root_path", "")) :]
        query = dict(request.query_params)
        body = await _read_json(request) if request.method == "POST" else {}
        call = self.state.record(request.method, "/api/v2" + path, _user_id_of(query, body or {}))
        headers: dict[str, str] = {}

        def answer(status: int, payload: dict[str, Any]) -> Response:
            call.status = status
            return _json(status, payload, headers)

        refused = await self._gate(request, call, headers)
        if isinstance(refused, tuple):
            await answer(*refused)(scope, receive, send)
            return
        admitted = _Admitted(call, refused, query, body, headers, path.rstrip("/") or "/")
        routed = {**scope, "path": scope["path"].rstrip("/"), "sandbox.call": admitted}
        try:
            await self.app(routed, receive, send)
        except api.ApiError as exc:
            await answer(exc.status, api.error_body(exc.message, exc.error))(scope, receive, send)
        except HTTPException as exc:  # a known path with another method (Starlette's Route)
            allow = (exc.headers or {}).get("Allow", "").split(", ")
            why = f"{admitted.path} accepts {', '.join(m for m in allow if m != 'HEAD')}"
            await answer(405, api.error_body("Method Not Allowed", why))(scope, receive, send)

    async def _gate(
        self, request: Request, call: CallRecord, headers: dict[str, str]
    ) -> SeedToken | tuple[int, dict[str, Any]]:
        """The caller's token entry, or the status and body of the gate that refused."""
        state = self.state
        if state.in_outage():
            return 503, api.error_body("Service Unavailable", "maintenance")
        if state.faults.latency_ms > 0:
            await asyncio.sleep(state.faults.latency_ms / 1000.0)
        token = _bearer(request)
        caller = state.tokens.get(token) if token else None
        if caller is None or caller.expired:
            reason = "missing bearer token" if token is None else "invalid or expired token"
            return 401, api.error_body("Unauthenticated.", reason)
        call.caller_id = caller.user_id
        decision = state.take(caller.token)
        if decision is not None:
            headers["X-RateLimit-Limit"] = str(decision.limit)
            headers["X-RateLimit-Remaining"] = str(decision.remaining)
            if not decision.allowed:
                headers["Retry-After"] = str(decision.retry_after_s)
                return 429, api.error_body("Too Many Attempts.", None)
        if state.draw(state.faults.error_rate):
            return state.faults.error_status, api.error_body("Internal Server Error", "injected")
        if state.draw(state.faults.hang_rate):
            await asyncio.sleep(state.faults.hang_s)
            return 504, api.error_body("Gateway Timeout", "injected hang")
        return caller


async def _no_endpoint(scope: Scope, _receive: Receive, _send: Send) -> None:
    admitted: _Admitted = scope["sandbox.call"]
    raise api.ApiError(404, "Not Found", f"no endpoint {admitted.path}")


def _endpoint(state: SandboxState, method: str, handler: api.Handler) -> Any:
    """The Starlette endpoint of one WebWork endpoint, behind :class:`_Gates`."""

    async def endpoint(request: Request) -> Response:
        admitted: _Admitted = request.scope["sandbox.call"]
        if request.method != method:  # Starlette adds HEAD to GET routes; WebWork does not
            raise api.ApiError(405, "Method Not Allowed", f"{admitted.path} accepts {method}")
        if admitted.body is None:
            raise api.ApiError(400, "The request body must be a JSON object.")
        params = {**admitted.query, **request.path_params}
        reply = handler(state, admitted.caller, params, admitted.body)
        call = admitted.call
        call.effect = reply.effect
        if reply.effect is not None and state.draw(state.faults.drop_rate):
            call.status, call.dropped = reply.status, True
            return _Dropped(reply.status)
        call.status = reply.status
        return _json(reply.status, reply.body, {**admitted.headers, **reply.headers})

    return endpoint


def _api_mount(state: SandboxState) -> Mount:
    """``/api/v2``: the gates, then Starlette's routing over :data:`api.ENDPOINTS`."""
    routes = [
        Route(path, _endpoint(state, method, handler), methods=[method])
        for method, path, handler in api.ENDPOINTS
    ]
    router = Router(routes, redirect_slashes=False, default=_no_endpoint)
    return Mount("/api/v2", app=router, middleware=[Middleware(_Gates, state=state)])


async def _model_body(request: Request, model: type[BaseModel]) -> BaseModel | Response:
    body = await _read_json(request)
    if body is None:
        return _json(400, {"error": "the body must be a JSON object"})
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in exc.errors()
        ]
        return _json(400, {"error": "invalid " + model.__name__, "problems": problems})


def _make_control(state: SandboxState) -> list[Route]:
    async def get_state(_request: Request) -> Response:
        return _json(200, state.view().model_dump(mode="json"))

    async def get_calls(request: Request) -> Response:
        try:
            since = int(request.query_params.get("since", "0"))
            limit = int(request.query_params.get("limit", "100000"))
        except ValueError:
            return _json(400, {"error": "since and limit must be integers"})
        rows = []
        for call in state.calls:
            if call.seq > since:
                rows.append(call.model_dump(mode="json"))
                if len(rows) >= limit:
                    break
        return _json(200, {"calls": rows, "last_seq": state.seq})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            update = await _model_body(request, FaultsUpdate)
            if isinstance(update, Response):
                return update
            assert isinstance(update, FaultsUpdate)
            return _json(200, state.update_faults(update).model_dump(mode="json"))
        return _json(200, state.faults_view().model_dump(mode="json"))

    async def config(request: Request) -> Response:
        if request.method == "POST":
            body = await _read_json(request)
            if body is None:
                return _json(400, {"error": "the body must be a JSON object"})
            merged = {**state.config.model_dump(), **body}
            try:
                state.config = SandboxConfig.model_validate(merged)
            except ValidationError as exc:
                problems = [
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                ]
                return _json(400, {"error": "invalid SandboxConfig", "problems": problems})
        return _json(200, state.config.model_dump(mode="json"))

    async def tracker(request: Request) -> Response:
        parsed = await _model_body(request, TrackerSet)
        if isinstance(parsed, Response):
            return parsed
        assert isinstance(parsed, TrackerSet)
        member = state.member(parsed.workspace_id, parsed.user_id)
        if member is None:
            return _json(400, {"error": f"user {parsed.user_id} is not a member"})
        if not parsed.running:
            state.stop_tracker(parsed.user_id, now_utc())
            return _json(200, {"tracker": None})
        contract = state.contracts.get(parsed.contract_id) if parsed.contract_id else None
        view = TrackerView(
            workspace_id=parsed.workspace_id,
            user_id=parsed.user_id,
            email=member.email,
            contract_id=parsed.contract_id,
            project_id=contract.project_id if contract else None,
            task_id=parsed.task_id,
            activity_description=parsed.activity_description,
            source=parsed.source,
            since=parsed.since or now_utc().replace(microsecond=0),
        )
        state.trackers[parsed.user_id] = view
        return _json(200, {"tracker": view.model_dump(mode="json")})

    async def reset(_request: Request) -> Response:
        state.reset()
        return _json(200, state.view().model_dump(mode="json"))

    return [
        Route("/_sandbox/state", get_state, methods=["GET"]),
        Route("/_sandbox/calls", get_calls, methods=["GET"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        Route("/_sandbox/config", config, methods=["GET", "POST"]),
        Route("/_sandbox/tracker", tracker, methods=["POST"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
    ]


def create_app(
    seed: Seed, config: SandboxConfig | None = None, faults: Faults | None = None
) -> Starlette:
    """The sandbox app over ``seed``; ``config``/``faults`` are its initial (and reset) values.

    The state is reachable as ``sandbox_state(app)`` for in-process inspection.
    """
    state = SandboxState(
        seed=seed, initial_config=config or SandboxConfig(), initial_faults=faults or Faults()
    )
    app = Starlette(routes=[_api_mount(state), *_make_control(state)])
    app.state.sandbox = state
    return app


def sandbox_state(app: Starlette) -> SandboxState:
    """The live state of an app made by :func:`create_app`."""
    state = app.state.sandbox
    assert isinstance(state, SandboxState)
    return state
