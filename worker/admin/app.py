"""The admin ASGI app: health, readiness and Prometheus metrics, plus mounted extras.

``/healthz`` answers whether this process's own loop works (liveness: restart me if not);
``/readyz`` whether it can do its job now (readiness: Redis, rules). Both answer 200 or 503
with a JSON body naming every problem. ``/metrics`` is the Prometheus text format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

__all__ = ["Check", "Health", "create_admin_app"]

#: Seconds a prober waits before asking again after a 503.
RETRY_AFTER_S = 5


@dataclass(frozen=True)
class Health:
    """The answer of one check: ``problems`` make it fail, ``warnings`` are only shown."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __add__(self, other: Health) -> Health:
        return Health([*self.problems, *other.problems], [*self.warnings, *other.warnings])


#: A check runs in a worker thread (it may call Redis) and never raises.
Check = Callable[[], Health]


def _answer(health: Health, ok: str, failing: str) -> Response:
    body: dict[str, Any] = {"status": failing if health.problems else ok}
    if health.problems:
        body["reasons"] = health.problems
    if health.warnings:
        body["warnings"] = health.warnings
    headers = {"Retry-After": str(RETRY_AFTER_S)} if health.problems else None
    return JSONResponse(body, status_code=503 if health.problems else 200, headers=headers)


def create_admin_app(
    *,
    liveness: Check,
    readiness: Check,
    metrics: Callable[[], bytes],
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The admin app of one process.

    ``liveness`` backs ``/healthz``, ``readiness`` backs ``/readyz`` (a process that is not
    alive is not ready either), ``metrics`` renders ``/metrics``. ``extra_routes`` (Starlette
    ``Route``/``Mount`` objects, e.g. ``Mount("/console", app=...)``) are added as they are.
    """

    def _ready() -> Health:
        return liveness() + readiness()

    async def healthz(_request: Request) -> Response:
        return _answer(await run_in_threadpool(liveness), "alive", "unhealthy")

    async def readyz(_request: Request) -> Response:
        return _answer(await run_in_threadpool(_ready), "ready", "not ready")

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(await run_in_threadpool(metrics), media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *extra_routes,
    ]
    return Starlette(routes=routes)
