"""Quiet hours, pure: is a local time inside ``[from, to)`` and when does that period end.

A window whose ``to`` is earlier than its ``from`` crosses midnight (``20:00``-``07:00``).
Times are in the recipient's zone; a period ends at the first instant at or after ``to``
local time (on a day DST skips ``to``, the first instant after the gap).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["quiet_until"]


def quiet_until(now: datetime, zone: ZoneInfo, window: tuple[time, time] | None) -> datetime | None:
    """When the quiet period containing ``now`` ends (UTC), or ``None`` outside one."""
    if window is None:
        return None
    start, end = window
    if start == end:
        return None
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    naive = datetime.combine(day, end)
    release = naive.replace(tzinfo=zone)
    # a wall time DST skipped does not exist: move to the instant that wall clock reaches it
    if release.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        release = (naive + timedelta(hours=1)).replace(tzinfo=zone)
    return max(release.astimezone(UTC), now.astimezone(UTC) + timedelta(seconds=1))
