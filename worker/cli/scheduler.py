"""``autoclock scheduler`` (leader-elected scheduler) and ``autoclock simulate`` (shadow day)."""

from __future__ import annotations

import signal
import threading
from datetime import date, datetime
from pathlib import Path
from types import FrameType

import click

from worker.errors import RulesError
from worker.logs import get_logger, register_secrets
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.rules.load import load_ruleset
from worker.rules.ruleset import Ruleset
from worker.scheduler.clock import Clock, SimulatedClock, SystemClock
from worker.scheduler.loop import Scheduler
from worker.scheduler.simulate import render, simulate_day
from worker.settings import Settings
from worker.store import Keys

from ._admin import (
    admin_listener_or_exit,
    redis_health,
    scheduler_health,
    start_admin_or_exit,
)
from ._common import redis_or_exit, settings_or_exit
from ._live import live_rules

__all__ = ["COMMANDS", "scheduler", "simulate"]

log = get_logger(__name__)


def _ruleset_or_exit(settings: Settings, rules_dir: Path | None) -> Ruleset:
    from worker.cli import EXIT_CONFIG

    directory = rules_dir or settings.rules_dir
    try:
        ruleset = load_ruleset(directory, default_timezone=settings.timezone)
    except RulesError as exc:
        click.echo(f"autoclock: invalid rules in {directory}:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    register_secrets([c.url for c in ruleset.sources.calendars if c.url])
    return ruleset


def _clock(start: str | None, speed: float, epoch: float | None) -> Clock:
    if start is None:
        if speed != 1.0 or epoch is not None:
            raise click.UsageError("--clock-speed and --clock-epoch need --clock-start")
        return SystemClock()
    try:
        instant = datetime.fromisoformat(start)
    except ValueError:
        raise click.BadParameter(
            f"not an ISO 8601 instant: {start!r}", param_hint="--clock-start"
        ) from None
    if instant.tzinfo is None:
        raise click.BadParameter(
            "give an offset, e.g. 2026-03-29T07:00:00+00:00", param_hint="--clock-start"
        )
    if speed <= 0:
        raise click.BadParameter("must be positive", param_hint="--clock-speed")
    return SimulatedClock(instant, speed, epoch=epoch)


@click.command("scheduler")
@click.option(
    "--rules-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Rules directory (default: AUTOCLOCK_RULES_DIR).",
)
@click.option(
    "--clock-start",
    hidden=True,
    help="Simulation/testing only: start a simulated clock at this ISO instant.",
)
@click.option(
    "--clock-speed",
    type=float,
    default=1.0,
    hidden=True,
    help="Simulation/testing only: simulated seconds per real second.",
)
@click.option(
    "--clock-epoch",
    type=float,
    default=None,
    hidden=True,
    help="Simulation/testing only: the Unix time at which the simulated clock reads --clock-start"
    " (lets several processes share one simulated clock; default: process start).",
)
def scheduler(
    rules_dir: Path | None, clock_start: str | None, clock_speed: float, clock_epoch: float | None
) -> None:
    """Run the scheduler: cron schedules and calendar feeds, turned into triggers.

    Several replicas may run on one Redis: one leads (a Redis lock), each fire is claimed once.
    Runs until SIGTERM or SIGINT. /healthz, /readyz and /metrics on
    AUTOCLOCK_ADMIN_HOST:AUTOCLOCK_ADMIN_PORT.
    """

    clock = _clock(clock_start, clock_speed, clock_epoch)
    settings = settings_or_exit()
    ruleset = _ruleset_or_exit(settings, rules_dir)
    admin_listener = admin_listener_or_exit(settings)
    handle = redis_or_exit(settings, embedded="never")
    queue = TriggerQueue(make_broker(handle.client, Keys(settings.namespace)))
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    loop = Scheduler(settings, handle, ruleset, queue, clock=clock)
    admin = start_admin_or_exit(
        settings,
        handle.client,
        roles=["scheduler"],
        liveness=[scheduler_health(loop, settings.scheduler_tick_s)],
        readiness=[redis_health(handle.client)],
        listener=admin_listener,
    )
    live = live_rules(settings, ruleset, stop)
    live.subscribe(lambda rs: setattr(loop, "ruleset", rs))
    try:
        loop.run(stop)
    finally:
        admin.stop()
        handle.close()


@click.command("simulate")
@click.option(
    "--date",
    "day",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day to simulate (each person's local day), YYYY-MM-DD.",
)
@click.option("--person", default=None, help="Only this person (email).")
@click.option(
    "--rules-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Rules directory (default: AUTOCLOCK_RULES_DIR).",
)
def simulate(day: datetime, person: str | None, rules_dir: Path | None) -> None:
    """Shadow mode: every trigger the scheduler would produce that day, and the rules' decision.

    No API calls, nothing enqueued, no Redis needed.
    """
    settings = settings_or_exit()
    ruleset = _ruleset_or_exit(settings, rules_dir)
    target: date = day.date()
    try:
        report = simulate_day(ruleset, target, person=person)
    except LookupError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--person") from None
    click.echo(render(report), nl=False)


COMMANDS: list[click.Command] = [scheduler, simulate]
