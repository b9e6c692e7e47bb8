"""The admin listener of each long-running command (``worker``, ``webhooks``, ``scheduler``,
``run``): what its ``/healthz`` and ``/readyz`` check, and where it listens.

To serve more on every admin listener (the console), return the routes from
:func:`admin_routes`; nothing else needs to change.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import click
import redis
from starlette.routing import BaseRoute

from worker.admin import AdminServer, Check, Health, create_admin_app
from worker.admin.metrics import metrics_renderer
from worker.cli._common import listen_or_exit
from worker.errors import ConfigError
from worker.logs import get_logger
from worker.metrics import Designation, process_metrics
from worker.pipeline.runtime import Pipeline
from worker.pipeline.webwork_check import WebWorkCheck
from worker.rules.live import current_warnings
from worker.scheduler.loop import Scheduler
from worker.settings import Settings
from worker.store import Keys, fail_fast

__all__ = [
    "Admin",
    "admin_listener_or_exit",
    "admin_routes",
    "redis_health",
    "rules_health",
    "scheduler_health",
    "start_admin_or_exit",
    "webwork_health",
    "worker_health",
]

log = get_logger(__name__)

#: A scheduler whose loop has not completed an iteration for this long is not alive
#: (at least this; five ticks when the tick is longer).
SCHEDULER_STALL_S = 60.0


def admin_routes(settings: Settings, client: redis.Redis, keys: Keys) -> list[BaseRoute]:
    """Routes every admin listener serves beside ``/healthz``, ``/readyz`` and ``/metrics``
    (Starlette ``Route``/``Mount`` objects, e.g. ``Mount("/console", routes=...)``): the
    console at ``/console`` (see :func:`worker.cli.console.console_mount`)."""
    from worker.cli.console import console_mount

    return console_mount(settings, client)


def redis_health(client: redis.Redis) -> Check:
    client = fail_fast(client)  # a hung Redis: 503 within a second, not after retries

    def check() -> Health:
        try:
            client.ping()
        except (redis.RedisError, OSError) as exc:
            return Health([f"redis unreachable ({type(exc).__name__})"])
        return Health()

    return check


def worker_health(pipeline: Pipeline) -> Check:
    """Alive: every Dramatiq thread runs and Redis answers."""
    return lambda: Health(pipeline.problems())


def scheduler_health(scheduler: Scheduler, tick_s: float) -> Check:
    """Alive: the scheduler loop completed an iteration recently (leading or not)."""
    limit = max(SCHEDULER_STALL_S, 5 * tick_s)

    def check() -> Health:
        stalled = scheduler.stalled_s()
        if stalled > limit:
            return Health([f"scheduler loop stalled for {stalled:.0f} s (limit {limit:.0f} s)"])
        return Health()

    return check


def rules_health() -> Health:
    """Warnings (never a failure) while a rules edit could not be loaded (hot reload)."""
    return Health(warnings=current_warnings())


def webwork_health(check: WebWorkCheck) -> Check:
    """Ready once WebWork answered the start-up check (see worker/pipeline/webwork_check.py)."""

    def health() -> Health:
        reason = check.reason()
        return Health([reason] if reason else [])

    return health


def admin_listener_or_exit(settings: Settings) -> socket.socket:
    """The admin listener's socket, bound now: exit 3 naming AUTOCLOCK_ADMIN_PORT if the
    address cannot be used (call it before starting threads or an embedded Redis)."""
    return listen_or_exit(settings.admin_host, settings.admin_port, "AUTOCLOCK_ADMIN_PORT")


def all_of(checks: Sequence[Check]) -> Check:
    def check() -> Health:
        total = Health()
        for one in checks:
            total = total + one()
        return total

    return check


@dataclass
class Admin:
    server: AdminServer
    designation: Designation

    @property
    def alive(self) -> Callable[[], bool]:
        return self.server.alive

    def stop(self) -> None:
        self.designation.release()
        self.server.stop()


def start_admin_or_exit(
    settings: Settings,
    client: redis.Redis,
    *,
    roles: Sequence[str],
    liveness: Sequence[Check],
    readiness: Sequence[Check],
    listener: socket.socket | None = None,
) -> Admin:
    """Serve the admin listener on ``listener`` (see :func:`admin_listener_or_exit`; bind it
    before starting anything else), or bind it now; exit 3 naming the setting if it cannot."""
    from worker.cli import EXIT_CONFIG

    keys = Keys(settings.namespace)
    metrics = process_metrics()
    for role in roles:
        metrics.role(role)
    render, designation = metrics_renderer(client, keys, process=metrics)
    app = create_admin_app(
        liveness=all_of(liveness),
        readiness=all_of([*readiness, rules_health]),
        metrics=render,
        extra_routes=admin_routes(settings, client, keys),
    )
    try:
        server = AdminServer(app, settings.admin_host, settings.admin_port, sock=listener).start()
    except ConfigError as exc:
        click.echo(f"autoclock: AUTOCLOCK_ADMIN_HOST/AUTOCLOCK_ADMIN_PORT: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    log.info("admin listening", address=f"{settings.admin_host}:{server.port}", roles=list(roles))
    return Admin(server, designation)
