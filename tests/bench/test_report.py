"""bench.report: issue 20's figures are in the table, both sides shown, verdicts at the
targets' edges."""

from __future__ import annotations

from typing import Any

from bench.report import rows, table


def _redis(commands: float, round_trips: float) -> dict[str, Any]:
    return {
        "commands": commands,
        "commands_raw": commands + 1,
        "commands_sent": commands / 2,
        "round_trips": round_trips,
        "round_trips_raw": round_trips + 0.5,
        "idle_commands_per_s": 100.0,
        "idle_round_trips_per_s": 30.0,
        "top_commands": [["evalsha", 2.0], ["get", 1.0]],
    }


def _results(
    commands: float, round_trips: float, retained: float, idle_p50: float
) -> dict[str, Any]:
    latency = {"p50_ms": idle_p50, "p99_ms": 40.0, "matched": 10, "deliveries": 10,
               "target_per_s": 10.0, "sent_per_s": 10.0}  # fmt: skip
    return {
        "machine": {"cpu": "cpu", "cores": 2, "memory_gb": 1, "os": "os", "python": "3.11"},
        "started_at": "now",
        "seconds": 1.0,
        "command": "bench",
        "pipeline": {
            "ratio": 0.5,
            "autoclock": {
                "per_s": 500.0,
                "triggers": 100,
                "seconds": 0.2,
                "peak_rss_mb": 90.0,
                "redis": _redis(commands, round_trips),
            },
            "bare_dramatiq": {
                "per_s": 1000.0,
                "messages": 100,
                "seconds": 0.1,
                "peak_rss_mb": 40.0,
                "redis": _redis(6.0, 1.0),
            },
        },
        "e2e": {
            "accepted": 10,
            "people": 5,
            "load_rate_from": "70% of part 1",
            "idle": latency,
            "load": {**latency, "p50_ms": 80.0},
            "memory": {
                "retained_bytes_per_trigger": retained,
                "bytes_per_trigger": retained + 100,
                "namespace_bytes_per_trigger": retained - 100,
                "classes": {"outcomes": {"bytes_per_trigger": 500.0, "max_ttl_s": -1}},
            },
        },
    }


def _verdicts(results: dict[str, Any]) -> dict[str, str]:
    return {row[0]: row[-1] for row in rows(results)}


def test_targets_met_at_their_edges_pass() -> None:
    verdicts = _verdicts(_results(20.0, 6.0, 1000.0, 20.0))
    assert verdicts["1 Pipeline throughput"] == "PASS"
    assert verdicts["1 Redis commands per trigger"] == "PASS"
    assert verdicts["1 Redis round trips per trigger"] == "PASS"
    assert verdicts["6 Redis memory retained"] == "PASS"
    assert verdicts["6 202 → WebWork call, idle"] == "PASS"


def test_targets_missed_just_past_their_edges_miss() -> None:
    verdicts = _verdicts(_results(20.1, 6.1, 1001.0, 20.1))
    assert verdicts["1 Redis commands per trigger"] == "MISS"
    assert verdicts["1 Redis round trips per trigger"] == "MISS"
    assert verdicts["6 Redis memory retained"] == "MISS"
    assert verdicts["6 202 → WebWork call, idle"] == "MISS"


def test_the_table_shows_both_sides_and_where_the_commands_go() -> None:
    text = table(_results(30.0, 8.0, 2000.0, 50.0))
    assert "per message bare Dramatiq" in text
    assert "raw 31.0" in text
    assert "evalsha 2" in text
    assert "outcomes 500 B (no TTL)" in text
