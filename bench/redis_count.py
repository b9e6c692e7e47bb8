"""Count the Redis commands and round trips a process makes, from inside that process.

Redis counts the commands it executes (``INFO commandstats``) but not round trips: one
request/reply exchange may carry one command, a whole pipeline or ``MULTI``/``EXEC`` block,
or an ``EVALSHA`` that runs many commands on the server. redis-py writes every such exchange
with exactly one call of ``Connection.send_packed_command`` (``send_command`` for a single
command, ``Pipeline.execute`` for a pipeline or transaction, the ``PING`` of a health check
too), so that call is counted as one round trip, and the command names are counted where
they are packed (``send_command`` and ``pack_commands``). Server-side counters cannot make
that distinction (per-connection ``tot-cmds`` counts commands, byte counters count bytes).

The counting is bench code, not worker code: a benchmark starts a process as

    python -m bench.redis_count OUT_DIR -m worker.cli worker

which patches redis-py (sync and asyncio) in this process, then runs the module as
``__main__`` with the rest of the arguments. A daemon thread writes the running totals to
``OUT_DIR/<pid>.json`` every ``INTERVAL_S`` (atomically, with the wall-clock time of the
write), so the bench can read a snapshot taken after any instant (:func:`read`) without
stopping or signalling the process. ``install()`` counts the calling process itself (the
bench subtracts its own polling from the server's figures that way).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio.connection as aconn
import redis.connection as conn

__all__ = ["INTERVAL_S", "Tally", "Totals", "install", "main", "read", "uninstall", "wrap_argv"]

INTERVAL_S = 0.1


@dataclass
class Totals:
    """Commands by (lower-case) name and round trips; subtractable and addable."""

    commands: Counter[str] = field(default_factory=Counter)
    round_trips: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.commands + other.commands, self.round_trips + other.round_trips)

    def __sub__(self, other: Totals) -> Totals:
        commands = Counter(self.commands)
        commands.subtract(other.commands)
        kept = Counter({name: n for name, n in commands.items() if n})
        return Totals(kept, self.round_trips - other.round_trips)

    @property
    def command_count(self) -> int:
        return sum(self.commands.values())

    def to_json(self) -> dict[str, Any]:
        return {"round_trips": self.round_trips, "commands": dict(self.commands)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Totals:
        return cls(Counter({str(k): int(v) for k, v in data["commands"].items()}),
                   int(data["round_trips"]))  # fmt: skip


@dataclass
class Tally:
    """This process's running totals (thread-safe)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _totals: Totals = field(default_factory=Totals)

    def command(self, name: object) -> None:
        """Count one command by its top-level name (``SCRIPT LOAD`` counts as ``script``, as
        ``INFO commandstats`` would name it before the ``|``)."""
        key = name.decode() if isinstance(name, bytes) else str(name)
        key = key.split(" ", 1)[0].lower()
        with self._lock:
            self._totals.commands[key] += 1

    def commands(self, commands: Iterable[Any]) -> None:
        for args in commands:
            self.command(args[0])

    def round_trip(self) -> None:
        with self._lock:
            self._totals.round_trips += 1

    def snapshot(self) -> Totals:
        with self._lock:
            return Totals(Counter(self._totals.commands), self._totals.round_trips)


_installed: Tally | None = None
_originals: list[tuple[Any, str, Any]] = []


def install() -> Tally:
    """Patch redis-py's connections (once per process) to count into the returned tally."""
    global _installed
    if _installed is not None:
        return _installed
    tally = Tally()
    for module in (conn, aconn):
        _patch(module.AbstractConnection, tally)
    _installed = tally
    return tally


def uninstall() -> None:
    """Undo :func:`install` (for a test that must leave the process as it found it)."""
    global _installed
    while _originals:
        cls, name, original = _originals.pop()
        setattr(cls, name, original)
    _installed = None


def _patch(cls: Any, tally: Tally) -> None:
    send_packed, send_command, pack_commands = (
        cls.send_packed_command,
        cls.send_command,
        cls.pack_commands,
    )
    is_async = cls is aconn.AbstractConnection
    for name in ("send_packed_command", "send_command", "pack_commands"):
        _originals.append((cls, name, getattr(cls, name)))

    def counted_pack_commands(self: Any, commands: Any) -> Any:
        commands = list(commands)
        tally.commands(commands)
        return pack_commands(self, commands)

    if is_async:

        async def a_send_packed(self: Any, *args: Any, **kwargs: Any) -> Any:
            tally.round_trip()
            return await send_packed(self, *args, **kwargs)

        async def a_send_command(self: Any, *args: Any, **kwargs: Any) -> Any:
            tally.command(args[0])
            return await send_command(self, *args, **kwargs)

        cls.send_packed_command, cls.send_command = a_send_packed, a_send_command
    else:

        def s_send_packed(self: Any, *args: Any, **kwargs: Any) -> Any:
            tally.round_trip()
            return send_packed(self, *args, **kwargs)

        def s_send_command(self: Any, *args: Any, **kwargs: Any) -> Any:
            tally.command(args[0])
            return send_command(self, *args, **kwargs)

        cls.send_packed_command, cls.send_command = s_send_packed, s_send_command
    cls.pack_commands = counted_pack_commands


def _writer(tally: Tally, out: Path) -> Callable[[], None]:
    path = out / f"{os.getpid()}.json"
    tmp = out / f".{os.getpid()}.json.tmp"

    def loop() -> None:
        while True:
            payload = {"pid": os.getpid(), "at": time.time(), **tally.snapshot().to_json()}
            tmp.write_text(json.dumps(payload))
            tmp.replace(path)
            time.sleep(INTERVAL_S)

    return loop


def read(out: Path, pids: Iterable[int], *, after: float, timeout_s: float = 10.0) -> Totals:
    """The sum of the processes' totals, each written after wall-clock time ``after``."""
    wanted = set(pids)
    deadline = time.monotonic() + timeout_s
    found: dict[int, Totals] = {}
    while time.monotonic() < deadline:
        for pid in wanted - found.keys():
            try:
                data = json.loads((out / f"{pid}.json").read_text())
            except (OSError, ValueError):
                continue
            if data["at"] > after:
                found[pid] = Totals.from_json(data)
        if found.keys() == wanted:
            return sum(found.values(), Totals())
        time.sleep(INTERVAL_S / 2)
    missing = sorted(wanted - found.keys())
    raise RuntimeError(f"no Redis counts written after the snapshot time by pid(s) {missing}")


def wrap_argv(out: Path, module: str, *args: str) -> list[str]:
    """The argv that runs ``python -m module args`` with its Redis traffic counted into
    ``out``."""
    return [sys.executable, "-m", "bench.redis_count", str(out), "-m", module, *args]


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[2] != "-m":
        raise SystemExit("usage: python -m bench.redis_count OUT_DIR -m MODULE [ARGS ...]")
    out, module = Path(sys.argv[1]), sys.argv[3]
    out.mkdir(parents=True, exist_ok=True)
    tally = install()
    threading.Thread(target=_writer(tally, out), name="redis-count", daemon=True).start()
    sys.argv = [module, *sys.argv[4:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
