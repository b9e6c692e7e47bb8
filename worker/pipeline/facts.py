"""The facts rule evaluation asks the pipeline for: holidays offline, leave from WebWork
(cached per person per day), tracking from the known state.

This is the pipeline's implementation of :class:`worker.rules.facts.Facts`; ``rules explain``
and the tests use :class:`~worker.rules.facts.StaticFacts` instead.
"""

from __future__ import annotations

from datetime import date, timedelta

import redis

from worker.errors import Backpressure, RateLimited, Transient, WebWorkError
from worker.logs import get_logger
from worker.pipeline.identity import Identity
from worker.pipeline.state import TrackerState
from worker.rules.directory import Person
from worker.rules.facts import HolidayFacts
from worker.store import Keys
from worker.webwork.client import WebWorkClient
from worker.webwork.models import Leave

__all__ = ["ApiFacts"]

log = get_logger(__name__)


class ApiFacts:
    """Facts for rule evaluation: holidays offline, leave from WebWork (cached per person per
    day), tracking from the known state."""

    #: How long a leave answer is cached.
    LEAVE_CACHE = timedelta(hours=6)

    def __init__(
        self,
        db: redis.Redis,
        keys: Keys,
        client: WebWorkClient,
        state: TrackerState,
        identity: Identity,
    ) -> None:
        self.db = db
        self.keys = keys
        self.client = client
        self.state = state
        self.identity = identity
        self.holidays = HolidayFacts()

    def holiday(self, person: Person, day: date) -> str | None:
        return self.holidays.holiday(person, day)

    def tracking(self, person: Person) -> bool | None:
        known = self.state.get(person.email)
        return None if known is None else known.tracking

    def on_leave(self, person: Person, day: date) -> bool | None:
        key = self.keys("leave", person.email, day.isoformat())
        cached = self.db.get(key)
        if cached is not None:
            return cached in (b"1", "1")
        try:
            user_id = self.identity.user_id(person)
            if user_id is None:
                return None
            leaves = self.client.leaves(
                workspace_id=self.identity.workspace_id(),
                user_id=user_id,
                status="approved",
                date_from=day,
                date_to=day,
            )
        except (Backpressure, RateLimited, Transient):
            raise  # retried by the evaluation: an API blip must not read as "not on leave"
        except WebWorkError as exc:
            log.warning("leave lookup failed", person=person.email, error=str(exc))
            return None
        on_leave = any(_full_day(leave, day) for leave in leaves)
        self.db.set(key, "1" if on_leave else "0", ex=int(self.LEAVE_CACHE.total_seconds()))
        return on_leave


def _full_day(leave: Leave, day: date) -> bool:
    """An approved leave covering ``day`` that is not a half day (``leave_period`` 1 or 2)."""
    start = leave.start_date
    end = leave.end_date or start
    if start is None or end is None or not (start <= day <= end):
        return False
    return leave.leave_period in (0, None)
