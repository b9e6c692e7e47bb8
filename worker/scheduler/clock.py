"""The scheduler's own clocks for simulation and tests; both are :class:`worker.clock.Clock`\\ s.

``SimulatedClock`` runs ``speed`` simulated seconds per real second from a given instant
(``autoclock scheduler --clock-start/--clock-speed``, for simulation and testing only); the
scheduler stretches its timeouts by that ``speed``. ``ManualClock`` only moves when told (unit
tests). The real clock is :func:`worker.clock.utcnow`, the scheduler's default.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

__all__ = ["ManualClock", "SimulatedClock"]


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
        """Clock seconds per real second."""
        return self._speed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.epoch) * self._speed)

    def __call__(self) -> datetime:
        return self.now()


class ManualClock:
    """A clock that stands still until :meth:`set` or :meth:`advance` (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the manual clock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def __call__(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta
