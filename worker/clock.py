"""The one notion of "now": a :class:`Clock` is called and returns the current instant,
timezone-aware, in UTC.

Everything that needs the wall-clock time (the pipeline judging a trigger, the scheduler
deciding what is due, the console and the notifications saying how long ago) receives a
clock rather than asking the system, so a scripted or simulated day is a clock passed in,
never a patch:

- :func:`utcnow` is the system clock, the default everywhere;
- :class:`ShiftedClock` is real time plus a movable offset (``autoclock demo`` plays its day
  on one);
- the scheduler's ``SimulatedClock`` and ``ManualClock`` (``worker.scheduler.clock``) run
  faster than real time or only when told.

Durations and timeouts are not "now": they use ``time.monotonic``, which no clock shifts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ShiftedClock", "speed_of", "utcnow"]


class Clock(Protocol):
    """Where code reads "now" from; any function of no arguments returning an aware UTC
    datetime is one."""

    def __call__(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC: the system clock."""
    return datetime.now(UTC)


def speed_of(clock: Clock) -> float:
    """Clock seconds per real second: 1, unless the clock names another ``speed`` (a
    simulated clock running faster, whose timeouts must stretch with it)."""
    return float(getattr(clock, "speed", 1.0))


class ShiftedClock:
    """Real time plus a movable offset: ``now`` as a scripted day sees it."""

    def __init__(self, base: Clock = utcnow) -> None:
        self.base = base
        self.offset = timedelta(0)

    def set(self, moment: datetime) -> None:
        """From now on, read ``moment`` advancing at real speed."""
        self.offset = moment - self.base()

    def __call__(self) -> datetime:
        return self.base() + self.offset
