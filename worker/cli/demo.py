"""``autoclock demo``: run + sandbox + the example rules + a scripted day."""

from __future__ import annotations

import click

from worker.cli._common import settings_or_exit

__all__ = ["COMMANDS"]


@click.command("demo")
@click.option(
    "--timeout",
    "timeout_s",
    type=float,
    default=30.0,
    show_default=True,
    help="Seconds to wait for each step's outcome.",
)
def demo_command(timeout_s: float) -> None:
    """Play a scripted working day against the local sandbox and print every outcome.

    Needs nothing but Python: with no REDIS_URL it starts the embedded Redis under the data
    directory. Exits 0 when every step ended as expected.
    """
    from worker.cli import EXIT_PROBLEMS
    from worker.demo import run_demo

    settings = settings_or_exit(log_level="error")
    ok = run_demo(settings, click.echo, timeout_s=timeout_s)
    raise SystemExit(0 if ok else EXIT_PROBLEMS)


COMMANDS = [demo_command]
