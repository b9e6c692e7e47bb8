"""Now (everyone, with filters) and Person's day (timeline, flags, events); "ask WebWork"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from worker.console.access import csrf_ok
from worker.console.core import Console, _ago
from worker.console.day import Planned, gather_days
from worker.console.review import review
from worker.console.timeline import build_timeline
from worker.errors import ConfigError
from worker.models import Outcome
from worker.pipeline.outcomes import OutcomeLog
from worker.pipeline.pauses import PauseStore
from worker.pipeline.probe import Answer, last_answers
from worker.pipeline.state import KnownState, TrackerState
from worker.rules.directory import Person
from worker.rules.pauses import paused_reason

__all__ = ["ask", "day_page", "now_page"]

#: How far ahead the Now page looks for each person's next scheduled fire.
LOOKAHEAD = timedelta(days=2)


@dataclass(frozen=True)
class Row:
    """One person on the Now page, every text ready (1,000 rows render in one pass)."""

    email: str
    name: str
    detail: str
    zone: str
    tracking: str  # yes / no / unknown
    tracking_note: str
    since: str
    last: str
    last_result: str
    last_reason: str
    next: str
    next_source: str


def _age(seconds: float) -> str:
    return f"{_ago(seconds)} ago" if seconds >= 0 else f"{_ago(seconds)} ahead of this clock"


def _row(
    p: Person,
    state: KnownState | None,
    answer: Answer | None,
    last: Outcome | None,
    fire: Planned | None,
    now: datetime,
    ttl: int,
) -> Row:
    zone = p.zone
    if answer is not None and (state is None or answer.at > state.at):
        tracking = "yes" if answer.tracking else "no"
        note = f"WebWork said, {_age((now - answer.at).total_seconds())}"
    elif state is not None:
        tracking = "yes" if state.tracking else "no"
        note = f"{state.source}, {_age((now - state.at).total_seconds())}; trusted {_ago(ttl)}"
    else:
        tracking, note = "unknown", "nothing fresh known"
    return Row(
        email=p.email,
        name=p.name or p.email,
        detail=p.email + (f" · {', '.join(p.groups)}" if p.groups else ""),
        zone=p.timezone,
        tracking=tracking,
        tracking_note=note,
        since=state.at.astimezone(zone).strftime("%a %H:%M") if state else "-",
        last=(
            f"{last.kind.value} {last.occurred_at.astimezone(zone).strftime('%a %H:%M')}"
            if last
            else ""
        ),
        last_result=last.result.value if last else "",
        last_reason=last.reason if last else "",
        next=f"{fire.kind.value} {fire.at.astimezone(zone).strftime('%a %H:%M')}" if fire else "",
        next_source=fire.source if fire else "",
    )


def now_page(c: Console, request: Request) -> Response:
    group = request.query_params.get("group", "")
    zone = request.query_params.get("zone", "")
    people = list(c.ruleset.directory.people)
    if group:
        if group not in c.ruleset.groups:
            return c.error(request, 400, f"unknown group {group!r}")
        people = [p for p in people if group in p.groups]
    if zone:
        people = [p for p in people if p.timezone == zone]
    now = c.clock()
    emails = [p.email for p in people]
    ttl = c.settings.known_state_ttl_s
    known = TrackerState(c.client, c.keys, ttl_s=ttl).get_many(emails)
    asked = last_answers(c.client, c.keys, emails)
    last = OutcomeLog(c.client, c.keys).last_for(emails)
    upcoming = c.upcoming(now, LOOKAHEAD)
    rows = []
    for p in people:
        fires = upcoming.get(p.email)
        rows.append(
            _row(
                p,
                known.get(p.email),
                asked.get(p.email),
                last.get(p.email),
                fires[0] if fires else None,
                now,
                ttl,
            )
        )
    pauses = PauseStore(c.client, c.keys).active(now)
    paused = {
        r.email: why
        for r in rows
        if (person := c.ruleset.directory.by_email(r.email)) is not None
        and (why := paused_reason(person, now, closures=c.ruleset.closures, pauses=pauses))
    }
    counts = {k: sum(1 for r in rows if r.tracking == k) for k in ("yes", "no", "unknown")}
    zones = sorted({p.timezone for p in c.ruleset.directory.people})
    return c.render(
        request,
        "now.html",
        rows=rows,
        counts=counts,
        group=group,
        zone=zone,
        groups=c.ruleset.groups,
        zones=zones,
        ttl=ttl,
        pauses=pauses,
        paused=paused,
        done=request.query_params.get("done", ""),
    )


def _person(c: Console, request: Request) -> Person | None:
    return c.ruleset.directory.by_email(request.path_params["email"])


def day_page(c: Console, request: Request) -> Response:
    person = _person(c, request)
    if person is None:
        return c.error(
            request, 404, f"nobody called {request.path_params['email']!r} in people.yaml"
        )
    now = c.clock()
    text = request.query_params.get("date", "")
    try:
        day = date.fromisoformat(text) if text else now.astimezone(person.zone).date()
    except ValueError:
        return c.error(request, 400, f"date {text!r} is not YYYY-MM-DD")
    found = gather_days(
        c.client, c.keys, c.ruleset, [person], day, scan_limit=c.settings.history_maxlen
    )[person.email]
    flags = review(found, now)
    return c.render(
        request,
        "day.html",
        person=person,
        day=found,
        flags=flags,
        timeline=build_timeline(found, flags, now),
        tracked=found.tracked(now),
        shifts=found.shifts(),
        previous=(day - timedelta(days=1)).isoformat(),
        following=(day + timedelta(days=1)).isoformat(),
        zone=person.zone,
    )


async def ask(c: Console, request: Request) -> Response:
    person = _person(c, request)
    form = await request.form()
    token = form.get("csrf")
    if not csrf_ok(request, token if isinstance(token, str) else None):
        return c.error(request, 403, "the form is stale or from elsewhere (CSRF); reload the page")
    if person is None:
        return c.error(request, 404, f"nobody called {request.path_params['email']!r}")
    try:
        answer = await run_in_threadpool(c.probe().ask, person)
    except ConfigError as exc:
        answer = Answer(None, c.clock().astimezone(person.zone), str(exc))
    return c.render(request, "_answer.html", person=person, answer=answer)
