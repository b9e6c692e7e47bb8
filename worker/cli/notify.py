"""``autoclock notify test CHANNEL``: send a test message through a notification channel."""

from __future__ import annotations

import click

from worker.cli import EXIT_CONFIG, EXIT_UNAVAILABLE
from worker.cli._common import settings_or_exit
from worker.errors import NotifyError
from worker.logs import register_secrets
from worker.notify import channels
from worker.settings import notify_channel_env

__all__ = ["COMMANDS"]


@click.group("notify")
def notify_group() -> None:
    """Notification channels (Apprise URLs in AUTOCLOCK_NOTIFY_CHANNEL_<NAME>)."""


@notify_group.command("test")
@click.argument("channel")
@click.option("--to", "address", help="An address for channels that reach people (email …).")
def notify_test(channel: str, address: str | None) -> None:
    """Send a test message through CHANNEL; exit 3 when it is not configured, 4 when the
    channel does not accept it. The channel's URL is never printed."""
    settings = settings_or_exit()
    env = notify_channel_env(channel)
    url = settings.notify_channel(channel)
    if url is None:
        click.echo(f"autoclock: {env}: not set (no channel {channel!r})", err=True)
        raise SystemExit(EXIT_CONFIG)
    register_secrets([url.get_secret_value()])
    if not channels.check_url(url):
        click.echo(f"autoclock: {env}: not a URL Apprise understands", err=True)
        raise SystemExit(EXIT_CONFIG)
    try:
        channels.send(
            channel,
            url,
            address,
            "autoclock: test message",
            f"This is a test message from autoclock through channel {channel!r}.",
        )
    except NotifyError as exc:
        click.echo(f"autoclock: {exc}", err=True)
        raise SystemExit(EXIT_UNAVAILABLE) from None
    click.echo(f"sent a test message through channel {channel!r}")


COMMANDS = [notify_group]
