"""bench.redis_count and bench.redis_work: round trips and commands as issue 20 defines them.

A real process (``tests/bench/chatter.py``) run under the counting wrapper makes a SET, a
pipeline of three commands and an EVAL against the real Redis: three round trips, five
commands sent, and (seen by the server) one more GET run by the script.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bench import redis_count
from bench.redis_work import RedisWork, Window, per_unit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def work(redis_client: redis.Redis, tmp_path: Path) -> Iterator[RedisWork]:
    yield RedisWork(redis_client, tmp_path / "counts", [])
    redis_count.uninstall()


def test_one_round_trip_per_exchange_and_the_scripts_commands_on_the_server(
    work: RedisWork, redis_url: str, namespace: str, tmp_path: Path
) -> None:
    out = tmp_path / "counts"
    argv = redis_count.wrap_argv(out, "tests.bench.chatter", redis_url, namespace)
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == b"ready"
        work.pids = [proc.pid]
        before = work.snapshot()
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == b"done"
        window = work.window(before, work.snapshot())
    finally:
        proc.kill()
        proc.wait(10)
    assert window.round_trips == 3
    assert window.sent == {"set": 3, "get": 1, "eval": 1}
    # Other users of a shared test Redis may add to the server's counts, never take away.
    for name, at_least in {"set": 3, "get": 2, "eval": 1}.items():
        assert window.executed.get(name, 0) >= at_least


def test_the_bench_processes_own_commands_are_not_counted(
    work: RedisWork, redis_client: redis.Redis, namespace: str
) -> None:
    before = work.snapshot()
    for i in range(50):
        redis_client.set(f"{namespace}:own:{i}", i)
    window = work.window(before, work.snapshot())
    # Only other users of a shared Redis could leave SETs in the window; not these 50.
    assert window.executed.get("set", 0) < 50
    assert window.executed.get("info", 0) == 0


def test_net_figures_take_the_idle_rate_out_and_raw_ones_keep_it() -> None:
    idle = Window(2.0, {"evalsha": 20.0, "zadd": 4.0}, {"evalsha": 20.0}, 20.0)
    measured = Window(
        5.0,
        {"evalsha": 250.0, "zadd": 10.0, "get": 300.0},
        {"evalsha": 250.0, "get": 100.0},
        200.0,
    )
    figures = per_unit(measured, idle, units=100)
    assert figures["commands_raw"] == pytest.approx(5.6)
    assert figures["commands"] == pytest.approx((560 - 50 - 10) / 100)
    assert figures["round_trips_raw"] == pytest.approx(2.0)
    assert figures["round_trips"] == pytest.approx((200 - 50) / 100)
    assert figures["commands_sent"] == pytest.approx((350 - 50) / 100)
    assert figures["idle_commands_per_s"] == pytest.approx(12.0)
    assert figures["top_commands"][0] == ["get", 3.0]
