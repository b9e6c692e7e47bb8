"""Time for the scheduler: a small :class:`Clock` protocol, so tests and simulations can drive it.

``SystemClock`` is the real clock. ``SimulatedClock`` runs ``speed`` simulated seconds per real
second from a given instant (``autoclock scheduler --clock-start/--clock-speed``, for
simulation and testing only). ``ManualClock`` only moves when told (unit tests).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SimulatedClock", "SystemClock"]


class Clock(Protocol):
    """Where the scheduler reads "now" from."""

    @property
    def speed(self) -> float:
        """Clock seconds per real second (1 for the real clock)."""
        ...

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock."""

    speed = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """``start`` at real time ``epoch`` (Unix seconds, default: now), then ``speed``x real time."""

    def __init__(self, start: datetime, speed: float = 1.0, *, epoch: float | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs a timezone-aware start")
        if speed <= 0:
            raise ValueError("the simulated clock speed must be positive")
        self.start = start.astimezone(UTC)
        self._speed = float(speed)
        self.epoch = time.time() if epoch is None else float(epoch)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.epoch) * self._speed)


class ManualClock:
    """A clock that stands still until :meth:`set` or :meth:`advance` (tests)."""

    speed = 1.0

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the manual clock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta
