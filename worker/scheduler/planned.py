"""Planned fires per person, as the scheduler will fire them: schedule fires (computed from
the rules) and planned calendar fires (the plans in Redis, :mod:`.plans`).

Read by the console (a person's day, the Now page's next fires) and by notify (the
``shift-without-clock-in`` flag), so both see the same planned shifts. Attaching them to a
:class:`~worker.rules.day.Day` is the day's own (pure) job: :meth:`Day.add_planned`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import redis

from worker.rules.day import Day, Planned
from worker.rules.directory import Person
from worker.rules.ruleset import Ruleset
from worker.scheduler.plans import PlanStore
from worker.scheduler.schedules import schedule_fires
from worker.store import Keys

__all__ = ["add_planned", "planned_fires"]


def planned_fires(
    client: redis.Redis,
    keys: Keys,
    ruleset: Ruleset,
    start: datetime,
    end: datetime,
    *,
    people: Iterable[Person] | None = None,
) -> dict[str, list[Planned]]:
    """Schedule fires and planned calendar fires with ``start < at <= end``, by email."""
    only = None if people is None else {p.email for p in people}
    out: dict[str, list[Planned]] = {}
    chosen = None if people is None else list(people)
    for fire in schedule_fires(
        ruleset.sources.schedules, ruleset.directory, start, end, people=chosen
    ):
        out.setdefault(fire.email, []).append(
            Planned(fire.at, fire.trigger.kind, fire.trigger.source, fire.id)
        )
    plans = PlanStore(client, keys)
    for calendar in ruleset.sources.calendars:
        for fire in plans.due(calendar.name, start, end):
            email = fire.email.lower()
            if only is not None and email not in only:
                continue
            label = fire.trigger.attributes.get("summary", "")
            out.setdefault(email, []).append(
                Planned(fire.at, fire.trigger.kind, fire.trigger.source, fire.id, label)
            )
    for fires in out.values():
        fires.sort(key=lambda p: p.at)
    return out


def add_planned(client: redis.Redis, keys: Keys, ruleset: Ruleset, days: Iterable[Day]) -> None:
    """Add to each of ``days`` its person's planned fires of that day (one read for all)."""
    chosen = list(days)
    if not chosen:
        return
    start = min(d.start for d in chosen) - timedelta(seconds=1)
    end = max(d.end for d in chosen)
    people = list({d.person.email: d.person for d in chosen}.values())
    fires = planned_fires(client, keys, ruleset, start, end, people=people)
    for day in chosen:
        day.add_planned(fires.get(day.person.email, ()))
