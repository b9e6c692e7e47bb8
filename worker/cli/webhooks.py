"""``autoclock webhooks``: serve the webhook receiver; ``webhooks log``: what it decided."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import click
import redis

from worker.admin import AdminServer, Health
from worker.cli._admin import admin_listener_or_exit, start_admin_or_exit
from worker.cli._common import (
    echo_table,
    listen_or_exit,
    redis_or_exit,
    ruleset_or_exit,
    secrets_or_exit,
    settings_or_exit,
    wait_for_signal,
)
from worker.cli._live import live_rules
from worker.cli.webhooks_try import try_command
from worker.logs import get_logger
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.webhooks.app import create_app
from worker.webhooks.ingress import IngressLog

__all__ = ["COMMANDS"]

log = get_logger(__name__)


@click.group("webhooks", invoke_without_command=True)
@click.option("--host", default=None, help="Address to bind (default AUTOCLOCK_WEBHOOK_HOST).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port to bind (default AUTOCLOCK_WEBHOOK_PORT).",
)
@click.pass_context
def webhooks(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve POST /hooks/<source> (one process, uvicorn).

    /healthz, /readyz and /metrics are on AUTOCLOCK_ADMIN_HOST:AUTOCLOCK_ADMIN_PORT.

    Refuses to start on invalid settings or rules (exit 3) or without Redis (exit 4).
    Secrets come from AUTOCLOCK_WEBHOOK_SECRET_<SOURCE>; see docs/webhooks.md.
    """
    if ctx.invoked_subcommand is not None:
        return
    from worker.cli import EXIT_UNAVAILABLE

    settings = settings_or_exit()
    ruleset = ruleset_or_exit(settings)
    secrets_or_exit(settings, ruleset)
    bind_host = host or settings.webhook_host
    bind_port = settings.webhook_port if port is None else port
    server_listener = listen_or_exit(bind_host, bind_port)
    admin_listener = admin_listener_or_exit(settings)
    handle = redis_or_exit(settings, embedded="never")
    keys = handle.keys
    app = create_app(
        settings,
        client=handle.client,
        keys=keys,
        sources=ruleset.sources,
        directory=ruleset.directory,
        queue=TriggerQueue(make_broker(handle.client, keys)),
    )
    receiver = app.state.receiver
    stop = threading.Event()
    live = live_rules(settings, ruleset, stop)
    live.subscribe(lambda rs: receiver.use_rules(rs.sources, rs.directory))
    server = AdminServer(app, bind_host, bind_port, name="webhooks", sock=server_listener)

    def serving() -> Health:
        return Health() if server.alive() else Health(["the webhook server stopped"])

    admin = start_admin_or_exit(
        settings,
        handle.client,
        roles=["webhooks"],
        liveness=[serving],
        readiness=[app.state.readiness],
        listener=admin_listener,
    )
    server.start()
    log.info(
        "webhooks serving",
        host=bind_host,
        port=server.port,
        redis=handle.description,
        sources=[s.name for s in ruleset.sources.webhooks],
    )
    signalled = True
    try:
        signalled = wait_for_signal(server.alive)
        if not signalled:
            log.critical("the webhook server stopped; exiting so a supervisor restarts it")
    finally:
        stop.set()
        server.stop(timeout_s=15)
        admin.stop()
        handle.close()
    if not signalled:
        raise SystemExit(EXIT_UNAVAILABLE)


@webhooks.command("log")
@click.option(
    "-n",
    "count",
    type=click.IntRange(1, 100_000),
    default=20,
    show_default=True,
    help="How many of the newest entries.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def log_command(count: int, as_json: bool) -> None:
    """Print the newest ingress decisions (accepted, duplicate, ignored …), oldest first."""
    settings = settings_or_exit()
    handle = redis_or_exit(settings)
    try:
        entries = IngressLog(handle.client, handle.keys).tail(count)
    except redis.RedisError as exc:
        from worker.cli import EXIT_UNAVAILABLE

        click.echo(f"autoclock: Redis is unavailable ({type(exc).__name__})", err=True)
        raise SystemExit(EXIT_UNAVAILABLE) from None
    finally:
        handle.close()
    if as_json:
        for entry in entries:
            click.echo(json.dumps(entry, sort_keys=True))
        return
    rows = []
    for entry in entries:
        at = float(entry.get("at") or 0)
        rows.append(
            {
                **entry,
                "time": datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S") if at else "",
            }
        )
    echo_table(rows, ["time", "source", "status", "decision", "event_id", "trigger_id", "reason"])


webhooks.add_command(try_command)

COMMANDS: list[click.Command] = [webhooks]
