"""What a notification quotes and what review flags read: a person's outcomes of one local day
(from the outcome log), and their last badges before an outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from worker.models import Outcome, TriggerKind
from worker.pipeline.outcomes import OutcomeLog
from worker.rules.day import BADGE_KINDS

__all__ = ["Evidence", "day_outcomes", "evidence_from", "person_day"]

#: Outcome entries searched (newest first) for a person's day.
SCAN_LIMIT = 20_000


@dataclass(frozen=True)
class Evidence:
    last_badge: datetime | None = None
    last_badge_kind: TriggerKind | None = None
    last_badge_out: datetime | None = None
    """The last badge-out (or scan of unknown direction) before the outcome that day."""


def day_outcomes(log: OutcomeLog, outcome: Outcome, zone: ZoneInfo) -> list[Outcome]:
    """The outcomes of ``outcome``'s person on its local day in ``zone``, oldest first
    (``outcome`` itself included)."""
    person = (outcome.person or "").lower()
    if not person:
        return [outcome]
    day = outcome.occurred_at.astimezone(zone).date()
    found: dict[str, Outcome] = {outcome.delivery_id: outcome}
    for seen in person_day(log, person, zone, day):
        found.setdefault(seen.delivery_id, seen)
    return sorted(found.values(), key=lambda o: (o.occurred_at, o.recorded_at))


def person_day(log: OutcomeLog, email: str, zone: ZoneInfo, day: date) -> list[Outcome]:
    """The outcomes of the person ``email`` on the local ``day`` in ``zone``, oldest first."""
    person = email.lower()
    found: dict[str, Outcome] = {}
    for raw in log.search(all_of=[person], scan_limit=SCAN_LIMIT):
        try:
            seen = Outcome.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            continue
        if (seen.person or seen.subject).lower() == person and (
            seen.occurred_at.astimezone(zone).date() == day
        ):
            found.setdefault(seen.delivery_id, seen)
    return sorted(found.values(), key=lambda o: (o.occurred_at, o.recorded_at))


def evidence_from(day: list[Outcome], outcome: Outcome) -> Evidence:
    """The last badges in ``day`` before ``outcome``."""
    badges = [
        o
        for o in day
        if o.kind in BADGE_KINDS
        and o.occurred_at <= outcome.occurred_at
        and o.delivery_id != outcome.delivery_id
    ]
    if not badges:
        return Evidence()
    last = max(badges, key=lambda o: o.occurred_at)
    outs = [o.occurred_at for o in badges if o.kind is not TriggerKind.BADGE_IN]
    return Evidence(
        last_badge=last.occurred_at,
        last_badge_kind=last.kind,
        last_badge_out=max(outs) if outs else None,
    )
