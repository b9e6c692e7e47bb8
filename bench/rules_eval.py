"""Part 5 (rules half): rule evaluation time per trigger with a 10,000-person directory.

The shipped example rules and sources (``rules/``: five rules with groups, weekday and time
windows, holidays, leave and tracking conditions, a night shift across midnight) with a
generated directory of ``people`` people (badges, vendor ids, groups, Berlin time, DE-BE
holidays). Each trigger is resolved to its person (by badge, vendor id or email, as the
worker does) and evaluated with offline facts (real holiday calendars, leave and tracking
state given), timed per trigger with ``perf_counter``.
"""

from __future__ import annotations

import random
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bench.common import ROOT, percentile
from worker.models import Trigger, TriggerKind
from worker.rules.evaluate import evaluate
from worker.rules.facts import StaticFacts
from worker.rules.load import load_ruleset

__all__ = ["run", "write_directory"]


def write_directory(target: Path, people: int, seed: int) -> Path:
    """The shipped rules and sources with a generated ``people.yaml`` of ``people`` people."""
    rng = random.Random(seed)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "rules" / "rules.yaml", target / "rules.yaml")
    shutil.copy(ROOT / "rules" / "sources.yaml", target / "sources.yaml")
    shutil.copytree(ROOT / "rules" / "calendars", target / "calendars", dirs_exist_ok=True)
    entries = []
    for i in range(people):
        entries.append(
            {
                "email": f"person{i}@example.com",
                "name": f"Person {i}",
                "user_id": 100_000 + i,
                "subdivision": "BE",
                "badges": [f"BADGE{i:06d}"],
                "vendor_ids": {"kisi-hq": str(500_000 + i)},
                "calendars": ["team-shifts"],
                "groups": ["night-shift"] if rng.random() < 0.2 else ["office"],
            }
        )
    directory = {
        "defaults": {"timezone": "Europe/Berlin", "country": "DE"},
        "groups": ["office", "night-shift"],
        "people": entries,
    }
    (target / "people.yaml").write_text(yaml.safe_dump(directory, sort_keys=False))
    return target


def _triggers(n: int, people: int, seed: int) -> list[Trigger]:
    rng = random.Random(seed)
    week = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; the week of 2026-03-02
    out = []
    for k in range(n):
        i = rng.randrange(people)
        at = week + timedelta(minutes=rng.randrange(7 * 24 * 60))
        choice = rng.randrange(4)
        if choice == 0:
            kind, source, subject = TriggerKind.BADGE_IN, "webhook:kisi-hq", f"BADGE{i:06d}"
        elif choice == 1:
            kind, source, subject = TriggerKind.BADGE_OUT, "webhook:kisi-hq", str(500_000 + i)
        elif choice == 2:
            kind, source = TriggerKind.SHIFT_START, "calendar:team-shifts"
            subject = f"person{i}@example.com"
        else:
            kind, source = TriggerKind.TICK, "schedule:end-of-day"
            subject = f"person{i}@example.com"
        out.append(
            Trigger(
                id=f"rules-{k}",
                source=source,
                kind=kind,
                subject=subject,
                occurred_at=at,
                attributes={"door": "Main Entrance"},
            )
        )
    return out


def run(*, people: int, triggers: int, seed: int, workdir: Path) -> dict[str, Any]:
    rules_dir = write_directory(workdir / "rules-eval", people, seed)
    t = time.perf_counter()
    ruleset = load_ruleset(rules_dir)
    load_s = time.perf_counter() - t
    rng = random.Random(seed)
    facts = StaticFacts(
        leave={f"person{i}@example.com": rng.random() < 0.03 for i in range(people)},
        tracking={f"person{i}@example.com": rng.random() < 0.5 for i in range(people)},
    )
    sample = _triggers(triggers, people, seed)
    now = datetime(2026, 3, 9, tzinfo=UTC)
    directory = ruleset.directory
    for trigger in sample[:200]:  # warm caches (holiday calendars per year)
        person = directory.resolve(trigger.subject, source=trigger.source)
        if person is not None:
            evaluate(trigger, person, ruleset, now=now, facts=facts)
    times: list[float] = []
    decided = 0
    for trigger in sample:
        t = time.perf_counter()
        person = directory.resolve(trigger.subject, source=trigger.source)
        decision = (
            evaluate(trigger, person, ruleset, now=now, facts=facts) if person is not None else None
        )
        times.append((time.perf_counter() - t) * 1000)
        decided += decision is not None and decision.verb is not None
    ordered = sorted(times)
    return {
        "people": len(directory.people),
        "rules": len(ruleset.rules),
        "triggers": triggers,
        "load_s": load_s,
        "mean_ms": sum(times) / len(times),
        "p50_ms": percentile(ordered, 50),
        "p99_ms": percentile(ordered, 99),
        "decided_share": decided / triggers,
    }
