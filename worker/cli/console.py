"""``autoclock console`` (the web console on its own listener) and ``autoclock review``."""

from __future__ import annotations

import json
import threading
from datetime import date

import click
import redis
import uvicorn

from worker.cli._common import redis_or_exit, ruleset_or_exit, settings_or_exit
from worker.console.access import check_binding
from worker.console.app import create_console_app
from worker.console.core import Console
from worker.console.day import gather_days
from worker.console.review import review
from worker.errors import ConfigError
from worker.logs import get_logger
from worker.models import utcnow
from worker.rules.ruleset import Ruleset
from worker.settings import Settings
from worker.store import Keys

__all__ = ["COMMANDS", "ConsoleServer", "console_binding_or_exit", "console_url"]

log = get_logger(__name__)


def console_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - display only
    return f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}"


def console_binding_or_exit(settings: Settings, host: str | None = None) -> str:
    """The console's address; exit 3 (one line) if it is off loopback without credentials."""
    from worker.cli import EXIT_CONFIG

    bind = host or settings.console_host
    try:
        check_binding(settings, bind)
    except ConfigError as exc:
        click.echo(f"autoclock: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    return bind


class ConsoleServer:
    """The console on its own listener in a thread (``autoclock run``)."""

    def __init__(
        self, settings: Settings, client: redis.Redis, ruleset: Ruleset, host: str
    ) -> None:
        self.console = Console(settings, client, ruleset)
        self.url = console_url(host, settings.console_port)
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_console_app(self.console),
                host=host,
                port=settings.console_port,
                log_config=None,
                access_log=False,
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="console")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.console.close()


@click.command("console")
@click.option("--host", default=None, help="Address (default AUTOCLOCK_CONSOLE_HOST).")
@click.option("--port", type=int, default=None, help="Port (default AUTOCLOCK_CONSOLE_PORT).")
def console_command(host: str | None, port: int | None) -> None:
    """Serve the web console: who is tracking, each person's day, outcomes, dead letters,
    health and rules.

    Read-only unless AUTOCLOCK_CONSOLE_ACTIONS=true. Off loopback it needs
    AUTOCLOCK_CONSOLE_TOKEN or AUTOCLOCK_CONSOLE_USER/_PASSWORD, else it exits 3.
    """
    settings = settings_or_exit()
    bind = console_binding_or_exit(settings, host)
    ruleset = ruleset_or_exit(settings)
    handle = redis_or_exit(settings)
    console = Console(settings, handle.client, ruleset)
    chosen = settings.console_port if port is None else port
    log.info("console listening", url=console_url(bind, chosen))
    try:
        uvicorn.run(
            create_console_app(console), host=bind, port=chosen, log_config=None, access_log=False
        )
    finally:
        console.close()
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
def review_command(day: object, email: str | None, as_json: bool) -> None:
    """Review flags for a day: what a payroll clerk should look at (the console's flags).

    Exit 0 whether or not there are flags; the flags are the output.
    """
    from datetime import datetime

    assert isinstance(day, datetime)
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
            Keys(settings.namespace),
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
