"""Helpers shared by the CLI modules: settings and logging once, errors as exit codes."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import click
import redis

from worker.errors import ConfigError, RulesError
from worker.logs import configure_logging, register_secrets
from worker.pipeline.runtime import Pipeline, build_pipeline
from worker.rules.load import load_ruleset
from worker.rules.ruleset import Ruleset
from worker.settings import Settings, load_settings
from worker.store import RedisHandle, connect

__all__ = [
    "echo_table",
    "pipeline_or_exit",
    "redis_or_exit",
    "ruleset_or_exit",
    "settings_or_exit",
    "threads_option",
    "wait_for_signal",
]


def settings_or_exit(**overrides: object) -> Settings:
    """Load settings and configure logging; on invalid settings print why and exit 3."""
    from worker.cli import EXIT_CONFIG

    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        click.echo(f"autoclock: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    configure_logging(settings.log_format, settings.log_level)
    token = settings.webwork_token.get_secret_value() if settings.webwork_token else None
    register_secrets([token])
    return settings


def ruleset_or_exit(settings: Settings) -> Ruleset:
    """Load the rules directory; on any problem print every one and exit 3."""
    from worker.cli import EXIT_CONFIG

    try:
        return load_ruleset(settings.rules_dir, default_timezone=settings.timezone)
    except RulesError as exc:
        click.echo(
            f"autoclock: refusing to start, {len(exc.problems)} problem(s) in "
            f"{settings.rules_dir}:",
            err=True,
        )
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(EXIT_CONFIG) from None


#: ``--threads`` of the commands that run the actors (``worker`` and ``run``).
threads_option = click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=None,
    help="Worker threads (default AUTOCLOCK_WORKER_THREADS).",
)


def pipeline_or_exit(settings: Settings, handle: RedisHandle, ruleset: Ruleset) -> Pipeline:
    """Wire the pipeline; a setting it cannot work without (the token) exits 3 with why."""
    from worker.cli import EXIT_CONFIG

    try:
        return build_pipeline(settings, handle, ruleset)
    except ConfigError as exc:
        handle.close()
        click.echo(f"autoclock: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from None


def redis_or_exit(settings: Settings) -> RedisHandle:
    """Connect to Redis (or start the embedded one); exit 4 if it does not answer."""
    from worker.cli import EXIT_UNAVAILABLE

    try:
        handle = connect(settings)
        handle.client.ping()
    except (redis.RedisError, OSError) as exc:
        click.echo(f"autoclock: Redis is unavailable ({type(exc).__name__}: {exc})", err=True)
        raise SystemExit(EXIT_UNAVAILABLE) from None
    return handle


def wait_for_signal(healthy: Callable[[], bool] | None = None) -> bool:
    """Block until SIGINT or SIGTERM (True), or until ``healthy()`` turns false (False)."""
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    while not stop.wait(1.0):
        if healthy is not None and not healthy():
            return False
    return True


def echo_table(rows: list[dict[str, str]], columns: list[str]) -> None:
    """Print ``rows`` as an aligned text table."""
    widths = {c: max([len(c)] + [len(r.get(c, "")) for r in rows]) for c in columns}
    click.echo("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        click.echo("  ".join(row.get(c, "").ljust(widths[c]) for c in columns).rstrip())
