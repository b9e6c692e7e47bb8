"""Starting notifications in a role (``worker``, ``run``): one call, exit 3 on channels that
cannot work."""

from __future__ import annotations

from collections.abc import Callable

import click
import redis

from worker.admin import Health
from worker.admin.app import Check
from worker.cli._common import echo_table, redis_or_exit
from worker.errors import ConfigError
from worker.notify.log import NotificationLog
from worker.notify.runtime import Notifier, build_notifier
from worker.rules.ruleset import Ruleset
from worker.settings import Settings
from worker.store import Keys

__all__ = ["echo_notifications", "notifier_health", "notifier_or_exit"]


def notifier_or_exit(
    settings: Settings,
    client: redis.Redis,
    ruleset: Ruleset,
    *,
    cleanup: Callable[[], None] | None = None,
) -> Notifier:
    """Build the notifier (not started); on a channel that cannot work print one line and
    exit 3 (after ``cleanup``)."""
    from worker.cli import EXIT_CONFIG

    try:
        return build_notifier(settings, client, ruleset)
    except ConfigError as exc:
        click.echo(f"autoclock: {exc}", err=True)
        if cleanup is not None:
            cleanup()
        raise SystemExit(EXIT_CONFIG) from None


def echo_notifications(
    settings: Settings, count: int, person: str | None, *, as_json: bool
) -> None:
    """``history --notifications``: the newest notification records (never a channel URL)."""
    with redis_or_exit(settings) as handle:
        records = NotificationLog(handle.client, Keys(settings.namespace)).latest(
            count, person=person
        )
    if as_json:
        for record in records:
            click.echo(record.model_dump_json(exclude_none=True))
        return
    if not records:
        click.echo("no notifications recorded yet")
        return
    echo_table(
        [
            {
                "at": r.recorded_at.strftime("%Y-%m-%d %H:%M:%SZ"),
                "result": r.result.value,
                "channel": r.channel,
                "to": r.address or r.recipient,
                "person": r.person or "-",
                "attempts": str(r.attempts),
                "reason": r.reason,
            }
            for r in records
        ],
        ["at", "result", "channel", "to", "person", "attempts", "reason"],
    )


def notifier_health(notifier: Notifier) -> Check:
    """Liveness: the notification consumer and worker threads run."""
    return lambda: Health(notifier.problems())
