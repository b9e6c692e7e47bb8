"""``autoclock worker``, ``history``, ``dlq``, ``status`` and ``trigger``."""

from __future__ import annotations

import getpass
import json
import threading
from datetime import UTC, datetime

import click
import redis

from worker.cli import EXIT_UNAVAILABLE
from worker.cli._admin import (
    admin_listener_or_exit,
    redis_health,
    start_admin_or_exit,
    webwork_health,
    worker_health,
)
from worker.cli._common import (
    echo_table,
    pipeline_or_exit,
    redis_or_exit,
    ruleset_or_exit,
    settings_or_exit,
    threads_option,
    wait_for_signal,
    webwork_or_exit,
)
from worker.cli._live import live_rules
from worker.cli._notify import echo_notifications, notifier_health, notifier_or_exit
from worker.cli.calendar_report import echo_feed_problems
from worker.clock import utcnow
from worker.errors import QueueUnavailable
from worker.logs import get_logger
from worker.models import Result
from worker.pipeline.broker import make_broker
from worker.pipeline.dlq import DeadLetters, drop, replay
from worker.pipeline.outcomes import OutcomeLog
from worker.pipeline.pauses import PauseStore
from worker.pipeline.state import TrackerState
from worker.rules.pauses import paused_reason
from worker.scheduler.feeds import FeedHealth, feed_health
from worker.scheduler.plans import PlanStore
from worker.store import Keys

__all__ = ["COMMANDS"]

log = get_logger(__name__)


@click.command("worker")
@threads_option
def worker_command(threads: int | None) -> None:
    """Run the actors: evaluate triggers and apply start/stop actions until SIGTERM.

    /healthz, /readyz and /metrics on AUTOCLOCK_ADMIN_HOST:AUTOCLOCK_ADMIN_PORT.
    """
    settings = settings_or_exit()
    ruleset = ruleset_or_exit(settings)
    admin_listener = admin_listener_or_exit(settings)
    handle = redis_or_exit(settings, embedded="never")
    check = webwork_or_exit(settings, cleanup=handle.close)
    notifier = notifier_or_exit(settings, handle.client, ruleset, cleanup=handle.close)
    pipeline = pipeline_or_exit(settings, handle, ruleset)
    count = threads or settings.worker_threads
    pipeline.start(count)
    notifier.start(settings.notify_threads)
    admin = start_admin_or_exit(
        settings,
        handle.client,
        roles=["worker"],
        liveness=[worker_health(pipeline), notifier_health(notifier)],
        readiness=[redis_health(handle.client), webwork_health(check)],
        listener=admin_listener,
    )
    stop_watch = threading.Event()
    live = live_rules(settings, ruleset, stop_watch)
    live.subscribe(lambda rs: setattr(pipeline.context, "ruleset", rs))
    live.subscribe(lambda rs: setattr(notifier, "ruleset", rs))
    log.info(
        "worker started",
        redis=handle.description,
        webwork=settings.webwork_base_url,
        threads=count,
        namespace=settings.namespace,
        people=len(ruleset.directory.people),
        rules=len(ruleset.rules),
    )
    signalled = wait_for_signal(pipeline.healthy)
    if not signalled:
        log.critical("lost Redis or a worker thread; exiting so a supervisor restarts this worker")
    log.info("worker stopping")
    stop_watch.set()
    notifier.stop()
    pipeline.stop()
    admin.stop()
    check.stop()
    handle.close()
    if not signalled:
        raise SystemExit(EXIT_UNAVAILABLE)


