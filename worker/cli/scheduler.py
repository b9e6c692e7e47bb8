"""``autoclock scheduler`` (leader-elected scheduler) and ``autoclock simulate`` (shadow days)."""

from __future__ import annotations

import json
import signal
import threading
from datetime import date, datetime
from pathlib import Path
from types import FrameType

import click

from worker.clock import Clock, utcnow
from worker.logs import get_logger
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.scheduler.clock import SimulatedClock
from worker.scheduler.loop import Scheduler
from worker.scheduler.simulate import (
    DayReport,
    render,
    render_range,
    simulate_range,
    trigger_records,
)

from ._admin import (
    admin_listener_or_exit,
    redis_health,
    scheduler_health,
    start_admin_or_exit,
)
from ._common import redis_or_exit, ruleset_or_exit, settings_or_exit
from ._live import live_rules

__all__ = ["COMMANDS", "scheduler", "simulate"]

log = get_logger(__name__)

#: Longest range ``simulate --from/--to`` accepts (a little over a year).
MAX_SIMULATED_DAYS = 400


def _clock(start: str | None, speed: float, epoch: float | None) -> Clock:
    if start is None:
        if speed != 1.0 or epoch is not None:
            raise click.UsageError("--clock-speed and --clock-epoch need --clock-start")
        return utcnow
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
    ruleset = ruleset_or_exit(settings, rules_dir)
    admin_listener = admin_listener_or_exit(settings)
    handle = redis_or_exit(settings, embedded="never")
    queue = TriggerQueue(make_broker(handle.client, handle.keys))
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
    default=None,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day to simulate (each person's local day), YYYY-MM-DD.",
)
@click.option(
    "--from",
    "first",
    default=None,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First day of a range (with --to), YYYY-MM-DD.",
)
@click.option(
    "--to",
    "last",
    default=None,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day of a range, inclusive (with --from).",
)
@click.option("--person", default=None, help="Only this person (email).")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per trigger and line (id, person, kind, source, local_time, utc,"
    " summary, action); problems go to stderr.",
)
@click.option(
    "--rules-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Rules directory (default: AUTOCLOCK_RULES_DIR).",
)
def simulate(
    day: datetime | None,
    first: datetime | None,
    last: datetime | None,
    person: str | None,
    as_json: bool,
    rules_dir: Path | None,
) -> None:
    """Shadow mode: every trigger the scheduler would produce on a day (--date) or on the
    days --from .. --to, and the rules' decision. No API calls, nothing enqueued, no Redis.

    Exits 1 when the result is incomplete: a calendar feed could not be read, or an event
    (or an attendee of a person_by: attendee feed) maps to nobody.
    """
    if day is not None and (first is not None or last is not None):
        raise click.UsageError("give --date, or --from and --to, not both")
    if day is None and (first is None or last is None):
        raise click.UsageError("give --date D, or --from D --to D")
    start: date = (day or first or datetime.min).date()
    end: date = (day or last or datetime.min).date()
    if end < start:
        raise click.BadParameter("is before --from", param_hint="--to")
    if (end - start).days > MAX_SIMULATED_DAYS:
        raise click.BadParameter(f"at most {MAX_SIMULATED_DAYS} days", param_hint="--to")
    settings = settings_or_exit()
    ruleset = ruleset_or_exit(settings, rules_dir)
    try:
        report = simulate_range(ruleset, start, end, person=person)
    except LookupError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--person") from None
    if as_json:
        for record in trigger_records(report):
            click.echo(json.dumps(record, ensure_ascii=False))
        for line in report.problems:
            click.echo(f"autoclock: {line}", err=True)
    elif start == end:
        single = DayReport(day=start, people=report.people, problems=report.problems)
        click.echo(render(single), nl=False)
    else:
        click.echo(render_range(report), nl=False)
    if report.failed:
        click.echo(
            f"autoclock: the simulation is incomplete: {len(report.feed_failures)} feed(s) failed,"
            f" {len(report.unmapped)} event(s)/attendee(s) map to nobody,"
            f" {len(report.skipped)} event(s) cannot be planned",
            err=True,
        )
        raise SystemExit(1)


COMMANDS: list[click.Command] = [scheduler, simulate]
