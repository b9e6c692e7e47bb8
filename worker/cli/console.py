"""``autoclock console`` (a process whose admin listener serves the console),
:func:`console_mount` (the console on every admin listener) and ``autoclock review``."""

from __future__ import annotations

import json
from datetime import date, datetime

import click
import redis
from starlette.routing import BaseRoute, Mount

from worker.cli._common import (
    redis_or_exit,
    ruleset_or_exit,
    settings_or_exit,
    wait_for_signal,
)
from worker.clock import utcnow
from worker.console.access import check_binding
from worker.console.app import create_console_app
from worker.console.core import Console
from worker.console.day import gather_days
from worker.console.review import review
from worker.errors import ConfigError, RulesError
from worker.logs import get_logger
from worker.rules.load import load_ruleset
from worker.settings import Settings

__all__ = ["COMMANDS", "CONSOLE_PATH", "console_mount", "console_url"]

log = get_logger(__name__)

#: Where the console is mounted on the admin listener.
CONSOLE_PATH = "/console"


def console_url(host: str, port: int) -> str:
    """The console's address on an admin listener at ``host:port``."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - display only
    return f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}{CONSOLE_PATH}/"


def console_mount(settings: Settings, client: redis.Redis) -> list[BaseRoute]:
    """The console for an admin listener on ``AUTOCLOCK_ADMIN_HOST``.

    Off loopback without console credentials it is not mounted (the role keeps its health
    checks; a warning names the variables); ``autoclock console`` refuses instead (exit 3).
    """
    try:
        check_binding(settings, settings.admin_host)
        ruleset = load_ruleset(settings.rules_dir, default_timezone=settings.timezone)
    except ConfigError as exc:
        log.warning("console not served on the admin listener", reason=str(exc))
        return []
    except RulesError:
        return []  # the role itself reports its rules problems
    app = create_console_app(Console(settings, client, ruleset))
    return [Mount(CONSOLE_PATH, app=app, name="console")]


@click.command("console")
@click.option("--host", default=None, help="Address (default AUTOCLOCK_ADMIN_HOST).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port (default AUTOCLOCK_ADMIN_PORT).",
)
def console_command(host: str | None, port: int | None) -> None:
    """Serve the web console (at /console on this process's admin listener): who is tracking,
    each person's day, outcomes, dead letters, health and rules.

    Read-only unless AUTOCLOCK_CONSOLE_ACTIONS=true. Off loopback it needs
    AUTOCLOCK_CONSOLE_TOKEN or AUTOCLOCK_CONSOLE_USER/_PASSWORD, else it exits 3.
    """
    from worker.cli import EXIT_CONFIG
    from worker.cli._admin import redis_health, start_admin_or_exit

    settings = settings_or_exit()
    update: dict[str, object] = {}
    if host is not None:
        update["admin_host"] = host
    if port is not None:
        update["admin_port"] = port
    settings = settings.model_copy(update=update)
    try:
        check_binding(settings, settings.admin_host)
    except ConfigError as exc:
        click.echo(f"autoclock: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    ruleset_or_exit(settings)
    handle = redis_or_exit(settings)
    admin = start_admin_or_exit(
        settings,
        handle.client,
        roles=["console"],
        liveness=[redis_health(handle.client)],
        readiness=[],
    )
    url = console_url(settings.admin_host, admin.server.port)
    log.info("console listening", url=url)
    click.echo(f"autoclock console: {url}")
    try:
        wait_for_signal(admin.alive)
    finally:
        admin.stop()
        handle.close()


@click.command("review")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="The day (each person's own local date).",
)
@click.option("--person", "email", default=None, help="Only this person (email).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per flag per line.")
def review_command(day: datetime, email: str | None, as_json: bool) -> None:
    """Review flags for a day: what a payroll clerk should look at (the console's flags).

    Exit 0 whether or not there are flags; the flags are the output.
    """
    settings = settings_or_exit()
    ruleset = ruleset_or_exit(settings)
    people = list(ruleset.directory.people)
    if email is not None:
        person = ruleset.directory.by_email(email)
        if person is None:
            raise click.BadParameter(
                f"nobody called {email!r} in people.yaml", param_hint="--person"
            )
        people = [person]
    with redis_or_exit(settings) as handle:
        days = gather_days(
            handle.client,
            handle.keys,
            ruleset,
            people,
            date(day.year, day.month, day.day),
            scan_limit=settings.history_maxlen,
        )
    now = utcnow()
    rows = [(d, f) for d in days.values() for f in review(d, now)]
    if as_json:
        for d, f in rows:
            click.echo(json.dumps(f.as_json(d.person.email)))
        return
    if not rows:
        click.echo(f"no review flags for {day:%Y-%m-%d} ({len(people)} people)")
        return
    for d, f in rows:
        local = f.at.astimezone(d.person.zone).strftime("%H:%M")
        click.echo(f"{d.person.email}  {local}  {f.code}  {f.message}")


COMMANDS = [console_command, review_command]
