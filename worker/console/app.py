"""The console's routes and app.

:func:`console_routes` gives the routes (mount them anywhere: ``autoclock console`` serves
them at ``/``, ``autoclock run`` beside the webhooks); :func:`create_console_app` wraps them
with the access middleware (credentials, CSRF cookie) and a 503 page for a lost Redis.
Every page is a GET that changes nothing; the operator actions are POSTs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import redis
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from worker.console.access import AccessMiddleware
from worker.console.core import HERE, Console
from worker.console.views.dead_letters import dead_letter_action, dead_letters_page
from worker.console.views.outcomes import outcomes_page, outcomes_rows
from worker.console.views.pauses import pause_action, resume_action
from worker.console.views.people import ask, day_page, now_page
from worker.console.views.status import health_page, rules_page

__all__ = ["console_routes", "create_console_app"]

Endpoint = Callable[[Console, Request], Response | Awaitable[Response]]


def _bind(console: Console, view: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        await run_in_threadpool(console.refresh)
        result = view(console, request)
        return await result if isinstance(result, Awaitable) else result

    endpoint.__name__ = getattr(view, "__name__", "view")
    return endpoint


def console_routes(console: Console) -> list[BaseRoute]:
    """Every page and action of the console, bound to ``console``."""
    bind = partial(_bind, console)
    return [
        Route("/", lambda request: RedirectResponse(f"{request.scope.get('root_path', '')}/now")),
        Route("/now", bind(now_page)),
        Route("/people/{email}", bind(day_page)),
        Route("/people/{email}/ask", bind(ask), methods=["POST"]),
        Route("/outcomes", bind(outcomes_page)),
        Route("/outcomes/rows", bind(outcomes_rows)),
        Route("/dead-letters", bind(dead_letters_page)),
        Route(
            "/dead-letters/{entry}/{verb:str}",
            bind(_only_verbs(dead_letter_action, {"replay", "drop"})),
            methods=["POST"],
        ),
        Route("/pauses", bind(pause_action), methods=["POST"]),
        Route("/pauses/resume", bind(resume_action), methods=["POST"]),
        Route("/health", bind(health_page)),
        Route("/rules", bind(rules_page)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def _only_verbs(view: Endpoint, verbs: set[str]) -> Endpoint:
    def guarded(console: Console, request: Request) -> Response | Awaitable[Response]:
        if request.path_params["verb"] not in verbs:
            return console.error(request, 404, "no such action")
        return view(console, request)

    guarded.__name__ = getattr(view, "__name__", "view")
    return guarded


def create_console_app(console: Console) -> Starlette:
    """The console as an ASGI app with its access control."""

    async def redis_down(_request: Request, exc: Exception) -> Response:
        return PlainTextResponse(
            f"Redis is unavailable ({type(exc).__name__}); the console shows nothing without "
            "it. Try again shortly.\n",
            status_code=503,
        )

    return Starlette(
        routes=console_routes(console),
        middleware=[Middleware(AccessMiddleware, settings=console.settings)],
        exception_handlers={redis.RedisError: redis_down, ConnectionError: redis_down},
    )
