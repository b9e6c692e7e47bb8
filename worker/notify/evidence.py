"""The evidence a notification quotes: the person's last badges before an outcome, that
local day, from the outcome log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from worker.models import Outcome, TriggerKind
from worker.pipeline.outcomes import OutcomeLog

__all__ = ["BADGE_KINDS", "Evidence", "evidence_for"]

BADGE_KINDS = frozenset({TriggerKind.BADGE_IN, TriggerKind.BADGE_OUT, TriggerKind.BADGE_SCAN})
#: Outcome entries searched (newest first) for a person's badges.
SCAN_LIMIT = 20_000


@dataclass(frozen=True)
class Evidence:
    last_badge: datetime | None = None
    last_badge_kind: TriggerKind | None = None
    last_badge_out: datetime | None = None
    """The last badge-out (or scan of unknown direction) before the outcome that day."""


def evidence_for(log: OutcomeLog, outcome: Outcome, zone: ZoneInfo) -> Evidence:
    """The last badges of ``outcome``'s person before it, on its local day in ``zone``."""
    person = (outcome.person or "").lower()
    if not person or not person.isascii():
        return Evidence()
    day = outcome.occurred_at.astimezone(zone).date()
    badges: list[Outcome] = []
    for raw in log.search(all_of=[person], scan_limit=SCAN_LIMIT):
        try:
            seen = Outcome.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            continue
        if (
            seen.kind in BADGE_KINDS
            and (seen.person or seen.subject).lower() == person
            and seen.occurred_at <= outcome.occurred_at
            and seen.occurred_at.astimezone(zone).date() == day
            and seen.delivery_id != outcome.delivery_id
        ):
            badges.append(seen)
    if not badges:
        return Evidence()
    last = max(badges, key=lambda o: o.occurred_at)
    outs = [o.occurred_at for o in badges if o.kind is not TriggerKind.BADGE_IN]
    return Evidence(
        last_badge=last.occurred_at,
        last_badge_kind=last.kind,
        last_badge_out=max(outs) if outs else None,
    )
