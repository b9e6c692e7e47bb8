"""Dead letters: the list, replay and drop (POST, CSRF, audited; off unless
AUTOCLOCK_CONSOLE_ACTIONS is true)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from worker.console.access import csrf_ok, operator
from worker.console.core import Console
from worker.errors import QueueUnavailable
from worker.pipeline.audit import AuditLog
from worker.pipeline.broker import make_broker
from worker.pipeline.dlq import DeadLetters, drop, replay

__all__ = ["dead_letter_action", "dead_letters_page"]


def dead_letters_page(c: Console, request: Request) -> Response:
    return c.render(
        request,
        "dead_letters.html",
        letters=DeadLetters(c.client, c.keys).list(),
        audit=AuditLog(c.client, c.keys).tail(20),
        done=request.query_params.get("done", ""),
    )


async def dead_letter_action(c: Console, request: Request) -> Response:
    form = await request.form()
    token = form.get("csrf")
    if not csrf_ok(request, token if isinstance(token, str) else None):
        return c.error(request, 403, "the form is stale or from elsewhere (CSRF); reload the page")
    if not c.settings.console_actions:
        return c.error(
            request,
            403,
            "the console is read-only: set AUTOCLOCK_CONSOLE_ACTIONS=true to allow replay and drop",
        )
    verb = request.path_params["verb"]
    store = DeadLetters(c.client, c.keys, clock=c.clock)
    letter = store.get(request.path_params["entry"])
    if letter is None:
        return c.error(request, 404, f"no dead letter {request.path_params['entry']!r}")
    if verb == "replay":
        try:
            replay(
                store,
                make_broker(c.client, c.keys),
                letter,
                by=operator(request),
                no_deadline=form.get("no_deadline") == "1",
            )
        except QueueUnavailable as exc:
            return c.error(request, 503, str(exc))
        done = f"replayed {letter.id}"
    else:
        drop(store, letter, by=operator(request))
        done = f"dropped {letter.id}"
    base = request.scope.get("root_path", "").rstrip("/")
    return RedirectResponse(f"{base}/dead-letters?done={quote(done)}", status_code=303)
