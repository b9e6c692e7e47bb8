"""Outcomes: the live feed, filtered by result, person, source and rule."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from worker.console.core import Console
from worker.models import Outcome, Result
from worker.pipeline.outcomes import OutcomeLog

__all__ = ["outcomes_page", "outcomes_rows"]

#: How many entries the feed shows, and how far back (entries) a filter searches.
SHOWN = 100
SEARCHED = 50_000


def _filtered(c: Console, request: Request) -> tuple[list[Outcome], dict[str, str], str | None]:
    q = request.query_params
    filters = {k: q.get(k, "").strip() for k in ("result", "person", "source", "rule")}
    if filters["result"] and filters["result"] not in {r.value for r in Result}:
        return [], filters, f"unknown result {filters['result']!r}"
    needles = [_fragment(field, value) for field, value in filters.items() if value]
    found: list[Outcome] = []
    log = OutcomeLog(c.client, c.keys)
    texts = (
        log.search(all_of=needles, scan_limit=SEARCHED)
        if needles
        else (raw for _id, raw in log.scan(SHOWN))
    )
    for raw in texts:
        outcome = Outcome.model_validate_json(raw)
        if not _matches(outcome, filters):
            continue
        found.append(outcome)
        if len(found) >= SHOWN:
            break
    return found, filters, None


def _fragment(field: str, value: str) -> str:
    return json.dumps({field: value}, separators=(",", ":"), ensure_ascii=False)[1:-1]


def _matches(o: Outcome, filters: dict[str, str]) -> bool:
    """The exact check after Redis's case-insensitive pre-filter."""
    person = filters["person"].lower()
    return (
        (not filters["result"] or o.result.value == filters["result"])
        and (not person or (o.person or "").lower() == person)
        and (not filters["source"] or o.source == filters["source"])
        and (not filters["rule"] or o.rule == filters["rule"])
    )


def outcomes_page(c: Console, request: Request) -> Response:
    found, filters, problem = _filtered(c, request)
    if problem:
        return c.error(request, 400, problem)
    query = urlencode({k: v for k, v in filters.items() if v})
    return c.render(
        request,
        "outcomes.html",
        outcomes=found,
        filters=filters,
        query=query,
        results=[r.value for r in Result],
        rules=[r.name for r in c.ruleset.rules],
    )


def outcomes_rows(c: Console, request: Request) -> Response:
    """The feed's rows alone: htmx polls this every few seconds."""
    found, _filters, problem = _filtered(c, request)
    if problem:
        return c.error(request, 400, problem)
    return c.render(request, "_outcome_rows.html", outcomes=found)
