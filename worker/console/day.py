"""One person's day, gathered from what autoclock recorded: the read side for the console's
Person's day page and for ``autoclock review``.

Sources, all read-only:

* the outcome stream (every trigger delivery's result, by the trigger's ``occurred_at``);
* the webhook ingress log (scans ignored before they became triggers, when the entry names
  a subject the directory resolves to this person);
* planned calendar fires (the scheduler's plans) and schedule fires (computed from the rules),
  read by :mod:`worker.scheduler.planned`, which notify reads too.

Times are the triggers' ``occurred_at``, shown in the person's zone; the day is the person's
local calendar day. The :class:`Day` itself (pure) lives in :mod:`worker.rules.day`, so that
notify computes the same review flags.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime

import redis

from worker.models import Outcome
from worker.pipeline.outcomes import OutcomeLog
from worker.rules.day import BADGE_KINDS, Day, Interval, Planned, Shift, day_bounds
from worker.rules.directory import Person
from worker.rules.ruleset import Ruleset
from worker.scheduler.planned import add_planned, planned_fires
from worker.store import Keys

__all__ = [
    "BADGE_KINDS",
    "Day",
    "Interval",
    "Planned",
    "Shift",
    "day_bounds",
    "gather_days",
    "planned_fires",
]

#: How many of the newest ingress entries are searched for ignored scans.
INGRESS_SCAN = 5_000


def gather_days(
    client: redis.Redis,
    keys: Keys,
    ruleset: Ruleset,
    people: Iterable[Person],
    day: date,
    *,
    scan_limit: int = 200_000,
) -> dict[str, Day]:
    """The day ``day`` (each in their own zone) of every one of ``people``, by email.

    One pass over the outcome stream (newest first, at most ``scan_limit`` entries); with
    few people the raw JSON is filtered on their emails before it is parsed.
    """
    chosen = list(people)
    days: dict[str, Day] = {}
    for person in chosen:
        start, end = day_bounds(person, day)
        days[person.email] = Day(person, day, start, end)
    if not days:
        return days
    # the stream is ordered by record time, not by occurred_at (a late or shifted-clock
    # trigger, as in the demo, is recorded far from it): every entry is looked at; for a few
    # people Redis itself keeps only the entries that mention them
    log = OutcomeLog(client, keys)
    texts: Iterable[bytes]
    if len(days) <= 20:
        texts = log.search(any_of=_needles(days.values()), scan_limit=scan_limit)
    else:
        texts = (raw for _id, raw in log.scan(scan_limit))
    directory = ruleset.directory
    for raw in texts:
        outcome = Outcome.model_validate_json(raw)
        email = outcome.person
        if email is None:  # ended before the subject was resolved (duplicate, unknown…)
            found = directory.resolve(outcome.subject, source=outcome.source)
            email = found.email if found is not None else None
        target = days.get((email or "").lower())
        if target is not None and target.start <= outcome.occurred_at < target.end:
            target.outcomes.append(outcome)
    for d in days.values():
        d.outcomes.sort(key=lambda o: (o.occurred_at, o.recorded_at))
    _add_ingress(client, keys, ruleset, days)
    add_planned(client, keys, ruleset, days.values())
    return days


def _needles(days: Iterable[Day]) -> list[str]:
    """JSON fragments of which an outcome of one of these people contains at least one."""
    out: list[str] = []
    for d in days:
        p = d.person
        out.append(_fragment("person", p.email))
        for subject in (p.email, *p.badges, *p.vendor_ids.values(), str(p.user_id or "")):
            if subject:
                out.append(_fragment("subject", subject))
    return out


def _fragment(field: str, value: str) -> str:
    """``"field":"value"`` exactly as the outcome's compact JSON writes it."""
    return json.dumps({field: value}, separators=(",", ":"), ensure_ascii=False)[1:-1]


def _add_ingress(client: redis.Redis, keys: Keys, ruleset: Ruleset, days: dict[str, Day]) -> None:
    """Scans the webhook server ignored (no trigger), where the entry names the subject."""
    start = min(d.start for d in days.values()).timestamp()
    end = max(d.end for d in days.values()).timestamp()
    # the stream id is the receipt time: read only the days' window
    rows: list[tuple[bytes, dict[bytes, bytes]]] = client.xrevrange(  # type: ignore[assignment]
        keys("ingress"), max=f"{int(end * 1000)}", min=f"{int(start * 1000)}", count=INGRESS_SCAN
    )
    for _id, raw in rows:
        entry = {k.decode(): v.decode() for k, v in raw.items()}
        if entry.get("decision") != "ignored" or not entry.get("subject"):
            continue
        person = ruleset.directory.resolve(entry["subject"], source=f"webhook:{entry['source']}")
        if person is None or person.email not in days:
            continue
        target = days[person.email]
        at = datetime.fromtimestamp(float(entry.get("at") or 0), tz=person.zone)
        if target.start <= at < target.end:
            target.ignored_scans.append({**entry, "local": at.isoformat()})
