"""The scheduler: cron schedules and calendar shifts turned into triggers, exactly once.

One job per module: :mod:`.schedules` (fire times per person, DST-correct),
:mod:`.calendars` (ICS → occurrences → shift fires), :mod:`.feeds` (conditional fetch, last
good copy), :mod:`.plans` (planned calendar fires in Redis), :mod:`.leader` (Redis leader
lock), :mod:`.claims` (each fire claimed once), :mod:`.loop` (the loop), :mod:`.simulate`
(shadow day), :mod:`.clock` (simulated and manual clocks; "now" itself is :mod:`worker.clock`).
See ``docs/scheduler.md``.
"""

from worker.scheduler.clock import ManualClock, SimulatedClock
from worker.scheduler.loop import Scheduler, TickReport

__all__ = ["ManualClock", "Scheduler", "SimulatedClock", "TickReport"]
