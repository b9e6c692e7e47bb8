"""``autoclock run``: worker, webhook server and scheduler in one process, for one site."""

from __future__ import annotations

import threading

import click
import uvicorn

from worker.admin import Health
from worker.cli import EXIT_UNAVAILABLE
from worker.cli._admin import (
    admin_listener_or_exit,
    scheduler_health,
    start_admin_or_exit,
    webwork_health,
    worker_health,
)
from worker.cli._common import (
    listen_or_exit,
    pipeline_or_exit,
    redis_or_exit,
    ruleset_or_exit,
    secrets_or_exit,
    settings_or_exit,
    threads_option,
    wait_for_signal,
    webwork_or_exit,
)
from worker.cli._live import live_rules
from worker.cli._notify import notifier_health, notifier_or_exit
from worker.logs import get_logger
from worker.scheduler.loop import Scheduler
from worker.webhooks.app import create_app

__all__ = ["COMMANDS"]

log = get_logger(__name__)


@click.command("run")
@threads_option
@click.option(
    "--host", default=None, help="Webhook server address (default AUTOCLOCK_WEBHOOK_HOST)."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Webhook server port (default AUTOCLOCK_WEBHOOK_PORT).",
)
def run_command(threads: int | None, host: str | None, port: int | None) -> None:
    """Run everything in one process: the worker, the webhook server and the scheduler.

    With no REDIS_URL an embedded Redis is started under AUTOCLOCK_DATA_DIR, so one machine
    with only Python runs a whole site. Stops cleanly on SIGTERM/SIGINT.
    """
    settings = settings_or_exit()
    ruleset = ruleset_or_exit(settings)
    secrets_or_exit(settings, ruleset)
    bind_host = host or settings.webhook_host
    bind_port = settings.webhook_port if port is None else port
    listener = listen_or_exit(bind_host, bind_port)
    admin_listener = admin_listener_or_exit(settings)
    handle = redis_or_exit(settings, embedded="own")
    check = webwork_or_exit(settings, cleanup=handle.close)
    notifier = notifier_or_exit(settings, handle.client, ruleset, cleanup=handle.close)
    pipeline = pipeline_or_exit(settings, handle, ruleset)
    pipeline.start(threads or settings.worker_threads)
    notifier.start(settings.notify_threads)

    stop = threading.Event()
    scheduler = Scheduler(settings, handle, ruleset, pipeline.queue)
    scheduler_thread = threading.Thread(target=scheduler.run, args=(stop,), name="scheduler")
    scheduler_thread.start()

    keys = pipeline.context.keys
    app = create_app(
        settings,
        client=handle.client,
        keys=keys,
        sources=ruleset.sources,
        directory=ruleset.directory,
        queue=pipeline.queue,
    )
    live = live_rules(settings, ruleset, stop)
    live.subscribe(lambda rs: setattr(pipeline.context, "ruleset", rs))
    live.subscribe(lambda rs: setattr(scheduler, "ruleset", rs))
    live.subscribe(lambda rs: setattr(notifier, "ruleset", rs))
    live.subscribe(lambda rs: app.state.receiver.use_rules(rs.sources, rs.directory))
    server = uvicorn.Server(
        uvicorn.Config(app, host=bind_host, port=bind_port, log_config=None, access_log=False)
    )
    server_thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="webhooks"
    )
    server_thread.start()

    def webhooks_alive() -> Health:
        return Health() if server_thread.is_alive() else Health(["the webhook server stopped"])

    admin = start_admin_or_exit(
        settings,
        handle.client,
        roles=["worker", "webhooks", "scheduler"],
        liveness=[
            worker_health(pipeline),
            scheduler_health(scheduler, settings.scheduler_tick_s),
            webhooks_alive,
            notifier_health(notifier),
        ],
        readiness=[app.state.readiness, webwork_health(check)],
        listener=admin_listener,
    )
    log.info(
        "autoclock running",
        redis=handle.description,
        webwork=settings.webwork_base_url,
        webhooks=f"{bind_host}:{bind_port}",
        admin=f"{settings.admin_host}:{admin.server.port}",
        namespace=settings.namespace,
        people=len(ruleset.directory.people),
    )
    signalled = True
    try:
        signalled = wait_for_signal(lambda: pipeline.healthy() and server_thread.is_alive())
        if not signalled:
            log.critical(
                "lost Redis, a worker thread or the webhook server; exiting so a supervisor "
                "restarts autoclock"
            )
    finally:
        log.info("autoclock stopping")
        server.should_exit = True
        stop.set()
        server_thread.join(timeout=15)
        scheduler_thread.join(timeout=15)
        notifier.stop()
        pipeline.stop()
        admin.stop()
        check.stop()
        handle.close()
        listener.close()
    if not signalled:
        raise SystemExit(EXIT_UNAVAILABLE)


COMMANDS = [run_command]
