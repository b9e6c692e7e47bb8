"""Cron expressions read in one IANA zone: the instants of ``cron:`` schedules (pure).

The five standard fields (minute, hour, day of month, month, day of week) as croniter reads
them, including ``L`` (last day of the month), ``L5`` (last Friday), ``6#2`` (second
Saturday) and names (``mon-fri``). When both day fields are restricted, a day matching
either fires (standard cron).

The expression is matched against the **wall clock** of the zone, then each wall time is
placed with the same DST policy as ``at`` (:func:`worker.scheduler.schedules.local_instant`):

* a wall time in the spring-forward gap fires once, moved forward by the gap (02:30 on the
  day Berlin skips 02:00-03:00 fires at 03:30 CEST);
* a wall time that occurs twice on the fall-back day fires once, at its first occurrence;
* two wall times that land on the same instant (02:30 moved to 03:30 and 03:30 itself) fire
  once, under the earlier wall time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from worker.rules.schema import cron_problem

__all__ = ["CronFire", "cron_fires"]

#: Wall times this far outside ``(start, end]`` are still examined: a DST shift moves a wall
#: time's instant by at most this much.
_MARGIN = timedelta(hours=3)
#: A guard against expressions that fire every minute over a long window.
MAX_FIRES = 100_000


@dataclass(frozen=True)
class CronFire:
    """One fire: ``at`` (aware, UTC) and the ``wall`` time it was scheduled for (naive)."""

    at: datetime
    wall: datetime


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def cron_fires(expr: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[CronFire]:
    """Every fire of ``expr`` in ``zone`` with ``start < at <= end``, in time order.

    ``start`` and ``end`` are aware instants. Raises ``ValueError`` for an invalid ``expr``
    (the loader refuses those with :func:`cron_problem`).
    """
    why = cron_problem(expr)
    if why is not None:
        raise ValueError(why)
    lo = start.astimezone(zone).replace(tzinfo=None) - _MARGIN
    hi = end.astimezone(zone).replace(tzinfo=None) + _MARGIN
    walls = croniter(expr, lo - timedelta(seconds=1))
    fires: list[CronFire] = []
    seen: set[datetime] = set()
    while len(fires) < MAX_FIRES:
        wall: datetime = walls.get_next(datetime)
        if wall > hi:
            break
        at = _instant(wall, zone)
        if start < at <= end and at not in seen:
            seen.add(at)
            fires.append(CronFire(at=at, wall=wall))
    fires.sort(key=lambda f: (f.at, f.wall))
    return fires
