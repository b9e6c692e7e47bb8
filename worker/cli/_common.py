"""Helpers shared by the CLI modules: settings and logging once, errors as exit codes."""

from __future__ import annotations

import errno
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import click
import redis

from worker.errors import ConfigError, RulesError
from worker.logs import configure_logging, register_secrets
from worker.pipeline.runtime import Pipeline, build_pipeline
from worker.pipeline.webwork_check import WebWorkCheck
from worker.rules.load import load_ruleset
from worker.rules.ruleset import Ruleset
from worker.settings import Settings, load_settings, secret_problem, webhook_secret_env
from worker.store import Embedded, RedisHandle, connect, redacted_url

__all__ = [
    "echo_table",
    "listen_or_exit",
    "pipeline_or_exit",
    "redis_or_exit",
    "ruleset_or_exit",
    "secrets_or_exit",
    "settings_or_exit",
    "threads_option",
    "wait_for_signal",
    "webwork_or_exit",
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


def ruleset_or_exit(settings: Settings, directory: Path | None = None) -> Ruleset:
    """Load the rules (``directory``, default ``AUTOCLOCK_RULES_DIR``); on any problem print
    every one as ``file:line: reason`` and exit 3.

    The one loader of every command that needs valid rules, so they refuse alike. Calendar
    feed URLs (they may carry a token) are registered as secrets before anything is logged.
    """
    from worker.cli import EXIT_CONFIG

    directory = directory or settings.rules_dir
    try:
        ruleset = load_ruleset(directory, default_timezone=settings.timezone)
    except RulesError as exc:
        click.echo(
            f"autoclock: {len(exc.problems)} problem(s) in the rules in {directory}:", err=True
        )
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    register_secrets([c.url for c in ruleset.sources.calendars if c.url])
    return ruleset


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


def redis_or_exit(settings: Settings, *, embedded: Embedded = "shared") -> RedisHandle:
    """Connect to Redis (or use the embedded one, as ``embedded`` allows).

    Exit 3 when the configuration cannot work (REDIS_URL unset for a role that needs it, an
    unusable data directory), 4 when Redis does not answer.
    """
    from worker.cli import EXIT_CONFIG, EXIT_UNAVAILABLE

    try:
        handle = connect(settings, embedded=embedded)
    except ConfigError as exc:
        click.echo(f"autoclock: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    except OSError as exc:
        click.echo(f"autoclock: the embedded Redis did not start: {exc}", err=True)
        raise SystemExit(EXIT_UNAVAILABLE) from None
    try:
        handle.client.ping()
    except (redis.RedisError, OSError) as exc:
        handle.close()
        click.echo(
            f"autoclock: Redis at {handle.description} is unavailable ({type(exc).__name__}: "
            f"{redacted_url(str(exc))})",
            err=True,
        )
        raise SystemExit(EXIT_UNAVAILABLE) from None
    return handle


def secrets_or_exit(settings: Settings, ruleset: Ruleset) -> None:
    """Refuse placeholder or short webhook secrets of the configured sources (exit 3)."""
    from worker.cli import EXIT_CONFIG

    for source in ruleset.sources.webhooks:
        for secret in settings.webhook_secrets(source.name):
            problem = secret_problem(secret.get_secret_value())
            if problem is not None:
                click.echo(f"autoclock: {webhook_secret_env(source.name)}: {problem}", err=True)
                raise SystemExit(EXIT_CONFIG)


def webwork_or_exit(
    settings: Settings, *, cleanup: Callable[[], None] | None = None
) -> WebWorkCheck:
    """One authenticated call to WebWork: a refused token or a wrong URL exits 3 (after
    ``cleanup``); no answer starts the process not ready (the check keeps trying and warns)."""
    from worker.cli import EXIT_CONFIG

    check = WebWorkCheck(settings)
    try:
        check.start()
    except ConfigError as exc:
        if cleanup is not None:
            cleanup()
        click.echo(f"autoclock: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    return check


def listen_or_exit(host: str, port: int, variable: str = "AUTOCLOCK_WEBHOOK_PORT") -> socket.socket:
    """A listening socket on ``host:port``; a port in use (or an address this host does not
    have) exits 3 with one line naming ``variable``."""
    from worker.cli import EXIT_CONFIG

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _name, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        click.echo(f"autoclock: {variable}: cannot listen on {host}:{port} ({exc})", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        why = (
            "is already in use by another process"
            if exc.errno == errno.EADDRINUSE
            else f"cannot be used ({exc.strerror or exc})"
        )
        click.echo(f"autoclock: {variable}: {host}:{port} {why}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    sock.set_inheritable(True)
    return sock


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
