"""Part 4: ``shifts`` shift starts at the same instant under a scaled rate limit.

The sandbox enforces ``rpm`` requests per minute (``--rpm``) and the workers share a budget
of the same size (``WEBWORK_RPM``). All triggers carry the same ``occurred_at`` and are
enqueued at once; the sandbox's call log says when each clock-in landed. Ideal: the last
lands ``shifts / rpm`` minutes after the instant, no call is answered 429, and the mean
clock-in delay is half of that.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import wait_for
from bench.fleet import fleet
from tests.pipeline.helpers import synthetic_email
from worker.models import Trigger, TriggerKind

__all__ = ["RULES", "run"]

RULES: dict[str, Any] = {
    "policy": {"max_delay": "30m"},
    "rules": [
        {
            "name": "shift-start",
            "on": {"source": "calendar:*", "kind": "shift_start"},
            "do": {"action": "start"},
        }
    ],
}


def run(
    url: str,
    *,
    shifts: int,
    rpm: int,
    processes: int,
    threads: int,
    workdir: Path,
    logs: Path,
) -> dict[str, Any]:
    ideal_s = shifts / rpm * 60
    with fleet(
        url,
        name="burst",
        people=shifts,
        rules=RULES,
        sandbox_rpm=rpm,
        webwork_rpm=rpm,
        processes=processes,
        threads=threads,
        workdir=workdir,
        logs=logs,
    ) as f:
        instant = datetime.now(UTC)
        triggers = [
            Trigger(
                id=f"calendar:shifts:{i}",
                source="calendar:shifts",
                kind=TriggerKind.SHIFT_START,
                subject=synthetic_email(i),
                occurred_at=instant,
            )
            for i in range(shifts)
        ]
        t = time.perf_counter()
        for trigger in triggers:
            f.queue.enqueue(trigger)
        enqueue_s = time.perf_counter() - t
        wait_for(
            lambda: f.outcome_count() >= shifts,
            timeout_s=ideal_s * 3 + 30,
            interval_s=0.1,
            what="every shift start to end in an outcome",
        )
        calls = f.control.calls()
        results = f.results()
    landed = sorted((c.at - instant).total_seconds() for c in calls if c.effect == "started")
    per_second = Counter(int(s) for s in landed)
    completion = landed[-1] if landed else float("inf")
    return {
        "shifts": shifts,
        "rpm": rpm,
        "ideal_s": ideal_s,
        "completion_s": completion,
        "vs_ideal": completion / ideal_s,
        "started": len(landed),
        "api_calls": len(calls),
        "http_429": sum(1 for c in calls if c.status == 429),
        "mean_delay_s": sum(landed) / len(landed) if landed else float("inf"),
        "ideal_mean_delay_s": ideal_s * (shifts - 1) / shifts / 2,
        "first_s": landed[0] if landed else None,
        "peak_calls_in_1s": max(per_second.values(), default=0),
        "enqueue_s": enqueue_s,
        "results": results,
    }
