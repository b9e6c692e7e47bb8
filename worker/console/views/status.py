"""Health and Rules (loaded files, problems on disk, the explain form)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from worker.console.core import Console
from worker.console.health import read_health
from worker.models import Trigger, TriggerKind
from worker.rules.evaluate import evaluate
from worker.rules.facts import StaticFacts

__all__ = ["health_page", "rules_page"]

_TRISTATE = {"yes": True, "no": False, "unknown": None}


async def health_page(c: Console, request: Request) -> Response:
    health = await run_in_threadpool(read_health, c.client, c.keys, c.settings, c.ruleset)
    return c.render(request, "health.html", health=health)


def _files(c: Console) -> list[dict[str, str]]:
    root = c.ruleset.root
    names = ["people.yaml", "sources.yaml", "rules.yaml"]
    names += [cal.path for cal in c.ruleset.sources.calendars if cal.path]
    rows = []
    for name in names:
        path = root / name
        try:
            body = path.read_bytes()
            modified = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
            rows.append(
                {
                    "name": name,
                    "size": f"{len(body):,} bytes",
                    "modified": modified.isoformat(timespec="seconds"),
                    "sha256": hashlib.sha256(body).hexdigest()[:12],
                    "changed": "yes" if modified > c.loaded_at else "",
                }
            )
        except OSError as exc:
            rows.append(
                {
                    "name": name,
                    "size": f"unreadable: {exc.strerror}",
                    "modified": "",
                    "sha256": "",
                    "changed": "",
                }
            )
    return rows


def rules_page(c: Console, request: Request) -> Response:
    q = request.query_params
    form = {
        k: q.get(k, "").strip() for k in ("kind", "subject", "source", "at", "tracking", "leave")
    }
    problems = c.problems()
    explained = None
    error = ""
    if form["kind"] and form["subject"]:
        explained, error = _explain(c, form)
    elif form["kind"] or form["subject"]:
        error = "give a kind and a subject"
    return c.render(
        request,
        "rules.html",
        status=400 if error else 200,
        files=_files(c),
        problems=problems,
        form=form,
        kinds=[k.value for k in TriggerKind],
        explained=explained,
        error=error,
        ruleset=c.ruleset,
    )


def _explain(c: Console, form: dict[str, str]) -> tuple[dict[str, object] | None, str]:
    try:
        kind = TriggerKind(form["kind"])
    except ValueError:
        return None, f"unknown kind {form['kind']!r}"
    if not 1 <= len(form["subject"]) <= 320:
        return None, "the subject must be 1 to 320 characters"
    source = form["source"] or "manual"
    person, how = c.ruleset.directory.lookup(form["subject"], source=source)
    zone = ZoneInfo(person.timezone if person else c.settings.timezone)
    try:
        at = datetime.fromisoformat(form["at"].replace("Z", "+00:00")) if form["at"] else c.clock()
    except ValueError:
        return None, f"time {form['at']!r} is not ISO 8601 (2026-12-02T08:55 or with +01:00)"
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    trigger = Trigger(
        id="explain:console", source=source, kind=kind, subject=form["subject"], occurred_at=at
    )
    decision = None
    if person is not None:
        facts = StaticFacts(
            leave=_TRISTATE.get(form["leave"] or "unknown"),
            tracking=_TRISTATE.get(form["tracking"] or "unknown"),
        )
        decision = evaluate(trigger, person, c.ruleset, now=at, facts=facts)
    return {
        "trigger": trigger,
        "person": person,
        "how": how,
        "decision": decision,
        "local": at.astimezone(zone),
    }, ""
