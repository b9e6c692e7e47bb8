"""Part 3: API calls per real state change over a day of ``people`` people, every trigger
delivered three times and the deliveries shuffled.

The day, per person (seeded, reproducible): badge in around 09:00; 70 % go out for lunch
(out 12:30, in 13:15); 80 % badge out around 17:30; at 19:00 the end-of-day schedule fires
for everyone (a real stop only for those who forgot to badge out). The day is played in its
five phases, hours apart as in reality: each phase's triggers are enqueued three times each,
in a random order, and the phase settles before the next begins. The phases are placed in
the last hours so that no action is past its rule's deadline.

Counted by the sandbox: every ``/api/v2`` call received, and the calls that changed a
tracker (``effect``). Ideal: one call per change, and as many changes as the day implies.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import wait_for
from bench.fleet import fleet
from tests.pipeline.helpers import synthetic_email
from worker.models import Trigger, TriggerKind

__all__ = ["RULES", "plan_day", "run"]

RULES: dict[str, Any] = {
    "policy": {"max_delay": "12h"},
    "rules": [
        {"name": "badge-in-starts", "on": {"kind": "badge_in"}, "do": {"action": "start"}},
        {"name": "badge-out-stops", "on": {"kind": "badge_out"}, "do": {"action": "stop"}},
        {
            "name": "end-of-day-stop",
            "on": {"source": "schedule:end-of-day", "kind": "tick"},
            "do": {"action": "stop"},
        },
    ],
}

SOURCES: dict[str, Any] = {
    "webhooks": [{"name": "door", "vendor": "standard"}],
    "schedules": [{"name": "end-of-day", "at": "19:00"}],
}

#: Phase name and its time of day (hours after midnight).
PHASES = [("09:00 in", 9.0), ("12:30 lunch out", 12.5), ("13:15 back in", 13.25),
          ("17:30 out", 17.5), ("19:00 end of day", 19.0)]  # fmt: skip


def plan_day(people: int, seed: int, day_end: datetime) -> tuple[list[list[Trigger]], int]:
    """The day's triggers per phase, and the number of real tracker changes it implies."""
    rng = random.Random(seed)
    midnight = day_end - timedelta(hours=19)
    phases: list[list[Trigger]] = [[] for _ in PHASES]
    changes = 0

    def at(hours: float, jitter_min: float = 0.0) -> datetime:
        offset = rng.uniform(-jitter_min, jitter_min) if jitter_min else 0.0
        return midnight + timedelta(hours=hours, minutes=offset)

    for i in range(people):

        def add(phase: int, kind: TriggerKind, when: datetime, source: str, i: int = i) -> None:
            phases[phase].append(
                Trigger(
                    id=f"{source}:{i}:{phase}",
                    source=source,
                    kind=kind,
                    subject=synthetic_email(i),
                    occurred_at=when,
                )
            )

        add(0, TriggerKind.BADGE_IN, at(9.0, 30), "webhook:door")
        changes += 1
        if rng.random() < 0.7:
            add(1, TriggerKind.BADGE_OUT, at(12.5, 10), "webhook:door")
            add(2, TriggerKind.BADGE_IN, at(13.25, 10), "webhook:door")
            changes += 2
        leaves = rng.random() < 0.8
        if leaves:
            add(3, TriggerKind.BADGE_OUT, at(17.5, 60), "webhook:door")
        add(4, TriggerKind.TICK, at(19.0), "schedule:end-of-day")
        changes += 1  # the 17:30 badge-out, or else the 19:00 schedule, stops the tracker
    return phases, changes


def run(
    url: str,
    *,
    people: int,
    copies: int,
    processes: int,
    threads: int,
    seed: int,
    workdir: Path,
    logs: Path,
) -> dict[str, Any]:
    day_end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    phases, expected = plan_day(people, seed, day_end)
    rng = random.Random(seed + 1)
    deliveries = 0
    t0 = time.perf_counter()
    with fleet(
        url,
        name="economy",
        people=people,
        rules=RULES,
        sources=SOURCES,
        sandbox_rpm=0,
        webwork_rpm=1_000_000,
        processes=processes,
        threads=threads,
        workdir=workdir,
        logs=logs,
    ) as f:
        for (label, _hour), triggers in zip(PHASES, phases, strict=True):
            batch = [t for t in triggers for _ in range(copies)]
            rng.shuffle(batch)
            for trigger in batch:
                f.queue.enqueue(trigger)
            deliveries += len(batch)
            wait_for(
                lambda n=deliveries: f.outcome_count() >= n,
                timeout_s=max(60.0, len(batch) / 20),
                what=f"phase {label} to settle",
            )
        calls = f.control.calls()
        results = f.results()
    seconds = time.perf_counter() - t0
    by_path = Counter(c.path.rsplit("/api/v2", 1)[-1] for c in calls)
    effects = sum(1 for c in calls if c.effect is not None)
    return {
        "people": people,
        "copies": copies,
        "triggers": sum(len(p) for p in phases),
        "deliveries": deliveries,
        "expected_changes": expected,
        "state_changes": effects,
        "api_calls": len(calls),
        "calls_per_change": len(calls) / effects if effects else float("inf"),
        "calls_by_path": dict(by_path),
        "statuses": dict(Counter(str(c.status) for c in calls)),
        "results": results,
        "seconds": seconds,
    }
