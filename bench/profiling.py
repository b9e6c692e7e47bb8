"""``--profile``: sample a child process with py-spy while a part runs, and summarise.

py-spy is run through ``uvx`` (not a project dependency); without it the run goes on
unprofiled and says so. The raw collapsed stacks are kept in ``bench/results/`` and the
summary lists the functions with the largest share of samples (inclusive and self), over
the threads that were running (py-spy leaves idle threads out).
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["Sampler", "summarise"]


class Sampler:
    """``with Sampler(pid, out):`` records ``pid`` with py-spy until the block ends."""

    def __init__(self, pid: int, out: Path, *, rate: int = 100) -> None:
        self.pid = pid
        self.out = out
        self.rate = rate
        self.proc: subprocess.Popen[bytes] | None = None
        self.error: str | None = None

    def __enter__(self) -> Sampler:
        uvx = shutil.which("uvx")
        if uvx is None:
            self.error = "uvx not found: install uv to profile with py-spy"
            return self
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [uvx, "py-spy", "record", "--pid", str(self.pid), "--rate", str(self.rate),
             "--format", "raw", "--output", str(self.out), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(2)  # SIGINT: py-spy writes what it has and exits
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        if not self.out.exists():
            self.error = f"py-spy wrote nothing: {err.decode(errors='replace')[-300:]}"


def _name(frame: str) -> str:
    """``func (path/to/file.py:12)`` → ``func (file.py)``."""
    func, _, where = frame.partition(" (")
    return f"{func} ({where.split(':')[0].rsplit('/', 1)[-1]})" if where else func


def summarise(path: Path, top: int = 25) -> dict[str, Any]:
    """The top functions by inclusive and by self share of the samples in ``path``."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_name(f) for f in stack.split(";")]
        for name in set(frames):
            inclusive[name] += n
        own[frames[-1]] += n
    if not total:
        return {"samples": 0}

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {"samples": total, "inclusive_pct": share(inclusive), "self_pct": share(own)}
