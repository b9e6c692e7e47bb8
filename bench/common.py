"""Shared plumbing: machine facts, a throw-away Redis namespace, child processes, RSS sampling."""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import redis
import yaml

from tests.ports import free_port
from worker.sandbox.seed import Seed

__all__ = [
    "ROOT",
    "Child",
    "RssSampler",
    "autoclock_exe",
    "free_port",
    "machine",
    "namespace",
    "percentile",
    "start_child",
    "wait_for",
    "wait_for_port",
    "write_seed",
]

ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict[str, Any]:
    """CPU model, cores, Python and OS of this run (for the table's header)."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
    }


@contextmanager
def namespace(url: str, label: str) -> Iterator[str]:
    """A fresh AUTOCLOCK_NAMESPACE; every key under it is deleted afterwards (never a flush)."""
    ns = f"bench-{label}-{uuid.uuid4().hex[:8]}"
    try:
        yield ns
    finally:
        client = redis.Redis.from_url(url)
        try:
            batch: list[bytes] = []
            for key in client.scan_iter(match=f"{ns}*", count=2000):
                batch.append(key)
                if len(batch) >= 1000:
                    client.delete(*batch)
                    batch.clear()
            if batch:
                client.delete(*batch)
        finally:
            client.close()


def wait_for(predicate: Any, *, timeout_s: float, interval_s: float = 0.05, what: str) -> None:
    """Poll ``predicate()`` until true; RuntimeError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise RuntimeError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def wait_for_port(port: int, *, timeout_s: float = 20.0, child: Child | None = None) -> None:
    def listening() -> bool:
        if child is not None and child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode}: {child.tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    wait_for(listening, timeout_s=timeout_s, what=f"port {port}")


def autoclock_exe() -> str:
    """The ``autoclock`` console script of this venv (run directly: no ``uv run`` parent)."""
    beside = Path(sys.executable).with_name("autoclock")
    found = str(beside) if beside.exists() else shutil.which("autoclock")
    if not found:
        raise RuntimeError("the autoclock command is not installed in this environment")
    return found


@dataclass
class Child:
    """A child process whose output goes to a log file (read back on failure)."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_child(name: str, argv: list[str], *, env: Mapping[str, str], logs: Path) -> Child:
    """Start ``argv`` with ``env`` added to this environment; stdout+stderr to ``logs/name.log``."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
        )
    return Child(name, proc, log)


@dataclass
class RssSampler:
    """Samples the resident set size of some processes every ``interval_s`` in a thread."""

    pids: list[int]
    interval_s: float = 0.1
    peak: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssSampler:
        procs = [psutil.Process(pid) for pid in self.pids]

        def run() -> None:
            while not self._stop.is_set():
                for proc in procs:
                    try:
                        rss = int(proc.memory_info().rss)
                    except psutil.Error:
                        continue
                    self.peak[proc.pid] = max(self.peak.get(proc.pid, 0), rss)
                self._stop.wait(self.interval_s)

        self._thread = threading.Thread(target=run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)

    @property
    def max_mb(self) -> float:
        return max(self.peak.values(), default=0) / 2**20


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of already sorted values, nearest rank."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def write_seed(path: Path, people: int) -> Path:
    """``Seed.synthetic(people)`` as YAML for ``autoclock sandbox --seed``."""
    path.write_text(yaml.safe_dump(Seed.synthetic(people).model_dump(mode="json")))
    return path
