"""Run the benchmarks: ``uv run python -m bench.run`` (``--help`` for the flags).

Prints one table (autoclock beside its baseline, PASS/MISS per target), writes the full
results to ``bench/results/<time>.json`` (and ``latest.json``) and, after a run of all six
parts, the table into ``docs/benchmarks.md`` and ``README.md`` between their markers.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # ``python bench/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import burst, e2e, economy, ingress, pipeline, rules_eval
from bench.common import ROOT, machine
from bench.report import table, write_docs

__all__ = ["main"]

PARTS = ("1", "2", "3", "4", "5", "6")

#: Part 6's load without part 1 in the same run (with it: 70 % of part 1's throughput).
FALLBACK_LOAD_RATE = 200.0
LOAD_SHARE = 0.7


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    ap.add_argument("--parts", default="1,2,3,4,5,6", help="Which parts, e.g. 1,3 (default all).")
    ap.add_argument(
        "--redis-url",
        default=os.environ.get("AUTOCLOCK_TEST_REDIS_URL") or None,
        help="A Redis to use (default AUTOCLOCK_TEST_REDIS_URL; unset: start a redis-server of"
        " its own for the run).",
    )
    ap.add_argument("--processes", type=int, default=2, help="Worker processes (parts 1, 3, 4).")
    ap.add_argument("--threads", type=int, default=8, help="Threads per worker process.")
    ap.add_argument(
        "--redis-idle",
        type=float,
        default=3.0,
        help="Seconds of idle workers watched for the Redis baseline (parts 1, 6).",
    )
    g = ap.add_argument_group("1 pipeline")
    g.add_argument("--triggers", type=int, default=20_000, help="Triggers (and no-op messages).")
    g = ap.add_argument_group("2 ingress")
    g.add_argument("--ingress-seconds", type=float, default=10.0, help="Measured, per side.")
    g.add_argument("--ingress-rounds", type=int, default=2, help="Alternating slices per side.")
    g.add_argument("--warmup", type=float, default=1.0, help="Unmeasured seconds per slice.")
    g.add_argument("--concurrency", type=int, default=8, help="Keep-alive connections.")
    g.add_argument("--ingress-people", type=int, default=10_000)
    g = ap.add_argument_group("3 economy")
    g.add_argument("--economy-people", type=int, default=1_000)
    g.add_argument("--copies", type=int, default=3, help="Deliveries of every trigger.")
    g = ap.add_argument_group("4 burst")
    g.add_argument("--shifts", type=int, default=300, help="Shift starts at one instant.")
    g.add_argument("--burst-rpm", type=int, default=1_200, help="Sandbox rpm = WEBWORK_RPM.")
    g = ap.add_argument_group("5 rules")
    g.add_argument("--rules-people", type=int, default=10_000)
    g.add_argument("--rules-triggers", type=int, default=20_000)
    g = ap.add_argument_group("6 end to end")
    g.add_argument("--e2e-idle", type=int, default=200, help="Deliveries one at a time ...")
    g.add_argument("--e2e-idle-seconds", type=float, default=20.0, help="... spaced over this.")
    g.add_argument(
        "--e2e-load-rate",
        type=float,
        default=0.0,
        help="Deliveries/s under load (default: 70%% of part 1's throughput in this run, or"
        f" {FALLBACK_LOAD_RATE:g}/s without part 1).",
    )
    g.add_argument("--e2e-load-seconds", type=float, default=10.0, help="Length of the load.")
    ap.add_argument("--seed", type=int, default=7, help="Seed of every random choice.")
    ap.add_argument(
        "--quick", action="store_true", help="Small sizes (a smoke run of about a minute)."
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="Sample a worker (part 1) and the webhook server (part 2) with py-spy (via uvx).",
    )
    ap.add_argument("--no-docs", action="store_true", help="Do not update docs/benchmarks.md.")
    ap.add_argument(
        "--keep-logs", action="store_true", help="Keep the child processes' logs (path printed)."
    )
    args = ap.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown:
        ap.error(f"unknown part(s) {', '.join(unknown)}: choose from 1-6")
    if args.quick:
        args.triggers, args.ingress_seconds, args.economy_people = 2_000, 2.0, 200
        args.shifts, args.rules_people, args.rules_triggers = 60, 2_000, 2_000
        args.e2e_idle, args.e2e_idle_seconds, args.e2e_load_seconds = 50, 5.0, 3.0
        args.redis_idle = 2.0
    return args


def load_rate(args: argparse.Namespace, results: dict[str, Any]) -> float:
    """Part 6's load: the flag, else 70 % of part 1's throughput, else the fallback."""
    if args.e2e_load_rate > 0:
        return float(args.e2e_load_rate)
    if "pipeline" in results:
        return LOAD_SHARE * float(results["pipeline"]["autoclock"]["per_s"])
    return FALLBACK_LOAD_RATE


def rate_source(args: argparse.Namespace, results: dict[str, Any]) -> str:
    if args.e2e_load_rate > 0:
        return "--e2e-load-rate"
    return "70% of part 1" if "pipeline" in results else "fixed, part 1 not run"


def step(name: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {name} ...", flush=True)


def print_profiles(results: dict[str, Any], top: int = 12) -> None:
    """The top of each py-spy profile taken (``--profile``)."""
    for part, side in (("pipeline", "autoclock"), ("ingress", "autoclock")):
        summary = results.get(part, {}).get(side, {}).get("profile") or results.get(part, {}).get(
            "profile"
        )
        if summary is None:
            continue
        print(f"\nprofile of {part} ({'worker 0' if part == 'pipeline' else 'webhooks'}):")
        if isinstance(summary, str):
            print(f"  {summary}")
            continue
        print(f"  {summary['samples']} samples; self time:")
        for name, pct in summary["self_pct"][:top]:
            print(f"  {pct:5.1f}%  {name}")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(
            ["uv run python -m bench.run", shlex.join(sys.argv[1:] if argv is None else argv)]
        ).strip(),
        "machine": machine(),
        "args": {k: v for k, v in vars(args).items() if k != "redis_url"},
    }
    workdir = Path(tempfile.mkdtemp(prefix="autoclock-bench-"))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results"
    prof = out / f"profile-{stamp}" if args.profile else None
    logs = workdir / "logs"
    own_redis = None
    if args.redis_url is None:
        from worker.redisserver import RedisServer

        own_redis = RedisServer.start(workdir / "redis", config={"save": "", "appendonly": "no"})
        step(f"own Redis: {own_redis.binary.describe()}")
    url = own_redis.url if own_redis is not None else args.redis_url
    try:
        if "1" in args.parts:
            step(f"1 pipeline: {args.triggers:,} triggers vs bare Dramatiq")
            results["pipeline"] = pipeline.run(
                url,
                n=args.triggers,
                processes=args.processes,
                threads=args.threads,
                workdir=workdir,
                logs=logs,
                profile=prof / "worker.txt" if prof else None,
                idle_s=args.redis_idle,
            )
        if "2" in args.parts:
            step(f"2 ingress: {args.ingress_seconds:g} s per side")
            results["ingress"] = ingress.run(
                url,
                people=args.ingress_people,
                concurrency=args.concurrency,
                warmup_s=args.warmup,
                duration_s=args.ingress_seconds,
                rounds=args.ingress_rounds,
                workdir=workdir,
                logs=logs,
                profile=prof / "webhooks.txt" if prof else None,
            )
        if "3" in args.parts:
            step(f"3 economy: {args.economy_people:,} people, every trigger x{args.copies}")
            results["economy"] = economy.run(
                url,
                people=args.economy_people,
                copies=args.copies,
                processes=args.processes,
                threads=args.threads,
                seed=args.seed,
                workdir=workdir,
                logs=logs,
            )
        if "4" in args.parts:
            step(f"4 burst: {args.shifts} shift starts at {args.burst_rpm} rpm")
            results["burst"] = burst.run(
                url,
                shifts=args.shifts,
                rpm=args.burst_rpm,
                processes=args.processes,
                threads=args.threads,
                workdir=workdir,
                logs=logs,
            )
        if "5" in args.parts:
            step(f"5 rules: {args.rules_people:,} people (worker RSS comes from part 1)")
            results["rules"] = rules_eval.run(
                people=args.rules_people,
                triggers=args.rules_triggers,
                seed=args.seed,
                workdir=workdir,
            )
        if "6" in args.parts:
            rate = load_rate(args, results)
            step(
                f"6 end to end: {args.e2e_idle} deliveries over {args.e2e_idle_seconds:g} s, then"
                f" {rate:,.0f}/s for {args.e2e_load_seconds:g} s"
            )
            results["e2e"] = e2e.run(
                url,
                idle_n=args.e2e_idle,
                idle_s=args.e2e_idle_seconds,
                load_rate=rate,
                load_s=args.e2e_load_seconds,
                processes=args.processes,
                threads=args.threads,
                workdir=workdir,
                logs=logs,
                redis_idle_s=args.redis_idle,
            )
            results["e2e"]["load_rate_from"] = rate_source(args, results)
    finally:
        if own_redis is not None:
            own_redis.stop()
        if args.keep_logs:
            print(f"logs kept in {logs}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    results["seconds"] = time.perf_counter() - started
    text = table(results)
    print()
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    print_profiles(results)
    payload = json.dumps(results, indent=2, default=str)
    (out / f"{stamp}.json").write_text(payload)
    (out / "latest.json").write_text(payload)
    print(f"\nresults: bench/results/{stamp}.json")
    if not args.no_docs and set(args.parts) == set(PARTS) and not args.quick:
        for page in (ROOT / "docs" / "benchmarks.md", ROOT / "README.md"):
            write_docs(page, results)
        print("table written to docs/benchmarks.md and README.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
