"""The results table (markdown), the PASS/MISS verdicts, and ``docs/benchmarks.md``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["DOCS_END", "DOCS_START", "rows", "table", "write_docs"]

DOCS_START = "<!-- bench-table:start -->"
DOCS_END = "<!-- bench-table:end -->"


def _n(value: float, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def rows(results: dict[str, Any]) -> list[list[str]]:
    """One row per target: part, autoclock, baseline/ideal, ratio, target, verdict."""
    out: list[list[str]] = []
    p = results.get("pipeline")
    if p:
        a, b = p["autoclock"], p["bare_dramatiq"]
        out.append(
            [
                "1 Pipeline throughput",
                f"{_n(a['per_s'])} triggers/s ({_n(a['triggers'])} in {_n(a['seconds'], 1)} s)",
                f"{_n(b['per_s'])} msg/s bare Dramatiq no-op ({_n(b['messages'])} in "
                f"{_n(b['seconds'], 1)} s)",
                f"{p['ratio']:.2f}x",
                "≥ 0.50x",
                _verdict(p["ratio"] >= 0.5),
            ]
        )
    i = results.get("ingress")
    if i:
        a, b = i["autoclock"], i["bare_starlette"]
        out.append(
            [
                "2 Webhook ingress",
                f"{_n(a['per_s'])} req/s, p50 {_n(a['p50_ms'], 1)} ms, p99 {_n(a['p99_ms'], 1)} ms",
                f"{_n(b['per_s'])} req/s bare Starlette, p50 {_n(b['p50_ms'], 1)} ms, "
                f"p99 {_n(b['p99_ms'], 1)} ms",
                f"{i['ratio']:.2f}x",
                "≥ 0.50x",
                _verdict(i["ratio"] >= 0.5),
            ]
        )
        out.append(
            [
                "2 Webhook ingress p99",
                f"p99 {_n(a['p99_ms'], 1)} ms at {i['concurrency']} connections",
                f"p99 {_n(b['p99_ms'], 1)} ms",
                "",
                "≤ 20 ms",
                _verdict(a["p99_ms"] <= 20),
            ]
        )
    e = results.get("economy")
    if e:
        out.append(
            [
                "3 API economy",
                f"{_n(e['api_calls'])} API calls for {_n(e['state_changes'])} state changes "
                f"({_n(e['people'])} people, {_n(e['deliveries'])} deliveries)",
                f"ideal 1.00; {_n(e['expected_changes'])} changes expected",
                f"{e['calls_per_change']:.2f}",
                "= 1.00",
                _verdict(
                    round(e["calls_per_change"], 2) == 1.0
                    and e["state_changes"] == e["expected_changes"]
                ),
            ]
        )
    u = results.get("burst")
    if u:
        out.append(
            [
                "4 Burst timing",
                f"{_n(u['shifts'])} starts done in {_n(u['completion_s'], 1)} s, "
                f"{u['http_429']} x 429, mean delay {_n(u['mean_delay_s'], 1)} s",
                f"ideal {_n(u['ideal_s'], 1)} s ({u['shifts']} / {u['rpm']} rpm), 0 x 429, "
                f"mean {_n(u['ideal_mean_delay_s'], 1)} s",
                f"{u['vs_ideal']:.2f}x",
                "≤ 1.05x, 0 x 429",
                _verdict(
                    u["vs_ideal"] <= 1.05 and u["http_429"] == 0 and u["started"] == u["shifts"]
                ),
            ]
        )
    if p:
        a, b = p["autoclock"], p["bare_dramatiq"]
        out.append(
            [
                "5 Worker memory",
                f"peak RSS {_n(a['peak_rss_mb'], 1)} MB per worker process",
                f"{_n(b['peak_rss_mb'], 1)} MB bare Dramatiq worker",
                "",
                "≤ 120 MB",
                _verdict(a["peak_rss_mb"] <= 120),
            ]
        )
    r = results.get("rules")
    if r:
        out.append(
            [
                "5 Rule evaluation",
                f"{_n(r['mean_ms'] * 1000, 1)} µs per trigger (p99 {_n(r['p99_ms'] * 1000, 1)} µs)",
                f"{_n(r['people'])} people, {r['rules']} rules, {_n(r['triggers'])} triggers",
                "",
                "≤ 1 ms",
                _verdict(r["mean_ms"] <= 1.0),
            ]
        )
    return out


def table(results: dict[str, Any]) -> str:
    header = ["Part", "autoclock", "baseline / ideal", "ratio", "target", "result"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results)]
    m = results["machine"]
    lines.append("")
    lines.append(
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}, "
        f"Python {m['python']}. Run {results['started_at']} in {results['seconds']:.0f} s: "
        f"`{results['command']}`."
    )
    return "\n".join(lines)


def write_docs(path: Path, results: dict[str, Any]) -> None:
    """Replace the table between the markers in ``path`` (the rest of the page is kept)."""
    block = f"{DOCS_START}\n{table(results)}\n{DOCS_END}"
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{DOCS_START}\n{DOCS_END}\n"
    if DOCS_START not in text or DOCS_END not in text:
        text = text.rstrip() + f"\n\n{DOCS_START}\n{DOCS_END}\n"
    head, rest = text.split(DOCS_START, 1)
    _, tail = rest.split(DOCS_END, 1)
    path.write_text(head + block + tail)