@click.command("history")
@click.option("-n", "--count", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--person", help="Only this person (email) or subject.")
@click.option("--result", type=click.Choice([r.value for r in Result]), help="Only this result.")
@click.option("--trigger", "trigger_id", help="Only this trigger id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--notifications", is_flag=True, help="The notifications' own outcomes (sent, failed …)."
)
def history_command(
    count: int,
    person: str | None,
    result: str | None,
    trigger_id: str | None,
    as_json: bool,
    notifications: bool,
) -> None:
    """Show the latest outcomes: what happened to each trigger, and why."""
    settings = settings_or_exit()
    if notifications:
        echo_notifications(settings, count, person, as_json=as_json)
        return
    with redis_or_exit(settings) as handle:
        outcomes = OutcomeLog(handle.client, handle.keys).latest(
            count,
            person=person,
            result=Result(result) if result else None,
            trigger_id=trigger_id,
        )
    if as_json:
        for outcome in outcomes:
            click.echo(outcome.model_dump_json(exclude_none=True))
        return
    if not outcomes:
        click.echo("no outcomes recorded yet")
        return
    echo_table(
        [
            {
                "at": o.recorded_at.strftime("%Y-%m-%d %H:%M:%SZ"),
                "result": o.result.value,
                "person": o.person or o.subject,
                "verb": o.verb.value if o.verb else "-",
                "source": o.source,
                "kind": o.kind.value,
                "http": str(o.http_status or "-"),
                "reason": o.reason,
            }
            for o in outcomes
        ],
        ["at", "result", "person", "verb", "source", "kind", "http", "reason"],
    )


@click.group("dlq")
def dlq_group() -> None:
    """Dead letters: actions that failed or were rejected, and their replay."""


@dlq_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def dlq_list(as_json: bool) -> None:
    """List dead letters, oldest first."""
    settings = settings_or_exit()
    with redis_or_exit(settings) as handle:
        letters = DeadLetters(handle.client, handle.keys).list()
    if as_json:
        for letter in letters:
            click.echo(
                json.dumps(
                    {
                        "id": letter.id,
                        "result": letter.result.value,
                        "reason": letter.reason,
                        "at": letter.at.isoformat(),
                        "action": letter.action.model_dump(mode="json"),
                    }
                )
            )
        return
    if not letters:
        click.echo("no dead letters")
        return
    echo_table(
        [
            {
                "id": d.id,
                "at": d.at.strftime("%Y-%m-%d %H:%M:%SZ"),
                "person": d.action.person,
                "verb": d.action.verb.value,
                "result": d.result.value,
                "reason": d.reason,
            }
            for d in letters
        ],
        ["id", "at", "person", "verb", "result", "reason"],
    )


@dlq_group.command("replay")
@click.argument("entry_id", required=False)
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
@click.option(
    "--no-deadline",
    is_flag=True,
    help="Drop the rule's deadline (otherwise a late replay ends as expired).",
)
def dlq_replay(entry_id: str | None, replay_all: bool, no_deadline: bool) -> None:
    """Send dead letters back to the actions queue as new deliveries.

    A replay passes the same checks as the original: an action already applied is a
    duplicate, one older than the person's last applied trigger is superseded, and one past
    its deadline is expired (unless --no-deadline).
    """
    if bool(entry_id) == replay_all:
        raise click.UsageError("give one dead-letter ID or --all")
    settings = settings_or_exit()
    with redis_or_exit(settings) as handle:
        _replay(handle.client, handle.keys, entry_id, no_deadline=no_deadline)


def _replay(client: redis.Redis, keys: Keys, entry_id: str | None, *, no_deadline: bool) -> None:
    store = DeadLetters(client, keys)
    letters = store.list() if entry_id is None else [d for d in [store.get(entry_id)] if d]
    if not letters:
        click.echo(
            "no dead letters" if entry_id is None else f"no dead letter {entry_id!r}", err=True
        )
        raise SystemExit(1)
    broker = make_broker(client, keys)
    for letter in letters:
        try:
            replay(store, broker, letter, by=_operator(), no_deadline=no_deadline)
        except QueueUnavailable as exc:
            click.echo(f"autoclock: {exc}", err=True)
            raise SystemExit(EXIT_UNAVAILABLE) from None
        click.echo(f"replayed {letter.id}: {letter.action.verb.value} {letter.action.person}")


def _operator() -> str:
    """Who runs this command, for the audit log."""
    return f"cli:{getpass.getuser()}"


@dlq_group.command("drop")
@click.argument("entry_id", required=False)
@click.option("--all", "drop_all", is_flag=True, help="Drop every dead letter.")
def dlq_drop(entry_id: str | None, drop_all: bool) -> None:
    """Forget dead letters that should not be replayed (the history keeps their outcomes)."""
    if bool(entry_id) == drop_all:
        raise click.UsageError("give one dead-letter ID or --all")
    settings = settings_or_exit()
    with redis_or_exit(settings) as handle:
        store = DeadLetters(handle.client, handle.keys)
        ids = [d.id for d in store.list()] if drop_all else [entry_id or ""]
        letters = [d for d in (store.get(i) for i in ids) if d is not None]
        for letter in letters:
            drop(store, letter, by=_operator())
    if entry_id and not letters:
        click.echo(f"no dead letter {entry_id!r}", err=True)
        raise SystemExit(1)
    click.echo(f"dropped {len(letters)} dead letter(s)")


@click.command("status")
@click.option(
    "--json", "as_json", is_flag=True, help="People as a JSON list (with --feeds: feeds)."
)
@click.option("--feeds", "feeds_only", is_flag=True, help="Only the calendar feeds' health.")
def status_command(as_json: bool, feeds_only: bool) -> None:
    """Who is tracking, as far as autoclock knows (its own actions and WebWork's webhooks),
    and each calendar feed's health: last success, last error, age of the copy in use."""
    settings = settings_or_exit()
    ruleset = ruleset_or_exit(settings)
    with redis_or_exit(settings) as handle:
        state = TrackerState(handle.client, handle.keys, ttl_s=max(settings.known_state_ttl_s, 1))
        known_states = {p.email: state.get(p.email) for p in ruleset.directory.people}
        now = utcnow()
        pauses = PauseStore(handle.client, handle.keys).active(now)
        feeds = [feed_health(handle.client, handle.keys, c) for c in ruleset.sources.calendars]
        planned = PlanStore(handle.client, handle.keys).problems() if feeds_only else {}
    rows = []
    for person in ruleset.directory.people:
        known = known_states[person.email]
        paused = paused_reason(person, now, closures=ruleset.closures, pauses=pauses)
        rows.append(
            {
                "person": person.email,
                "tracking": "unknown" if known is None else ("yes" if known.tracking else "no"),
                "since": known.at.strftime("%Y-%m-%d %H:%M:%SZ") if known else "-",
                "source": known.source if known else "-",
                "paused": paused or "-",
            }
        )
    if as_json:
        items = (
            [{**f.as_dict(now), "plan": planned.get(f.name)} for f in feeds] if feeds_only else rows
        )
        click.echo(json.dumps(items))
        return
    if not feeds_only:
        echo_table(rows, ["person", "tracking", "since", "source", "paused"])
    if feeds:
        if not feeds_only:
            click.echo("")
        echo_table([_feed_row(f, now) for f in feeds], list(_feed_row(feeds[0], now)))
        with redis_or_exit(settings) as handle:
            echo_feed_problems(handle.client, handle.keys, ruleset)


def _feed_row(health: FeedHealth, now: datetime) -> dict[str, str]:
    def when(at: datetime | None) -> str:
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if at else "never"

    age = health.copy_age(now)
    error = "-"
    if health.last_error:
        error = f"{when(health.last_error_at)}: {health.last_error} ({health.failures} in a row)"
    return {
        "feed": health.name,
        "host": health.host,
        "last success": when(health.last_success),
        "copy in use": "none" if age is None else f"{int(age.total_seconds() // 60)} min old",
        "last error": error,
    }


COMMANDS = [worker_command, history_command, dlq_group, status_command]
