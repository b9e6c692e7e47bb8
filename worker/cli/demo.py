"""``autoclock demo``: run + sandbox + the example rules + a scripted day."""

from __future__ import annotations

from pathlib import Path

import click

from worker.cli._common import settings_or_exit
from worker.errors import ConfigError

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
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The demo's own data directory (its embedded Redis); default "
    "$XDG_CACHE_HOME/autoclock/demo. Never AUTOCLOCK_DATA_DIR.",
)
def demo_command(timeout_s: float, data_dir: Path | None) -> None:
    """Play a scripted working day against the local sandbox and print every outcome.

    Needs nothing but Python, from any directory. The demo keeps to itself: its own embedded
    Redis in its own data directory, namespace autoclock-demo, the example rules shipped in
    the package; REDIS_URL, AUTOCLOCK_NAMESPACE, AUTOCLOCK_DATA_DIR and AUTOCLOCK_RULES_DIR
    are not used, so nothing of a real deployment is touched. Exits 0 when every step ended
    as expected, 3 when its data directory is a deployment's or in use.
    """
    from worker.cli import EXIT_CONFIG, EXIT_PROBLEMS
    from worker.demo import demo_settings, run_demo

    settings = settings_or_exit(log_level="error")
    try:
        ok = run_demo(demo_settings(settings, data_dir), click.echo, timeout_s=timeout_s)
    except ConfigError as exc:
        click.echo(str(exc) if str(exc).startswith("autoclock") else f"autoclock: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    except OSError as exc:
        from worker.cli import EXIT_UNAVAILABLE

        click.echo(f"autoclock demo: the embedded Redis did not start: {exc}", err=True)
        raise SystemExit(EXIT_UNAVAILABLE) from None
    raise SystemExit(0 if ok else EXIT_PROBLEMS)


COMMANDS = [demo_command]
