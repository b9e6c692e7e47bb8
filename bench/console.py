"""The console's pages with 1,000 people and a day of events: milliseconds per page.

    uv run python -m bench.console [--people 1000] [--runs 15] [--redis-url URL]

A rules directory of ``--people`` people (the shipped rules and sources), and in Redis under a
throw-away ``bench-console-<hex>`` namespace: a working day per person recorded through the real
outcome log (badge in, lunch out and back, badge out, the 19:00 end-of-day fire; some starts
already tracking, some expired or failed), the known tracker state of everyone, planned
calendar shifts for tomorrow, 100 dead letters and 5,000 ingress entries. Every page is then
rendered through the real ASGI app (Starlette + Jinja2, in process, no network), ``--runs``
times after two warm-ups; the table gives the median, p95 and max per page. Target: every page
under 200 ms. Redis: ``--redis-url``, else ``AUTOCLOCK_TEST_REDIS_URL``, else a redis-server of
its own. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import redis
from starlette.testclient import TestClient

from bench.common import machine, namespace, percentile
from bench.rules_eval import write_directory
from worker.console.app import create_console_app
from worker.console.core import Console
from worker.logs import configure_logging
from worker.models import Action, Outcome, Result, Trigger, TriggerKind, Verb
from worker.pipeline.dlq import DeadLetters
from worker.pipeline.outcomes import OutcomeLog
from worker.pipeline.state import TrackerState
from worker.rules.load import load_ruleset
from worker.scheduler.fires import Fire
from worker.scheduler.plans import PlanStore
from worker.settings import Settings
from worker.store import Keys

BERLIN = ZoneInfo("Europe/Berlin")
TARGET_MS = 200.0


def _day_of(email: str, day: date, rng: random.Random) -> list[Outcome]:
    def at(hour: int, minute: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)

    plan = [
        (at(8, rng.randrange(30, 59)), TriggerKind.BADGE_IN, "webhook:kisi-hq", Verb.START),
        (at(12, 30), TriggerKind.BADGE_OUT, "webhook:kisi-hq", Verb.STOP),
        (at(13, 15), TriggerKind.BADGE_IN, "webhook:kisi-hq", Verb.START),
        (at(17, rng.randrange(0, 59)), TriggerKind.BADGE_OUT, "webhook:kisi-hq", Verb.STOP),
        (at(19, 0), TriggerKind.TICK, "schedule:end-of-day", None),
    ]
    outcomes = []
    for n, (when, kind, source, verb) in enumerate(plan):
        roll = rng.random()
        if verb is None:
            result = Result.NO_RULE
        elif roll < 0.03:
            result = Result.EXPIRED
        elif roll < 0.05:
            result = Result.FAILED
        elif roll < 0.10:
            result = Result.ALREADY_TRACKING if verb is Verb.START else Result.NOT_TRACKING
        else:
            result = Result.STARTED if verb is Verb.START else Result.STOPPED
        outcomes.append(
            Outcome(
                result=result,
                reason=f"rule 'badge-{'in' if verb is Verb.START else 'out'}': synthetic",
                trigger_id=f"bench:{email}:{n}",
                delivery_id=f"bench-{email}-{n}",
                source=source,
                kind=kind,
                subject=email,
                occurred_at=when,
                person=email,
                verb=verb,
                rule="badge-in" if verb is Verb.START else "badge-out",
            )
        )
    return outcomes


def populate(client: redis.Redis, keys: Keys, emails: list[str], day: date, seed: int) -> int:
    rng = random.Random(seed)
    log = OutcomeLog(client, keys)
    state = TrackerState(client, keys, ttl_s=900)
    count = 0
    for email in emails:
        for outcome in _day_of(email, day, rng):
            log.record(outcome)
            count += 1
        state.set(email, tracking=rng.random() < 0.5, at=datetime.now(UTC), source="autoclock")
    tomorrow = day + timedelta(days=1)
    fires = []
    for email in emails:
        start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=BERLIN)
        for kind, when in (
            (TriggerKind.SHIFT_START, start),
            (TriggerKind.SHIFT_END, start + timedelta(hours=8)),
        ):
            trigger = Trigger(
                id=f"calendar:team-shifts:{email}:{when.isoformat()}:{kind.value}",
                source="calendar:team-shifts",
                kind=kind,
                subject=email,
                occurred_at=when,
            )
            fires.append(Fire(at=when.astimezone(UTC), trigger=trigger, email=email))
    PlanStore(client, keys).replace(
        "team-shifts", fires, now=datetime.now(UTC), grace=timedelta(minutes=15)
    )
    letters = DeadLetters(client, keys)
    for i, email in enumerate(emails[:100]):
        trigger = Trigger(
            id=f"bench-dlq-{i}",
            source="webhook:kisi-hq",
            kind=TriggerKind.BADGE_IN,
            subject=email,
            occurred_at=datetime.now(UTC),
        )
        action = Action(
            trigger=trigger,
            delivery_id=f"bench-dlq-{i:08d}",
            person=email,
            verb=Verb.START,
            rule="badge-in",
        )
        letters.add(action, Result.FAILED, "gave up after 6 attempts: 503")
    pipe = client.pipeline(transaction=False)
    for i in range(5_000):
        pipe.xadd(
            keys("ingress"),
            {
                "decision": "ignored",
                "status": "200",
                "reason": "debounced",
                "source": "kisi-hq",
                "subject": f"BADGE{i % len(emails):06d}",
                "at": f"{time.time():.3f}",
            },
        )
    pipe.execute()
    return count


def measure(client: TestClient, path: str, runs: int) -> dict[str, float]:
    for _ in range(2):
        assert client.get(path).status_code == 200, path
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, path
    samples.sort()
    return {
        "median_ms": statistics.median(samples),
        "p95_ms": percentile(samples, 95),
        "max_ms": samples[-1],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    ap.add_argument("--people", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--redis-url", default=os.environ.get("AUTOCLOCK_TEST_REDIS_URL"))
    args = ap.parse_args(argv)
    configure_logging("console", "warning")
    work = Path(tempfile.mkdtemp(prefix="bench-console-"))
    own = None
    if args.redis_url is None:
        from worker.redisserver import RedisServer

        own = RedisServer.start(work / "redis", config={"save": "", "appendonly": "no"})
    url = own.url if own is not None else args.redis_url
    day = date(2026, 12, 2)
    try:
        rules = write_directory(work / "rules", args.people, args.seed)
        with namespace(url, "console") as ns:
            client = redis.Redis.from_url(url)
            keys = Keys(ns)
            started = time.perf_counter()
            events = populate(
                client, keys, [f"person{i}@example.com" for i in range(args.people)], day, args.seed
            )
            print(
                f"populated {events} outcomes for {args.people} people "
                f"in {time.perf_counter() - started:.1f} s"
            )
            settings = Settings(redis_url=url, namespace=ns, rules_dir=rules)
            ruleset = load_ruleset(rules, default_timezone="UTC")
            console = Console(settings, client, ruleset)
            someone = f"person{args.people // 2}@example.com"
            pages = {
                "Now": "/now",
                "Now (group filter)": "/now?group=night-shift",
                "Person's day": f"/people/{someone}?date={day}",
                "Outcomes": "/outcomes",
                "Outcomes (result=failed)": "/outcomes?result=failed",
                "Outcomes (person)": f"/outcomes?person={someone}",
                "Outcomes live rows": "/outcomes/rows",
                "Dead letters": "/dead-letters",
                "Health": "/health",
                "Rules": "/rules",
                "Rules (explain)": (
                    f"/rules?kind=badge_in&subject={someone}&source=webhook:kisi-hq&at={day}T08:55"
                ),
            }
            results = {}
            with TestClient(create_console_app(console), base_url="http://127.0.0.1") as http:
                for name, path in pages.items():
                    results[name] = measure(http, path, args.runs)
            client.close()
        facts = machine()
        load = os.getloadavg()[0]
        print(
            f"\nconsole pages, {args.people} people, {events} outcomes of one day "
            f"({facts['cpu']}, {facts['cores']} cores, Python {facts['python']}, "
            f"load average {load:.1f})\n"
        )
        print(f"| page | median ms | p95 ms | max ms | < {TARGET_MS:.0f} ms |")
        print("|---|---:|---:|---:|---|")
        worst = 0.0
        for name, r in results.items():
            worst = max(worst, r["p95_ms"])
            verdict = "PASS" if r["p95_ms"] < TARGET_MS else "MISS"
            print(
                f"| {name} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.1f} "
                f"| {verdict} |"
            )
        return 0 if worst < TARGET_MS else 1
    finally:
        if own is not None:
            own.stop()


if __name__ == "__main__":
    sys.exit(main())
