"""The results table (markdown), the PASS/MISS verdicts, and ``docs/benchmarks.md``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["DOCS_END", "DOCS_START", "notes", "rows", "table", "write_docs"]

DOCS_START = "<!-- bench-table:start -->"
DOCS_END = "<!-- bench-table:end -->"


def _n(value: float, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


#: The targets of issue 20 (and the earlier ones), one place for the table and the verdicts.
PIPELINE_RATIO = 0.5
INGRESS_RATIO = 0.5
INGRESS_P99_MS = 10.0
COMMANDS_PER_TRIGGER = 20
ROUND_TRIPS_PER_TRIGGER = 6
RETAINED_BYTES_PER_TRIGGER = 1_000
IDLE_P50_MS = 20.0


def _redis_rows(p: dict[str, Any]) -> list[list[str]]:
    """Part 1's Redis work per trigger beside bare Dramatiq's per message."""
    a, b = p["autoclock"].get("redis"), p["bare_dramatiq"].get("redis")
    if not a or not b:
        return []
    return [
        [
            "1 Redis commands per trigger",
            f"{_n(a['commands'], 1)} executed net of idle (raw {_n(a['commands_raw'], 1)}); "
            f"{_n(a['commands_sent'], 1)} sent",
            f"{_n(b['commands'], 1)} per message bare Dramatiq (raw {_n(b['commands_raw'], 1)}); "
            f"{_n(b['commands_sent'], 1)} sent",
            f"{a['commands'] / b['commands']:.1f}x" if b["commands"] > 0 else "",
            f"≤ {COMMANDS_PER_TRIGGER}",
            _verdict(a["commands"] <= COMMANDS_PER_TRIGGER),
        ],
        [
            "1 Redis round trips per trigger",
            f"{_n(a['round_trips'], 1)} net of idle (raw {_n(a['round_trips_raw'], 1)})",
            f"{_n(b['round_trips'], 1)} per message bare Dramatiq "
            f"(raw {_n(b['round_trips_raw'], 1)})",
            f"{a['round_trips'] / b['round_trips']:.1f}x" if b["round_trips"] > 0 else "",
            f"≤ {ROUND_TRIPS_PER_TRIGGER}",
            _verdict(a["round_trips"] <= ROUND_TRIPS_PER_TRIGGER),
        ],
    ]


def _e2e_rows(e: dict[str, Any]) -> list[list[str]]:
    """Part 6: retained memory, and the 202 → WebWork call latency at idle and under load."""
    m, idle, load = e["memory"], e["idle"], e["load"]
    longest = max((c["max_ttl_s"] for c in m["classes"].values()), default=-1)
    return [
        [
            "6 Redis memory retained",
            f"{_n(m['retained_bytes_per_trigger'])} B per delivery (used_memory Δ less client "
            f"buffers; raw Δ {_n(m['bytes_per_trigger'])} B; namespace keys "
            f"{_n(m['namespace_bytes_per_trigger'])} B; longest TTL {_n(longest / 86400, 1)} d)",
            f"{_n(e['accepted'])} deliveries, {_n(e['people'])} people; bare Dramatiq keeps "
            "nothing after the ack",
            "",
            f"≤ {RETAINED_BYTES_PER_TRIGGER:,} B",
            _verdict(m["retained_bytes_per_trigger"] <= RETAINED_BYTES_PER_TRIGGER),
        ],
        [
            "6 202 → WebWork call, idle",
            f"p50 {_n(idle['p50_ms'], 1)} ms, p99 {_n(idle['p99_ms'], 1)} ms "
            f"({_n(idle['matched'])} of {_n(idle['deliveries'])} matched)",
            f"one at a time, {_n(idle['target_per_s'], 1)}/s",
            "",
            f"p50 ≤ {IDLE_P50_MS:g} ms",
            _verdict(idle["p50_ms"] <= IDLE_P50_MS),
        ],
        [
            "6 202 → WebWork call, load",
            f"p50 {_n(load['p50_ms'], 1)} ms, p99 {_n(load['p99_ms'], 1)} ms "
            f"({_n(load['matched'])} of {_n(load['deliveries'])} matched)",
            f"{_n(load['target_per_s'])}/s asked ({e['load_rate_from']}), "
            f"{_n(load['sent_per_s'])}/s sent",
            "",
            "reported",
            "",
        ],
    ]


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
                f"≥ {PIPELINE_RATIO:.2f}x",
                _verdict(p["ratio"] >= PIPELINE_RATIO),
            ]
        )
        out += _redis_rows(p)
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
                f"≥ {INGRESS_RATIO:.2f}x",
                _verdict(i["ratio"] >= INGRESS_RATIO),
            ]
        )
        out.append(
            [
                "2 Webhook ingress p99",
                f"p99 {_n(a['p99_ms'], 1)} ms at {i['concurrency']} connections",
                f"p99 {_n(b['p99_ms'], 1)} ms",
                "",
                f"≤ {INGRESS_P99_MS:g} ms",
                _verdict(a["p99_ms"] <= INGRESS_P99_MS),
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
    e = results.get("e2e")
    if e:
        out += _e2e_rows(e)
    return out


def notes(results: dict[str, Any]) -> list[str]:
    """Lines under the table: where part 1's Redis commands go, what part 6 keeps."""
    lines = []
    p = results.get("pipeline", {}).get("autoclock", {}).get("redis")
    if p:
        top = ", ".join(f"{name} {n:g}" for name, n in p["top_commands"] if n >= 0.05)
        lines.append(
            f"Part 1, Redis commands executed per trigger (net of idle, scripts' own commands "
            f"included): {top}. Idle workers: {_n(p['idle_commands_per_s'])} commands/s, "
            f"{_n(p['idle_round_trips_per_s'])} round trips/s."
        )
    e = results.get("e2e")
    if e:
        classes = [
            f"{name} {_n(c['bytes_per_trigger'])} B ({_ttl(c['max_ttl_s'])})"
            for name, c in e["memory"]["classes"].items()
            if c["bytes_per_trigger"] >= 1
        ]
        lines.append(f"Part 6, namespace bytes per delivery by key class: {', '.join(classes)}.")
        w = e.get("redis")
        if w:
            lines.append(
                f"Part 6, whole path (receiver and workers) per delivery: "
                f"{_n(w['commands'], 1)} commands executed, {_n(w['round_trips'], 1)} round "
                "trips (net of idle)."
            )
    return lines


def _ttl(seconds: int) -> str:
    if seconds < 0:
        return "no TTL"
    if seconds >= 86_400:
        return f"TTL {seconds / 86_400:.0f} d"
    if seconds >= 3_600:
        return f"TTL {seconds / 3_600:.0f} h"
    return f"TTL {seconds / 60:.0f} min"


def table(results: dict[str, Any]) -> str:
    header = ["Part", "autoclock", "baseline / ideal", "ratio", "target", "result"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows(results)]
    m = results["machine"]
    for note in notes(results):
        lines += ["", note]
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
