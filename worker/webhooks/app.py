"""The webhook receiver as an ASGI app (Starlette): ``POST /hooks/<source>`` and nothing else.

Health, readiness and metrics are on the admin listener (:mod:`worker.admin`); this app
hands its readiness check over as ``app.state.readiness`` (a :data:`worker.admin.Check`).
:func:`create_app` is the one factory: ``autoclock webhooks``, ``autoclock run`` and the
tests call it. Cheap checks answer before the body is read (404 unknown source, 415 not
JSON, 413 a ``Content-Length`` over ``AUTOCLOCK_WEBHOOK_MAX_BODY``); the body is then read
with the same cap enforced on the streamed bytes, and
:meth:`~worker.webhooks.receiver.Receiver.handle_async` decides, on the event loop with an
asyncio Redis client (one round trip for a scan; see the receiver for what still goes to a
worker thread).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import redis
from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from worker.admin.app import Health
from worker.logs import get_logger, register_secrets
from worker.numbers import ascii_int
from worker.pipeline.broker import TriggerQueue
from worker.rules.schema import SourcesFile
from worker.settings import Settings, webhook_secret_env
from worker.store import Keys
from worker.webhooks.receiver import Answer, DirectoryLike, Receiver

__all__ = ["create_app", "is_json_media_type", "unsigned_warnings"]

log = get_logger(__name__)


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or any ``…/…+json``, parameters (charset) allowed."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class _SourceConvertor(Convertor[str]):
    """Any text after ``/hooks/`` (slashes, newlines, none): an unknown source, a logged 404."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("hooksource", _SourceConvertor())


def unsigned_warnings(sources: SourcesFile, secrets_for: Callable[[str], list[str]]) -> list[str]:
    """One warning per source that accepts unsigned deliveries (``allow_unsigned``, no secret):
    anyone who can reach it can clock people in and out."""
    return [
        f"source {s.name!r} accepts unsigned deliveries (allow_unsigned: true and no "
        f"{webhook_secret_env(s.name)}): anyone who reaches it can clock people in and out"
        for s in sources.webhooks
        if s.allow_unsigned and s.vendor != "shared_secret" and not secrets_for(s.name)
    ]


def _respond(answer: Answer) -> Response:
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


def create_app(
    settings: Settings,
    *,
    client: redis.Redis,
    keys: Keys,
    sources: SourcesFile,
    queue: TriggerQueue,
    directory: DirectoryLike | None = None,
    ready: Callable[[], bool] | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    secrets: Callable[[str], list[str]] | None = None,
) -> Starlette:
    """Build the receiver app.

    ``ready`` reports whether the rules are loaded (None: they are, since ``sources`` were
    given); ``app.state.readiness()`` checks it and Redis for the admin listener's
    ``/readyz``. ``extra_routes`` are mounted as they are (tests only: the public listener
    serves ``/hooks/…`` alone). ``secrets`` maps a
    source name to its secrets; the default reads ``AUTOCLOCK_WEBHOOK_SECRET_<NAME>``.
    """
    receiver = Receiver(
        settings,
        client=client,
        keys=keys,
        sources=sources,
        queue=queue,
        directory=directory,
        secrets=secrets,
    )
    register_secrets(v for s in sources.webhooks for v in receiver.secrets_for(s.name))
    for warning in unsigned_warnings(sources, receiver.secrets_for):
        log.warning("webhook_source_unsigned", warning=warning)
    max_body = settings.webhook_max_body

    async def hook(request: Request) -> Response:
        name = request.path_params["source"]
        source = receiver.source(name)
        if source is None:
            return _respond(
                await receiver.reject_async(404, f"unknown source {name[:80]!r}", name[:80])
            )
        content_type = request.headers.get("content-type", "")
        if not is_json_media_type(content_type):
            reason = f"content type must be application/json, got {content_type[:60]!r}"
            return _respond(await receiver.reject_async(415, reason, name))
        declared = request.headers.get("content-length")
        if declared is not None:
            length = ascii_int(declared.strip(), max_digits=20)
            if length is None:
                return _respond(await receiver.reject_async(400, "invalid Content-Length", name))
            if length > max_body:
                reason = f"body too large: {length} bytes (limit {max_body})"
                return _respond(await receiver.reject_async(413, reason, name))
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    reason = f"body too large: over {max_body} bytes"
                    return _respond(await receiver.reject_async(413, reason, name))
        except ClientDisconnect:
            return Response(status_code=400)
        answer = await receiver.handle_async(source, bytes(body), request.headers)
        return _respond(answer)

    def readiness() -> Health:
        reasons: list[str] = []
        try:
            receiver.client.ping()
        except (redis.RedisError, OSError) as exc:
            reasons.append(f"redis unreachable ({type(exc).__name__})")
        if ready is not None and not ready():
            reasons.append("rules not loaded")
        warnings = [
            f"source {s.name!r} has no secret: set {webhook_secret_env(s.name)}"
            for s in sources.webhooks
            if not receiver.secrets_for(s.name)
            and not (s.allow_unsigned and s.vendor != "shared_secret")
        ]
        warnings += unsigned_warnings(sources, receiver.secrets_for)
        return Health(reasons, warnings)

    routes: list[BaseRoute] = [
        Route("/hooks/{source:hooksource}", hook, methods=["POST"]),
        *extra_routes,
    ]
    app = Starlette(routes=routes)
    app.state.receiver = receiver
    app.state.readiness = readiness
    return app
