"""Pausing automation from the console (the same pauses as ``autoclock pause`` / ``resume``):
POSTs with the CSRF token, an audit entry each, off unless AUTOCLOCK_CONSOLE_ACTIONS is true."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from worker.console.access import csrf_ok, operator
from worker.console.core import Console
from worker.pipeline.audit import AuditLog
from worker.pipeline.pauses import PauseStore
from worker.rules.pauses import Pause
from worker.rules.schema import parse_duration

__all__ = ["pause_action", "resume_action"]


async def _guard(c: Console, request: Request) -> tuple[dict[str, str], Response | None]:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(request, fields.get("csrf")):
        return fields, c.error(request, 403, "the form is stale or from elsewhere (CSRF); reload")
    if not c.settings.console_actions:
        return fields, c.error(
            request, 403, "the console is read-only: set AUTOCLOCK_CONSOLE_ACTIONS=true to pause"
        )
    return fields, None


def _scope(c: Console, text: str) -> str | None:
    """``all``, ``group:<known group>`` or ``person:<known email>``; else None."""
    kind, _, name = text.strip().partition(":")
    if text.strip() == "all":
        return "all"
    if kind == "group" and name in c.ruleset.groups:
        return text.strip()
    if kind == "person":
        person = c.ruleset.directory.by_email(name)
        return f"person:{person.email}" if person else None
    return None


def _until(text: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """An ISO time (without offset: in ``zone``) or a duration from now (90m, 8h, 2d)."""
    text = text.strip()
    try:
        return now + parse_duration(text)
    except (ValueError, TypeError):
        pass
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=zone)


def _back(request: Request, done: str) -> Response:
    base = request.scope.get("root_path", "").rstrip("/")
    return RedirectResponse(f"{base}/now?done={quote(done)}", status_code=303)


async def pause_action(c: Console, request: Request) -> Response:
    fields, refused = await _guard(c, request)
    if refused is not None:
        return refused
    scope = _scope(c, fields.get("scope", ""))
    if scope is None:
        return c.error(request, 400, f"unknown scope {fields.get('scope', '')!r}")
    reason = fields.get("reason", "").strip()
    if not 1 <= len(reason) <= 200:
        return c.error(request, 400, "give a reason of 1 to 200 characters")
    zone = ZoneInfo(c.settings.timezone)
    if scope.startswith("person:"):
        person = c.ruleset.directory.by_email(scope.partition(":")[2])
        zone = person.zone if person else zone
    now = c.clock()
    until = _until(fields.get("until", ""), zone, now)
    if until is None or until <= now:
        return c.error(
            request, 400, "until must be a future time (2026-12-24T06:00) or a duration (90m, 8h)"
        )
    pause = Pause(scope=scope, start=now, until=until, reason=reason)
    AuditLog(c.client, c.keys, clock=c.clock).record(
        by=operator(request), action="pause", target=scope, detail=pause.describe()
    )
    PauseStore(c.client, c.keys).set(pause)
    return _back(request, pause.describe())


async def resume_action(c: Console, request: Request) -> Response:
    fields, refused = await _guard(c, request)
    if refused is not None:
        return refused
    scope = fields.get("scope", "")
    store = PauseStore(c.client, c.keys)
    current = store.get(scope)
    if current is None or not current.active(c.clock()):
        return c.error(request, 404, f"no active pause for {scope!r}")
    AuditLog(c.client, c.keys, clock=c.clock).record(
        by=operator(request), action="resume", target=scope, detail=current.reason
    )
    store.end(scope, c.clock())
    return _back(request, f"resumed {current.who}")
