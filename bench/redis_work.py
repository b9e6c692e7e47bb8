"""Redis work per trigger: commands (the server's count), commands sent and round trips (the
clients' count), net of what idle workers cost.

Two counters, each the right one for its figure:

- **Commands executed**: ``INFO commandstats`` of the server, by name. It counts every command
  Redis runs, including those a Lua script runs (an ``EVALSHA`` that does a ``GET`` and a
  ``SET`` counts 3), so it is the server's real work; on a Redis shared with other users it
  counts their commands too (run the bench on a Redis of its own: the default).
- **Commands sent and round trips**: counted inside the measured processes by
  :mod:`bench.redis_count` (a script counts once there; a pipeline is one round trip).

The bench's own traffic between two snapshots (its polls, ``INFO`` itself) is counted the
same way in this process and subtracted from the server's figure, name by name.

Idle workers are not idle for Redis: Dramatiq's consumers poll every queue, heartbeats and
maintenance run, whatever the load. :meth:`RedisWork.idle` measures that rate before the run;
:func:`per_unit` reports each figure both **net** (less the idle rate times the window: the
work the triggers cause) and **raw** (everything in the window, divided by the triggers).
Net slightly under-counts (a busy consumer polls less than an idle one), raw over-counts.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from bench import redis_count
from bench.redis_count import Totals

__all__ = ["RedisWork", "Snapshot", "Window", "commandstats", "per_unit"]

TOP = 10


def commandstats(client: redis.Redis) -> Counter[str]:
    """Calls per command since the server started, by top-level name (``client|setinfo`` is
    counted as ``client``, as the clients' counter names it)."""
    info: dict[str, dict[str, Any]] = client.info("commandstats")
    calls: Counter[str] = Counter()
    for key, stats in info.items():
        name = key.removeprefix("cmdstat_").split("|", 1)[0].lower()
        calls[name] += int(stats["calls"])
    return calls


@dataclass(frozen=True)
class Snapshot:
    at: float
    server: Counter[str]
    clients: Totals
    own: Totals


@dataclass(frozen=True)
class Window:
    """What happened between two snapshots, the bench's own commands taken out."""

    seconds: float
    executed: dict[str, float]
    sent: dict[str, float]
    round_trips: float

    def minus(self, rate: Window, seconds: float) -> Window:
        """This window less ``rate`` (an idle window) scaled to ``seconds``."""
        k = seconds / rate.seconds

        def less(mine: dict[str, float], idle: dict[str, float]) -> dict[str, float]:
            return {n: mine.get(n, 0) - idle.get(n, 0) * k for n in mine.keys() | idle.keys()}

        return Window(
            self.seconds,
            less(self.executed, rate.executed),
            less(self.sent, rate.sent),
            self.round_trips - rate.round_trips * k,
        )


class RedisWork:
    """Snapshots of the server's and the counted processes' Redis traffic."""

    def __init__(self, client: redis.Redis, counts: Path, pids: list[int]) -> None:
        self.client = client
        self.counts = counts
        self.pids = pids
        self._own = redis_count.install()

    def snapshot(self) -> Snapshot:
        at = time.time()
        own = self._own.snapshot()  # before the INFO below: the server counts it in the next
        server = commandstats(self.client)
        clients = redis_count.read(self.counts, self.pids, after=at)
        return Snapshot(at, server, clients, own)

    @staticmethod
    def window(a: Snapshot, b: Snapshot) -> Window:
        executed = Counter(b.server)
        executed.subtract(a.server)
        executed.subtract((b.own - a.own).commands)
        clients = b.clients - a.clients
        return Window(
            b.at - a.at,
            {n: float(v) for n, v in executed.items() if v},
            {n: float(v) for n, v in clients.commands.items()},
            float(clients.round_trips),
        )

    def idle(self, seconds: float) -> Window:
        """The workers' traffic over ``seconds`` of doing nothing."""
        a = self.snapshot()
        time.sleep(seconds)
        return self.window(a, self.snapshot())


def per_unit(measured: Window, idle: Window, units: int) -> dict[str, Any]:
    """Per trigger (or message): net of the idle rate and raw, plus the top commands (net)."""
    net = measured.minus(idle, measured.seconds)

    def top(counts: dict[str, float]) -> list[list[Any]]:
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:TOP]
        return [[name, round(n / units, 2)] for name, n in ranked]

    return {
        "units": units,
        "window_s": round(measured.seconds, 3),
        "commands": sum(net.executed.values()) / units,
        "commands_raw": sum(measured.executed.values()) / units,
        "commands_sent": sum(net.sent.values()) / units,
        "commands_sent_raw": sum(measured.sent.values()) / units,
        "round_trips": net.round_trips / units,
        "round_trips_raw": measured.round_trips / units,
        "idle_commands_per_s": sum(idle.executed.values()) / idle.seconds,
        "idle_round_trips_per_s": idle.round_trips / idle.seconds,
        "top_commands": top(net.executed),
        "top_commands_raw": top(measured.executed),
        "top_commands_sent": top(net.sent),
    }
