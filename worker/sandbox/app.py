"""The sandbox ASGI app: WebWork API V2 under ``/api/v2``, the control API under ``/_sandbox``.

Every ``/api/v2`` request goes through, in order: the call log (received), an outage window
(503), added latency, the bearer token (401), the per-token rate limit (429 with
``Retry-After``; ``X-RateLimit-Limit``/``-Remaining`` on every answer to a known token), an
injected 5xx, an injected hang (then 504), and the endpoint itself (:mod:`worker.sandbox.api`).
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
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from worker.sandbox import api
from worker.sandbox.models import (
    Faults,
    FaultsUpdate,
    SandboxConfig,
    TrackerSet,
    TrackerView,
)
from worker.sandbox.seed import Seed
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


def _make_api(state: SandboxState) -> Any:
    async def endpoint(request: Request) -> Response:
        method = request.method
        sub = "/" + request.path_params.get("path", "")
        query = dict(request.query_params)
        body = await _read_json(request) if method == "POST" else {}
        call = state.record(method, "/api/v2" + sub, _user_id_of(query, body or {}))

        def answer(status: int, payload: dict[str, Any], headers: dict[str, str]) -> Response:
            call.status = status
            return _json(status, payload, headers)

        if state.in_outage():
            return answer(503, api.error_body("Service Unavailable", "maintenance"), {})
        if state.faults.latency_ms > 0:
            await asyncio.sleep(state.faults.latency_ms / 1000.0)
        token = _bearer(request)
        caller = state.tokens.get(token) if token else None
        if caller is None or caller.expired:
            reason = "missing bearer token" if token is None else "invalid or expired token"
            return answer(401, api.error_body("Unauthenticated.", reason), {})
        call.caller_id = caller.user_id
        headers: dict[str, str] = {}
        decision = state.take(caller.token)
        if decision is not None:
            headers["X-RateLimit-Limit"] = str(decision.limit)
            headers["X-RateLimit-Remaining"] = str(decision.remaining)
            if not decision.allowed:
                headers["Retry-After"] = str(decision.retry_after_s)
                return answer(429, api.error_body("Too Many Attempts.", None), headers)
        if state.draw(state.faults.error_rate):
            status = state.faults.error_status
            return answer(status, api.error_body("Internal Server Error", "injected"), headers)
        if state.draw(state.faults.hang_rate):
            await asyncio.sleep(state.faults.hang_s)
            return answer(504, api.error_body("Gateway Timeout", "injected hang"), headers)
        try:
            handler, path_params = api.resolve(method, sub)
            if body is None:
                raise api.ApiError(400, "The request body must be a JSON object.")
            reply = handler(state, caller, {**query, **path_params}, body)
        except api.ApiError as exc:
            return answer(exc.status, api.error_body(exc.message, exc.error), headers)
        call.effect = reply.effect
        if reply.effect is not None and state.draw(state.faults.drop_rate):
            call.status, call.dropped = reply.status, True
            return _Dropped(reply.status)
        return answer(reply.status, reply.body, {**headers, **reply.headers})

    return endpoint


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
    endpoint = _make_api(state)
    routes = [
        Route("/api/v2/{path:path}", endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        *_make_control(state),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    return app


def sandbox_state(app: Starlette) -> SandboxState:
    """The live state of an app made by :func:`create_app`."""
    state = app.state.sandbox
    assert isinstance(state, SandboxState)
    return state
