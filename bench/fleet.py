"""A sandbox plus ``autoclock worker`` processes under a throw-away namespace (parts 1, 3, 4)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import yaml

from bench import redis_count
from bench.common import (
    Child,
    autoclock_exe,
    free_port,
    namespace,
    start_child,
    wait_for,
    wait_for_port,
    write_seed,
)
from tests.pipeline.helpers import write_rules
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.sandbox.control import SandboxControl
from worker.sandbox.seed import Seed
from worker.store import Keys

__all__ = ["Fleet", "fleet", "start_workers"]


@dataclass
class Fleet:
    ns: str
    keys: Keys
    client: redis.Redis
    queue: TriggerQueue
    control: SandboxControl
    workers: list[Child]
    sandbox: Child
    env: dict[str, str]
    port: int

    def outcome_count(self) -> int:
        """Outcomes ever recorded: the stream's ``entries-added`` (Redis 7), which trimming
        the stream to a shorter length does not lower (its length would stop at the cap)."""
        try:
            info: dict[str, Any] = self.client.xinfo_stream(self.keys("outcomes"))
        except redis.ResponseError:  # no outcome yet: no stream
            return 0
        added = info.get("entries-added")
        return int(added) if added is not None else int(info["length"])

    def results(self) -> dict[str, int]:
        raw: dict[bytes, bytes] = self.client.hgetall(self.keys("metrics", "outcomes"))  # type: ignore[assignment]
        return {k.decode(): int(v) for k, v in raw.items()}


def start_workers(
    count: int,
    env: dict[str, str],
    logs: Path,
    name: str,
    argv: list[str] | None = None,
    ready: str = "worker started",
) -> list[Child]:
    """``count`` worker processes; returns once each has logged ``ready``."""
    children = [
        start_child(f"{name}-{i}", argv or [autoclock_exe(), "worker"], env=env, logs=logs)
        for i in range(count)
    ]

    def all_ready() -> bool:
        for child in children:
            if child.proc.poll() is not None:
                raise RuntimeError(f"{child.name} exited: {child.tail()}")
        return all(ready in child.log.read_text(errors="replace") for child in children)

    try:
        wait_for(all_ready, timeout_s=90, interval_s=0.1, what=f"{name} processes to start")
    except BaseException:
        for child in children:
            child.stop()
        raise
    return children


@contextmanager
def fleet(
    url: str,
    *,
    name: str,
    people: int,
    rules: dict[str, Any] | None,
    sources: dict[str, Any] | None = None,
    sandbox_rpm: int,
    webwork_rpm: int,
    processes: int,
    threads: int,
    workdir: Path,
    logs: Path,
    count_dir: Path | None = None,
) -> Iterator[Fleet]:
    """Sandbox (``Seed.synthetic(people)``, ``--rpm sandbox_rpm``) and ``processes`` workers
    (``WEBWORK_RPM=webwork_rpm``) on a fresh namespace; everything stopped and deleted after.
    ``count_dir``: run the workers under :mod:`bench.redis_count`, writing into that directory."""
    rules_dir = write_rules(workdir / f"rules-{name}", people, rules=rules)
    if sources is not None:
        (rules_dir / "sources.yaml").write_text(yaml.safe_dump(sources))
    seed = write_seed(workdir / f"seed-{name}.yaml", people)
    port = free_port()
    sandbox = start_child(
        f"sandbox-{name}",
        [
            autoclock_exe(),
            "sandbox",
            "--port",
            str(port),
            "--rpm",
            str(sandbox_rpm),
            "--seed",
            str(seed),
        ],
        env={"AUTOCLOCK_LOG_LEVEL": "warning"},
        logs=logs,
    )
    client = redis.Redis.from_url(url)
    try:
        wait_for_port(port, timeout_s=60, child=sandbox)
        with namespace(url, name) as ns, SandboxControl(f"http://127.0.0.1:{port}") as control:
            env = {
                "WEBWORK_BASE_URL": f"http://127.0.0.1:{port}/api/v2",
                "WEBWORK_TOKEN": Seed.sample().token_for_role("owner"),
                "WEBWORK_WORKSPACE_ID": "1",
                "WEBWORK_RPM": str(webwork_rpm),
                "REDIS_URL": url,
                "AUTOCLOCK_NAMESPACE": ns,
                "AUTOCLOCK_RULES_DIR": str(rules_dir),
                "AUTOCLOCK_WORKER_THREADS": str(threads),
                "AUTOCLOCK_DATA_DIR": str(workdir / "data"),
                "AUTOCLOCK_LOG_FORMAT": "json",
                "AUTOCLOCK_LOG_LEVEL": "info",
            }
            argv = (
                None
                if count_dir is None
                else redis_count.wrap_argv(count_dir, "worker.cli", "worker")
            )
            workers = start_workers(processes, env, logs, f"worker-{name}", argv=argv)
            keys = Keys(ns)
            try:
                yield Fleet(
                    ns=ns,
                    keys=keys,
                    client=client,
                    queue=TriggerQueue(make_broker(client, keys)),
                    control=control,
                    workers=workers,
                    sandbox=sandbox,
                    env=env,
                    port=port,
                )
            finally:
                for worker in workers:
                    worker.stop()
    finally:
        client.close()
        sandbox.stop()
