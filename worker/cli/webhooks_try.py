"""``autoclock webhooks try SOURCE FILE``: replay a recorded delivery on paper.

Reads the rules (for the source and the people directory) and the source's secret from the
environment; never connects to Redis, enqueues or records anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from worker.cli._common import ruleset_or_exit, settings_or_exit
from worker.clock import utcnow
from worker.logs import register_secrets
from worker.settings import webhook_secret_env
from worker.webhooks.events import Delivery
from worker.webhooks.recording import RecordingError, parse_recording
from worker.webhooks.trial import Trial, try_delivery

__all__ = ["try_command"]

#: Largest recording read (the receiver's own cap is AUTOCLOCK_WEBHOOK_MAX_BODY).
MAX_FILE = 16 * 1024 * 1024


@click.command("try")
@click.argument("source")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def try_command(source: str, file: Path, as_json: bool) -> None:
    """What the receiver would do with the delivery recorded in FILE, sent to SOURCE.

    FILE holds the request's headers, an empty line, then the raw body (an HTTP message, as
    curl -v or a request bin shows it), or a JSON object {"headers": {...}, "body": "..."};
    "-" reads standard input. Prints whether the signature verifies (secret from
    AUTOCLOCK_WEBHOOK_SECRET_<SOURCE>), what each fields: expression extracted, the answer
    and the trigger it would enqueue. Changes nothing: no Redis, no queue, no ingress log.

    Exit 0 when the receiver would accept or ignore it (2xx; a recording too old for the
    replay window still counts), 1 when it would refuse it or FILE is not a recording.
    """
    from worker.cli import EXIT_PROBLEMS

    settings = settings_or_exit()
    ruleset = ruleset_or_exit(settings)
    spec = next((s for s in ruleset.sources.webhooks if s.name == source), None)
    if spec is None:
        names = ", ".join(s.name for s in ruleset.sources.webhooks) or "none"
        raise click.BadParameter(
            f"no webhook source {source!r} (sources: {names})", param_hint="SOURCE"
        )
    label = "<stdin>" if str(file) == "-" else str(file)
    try:
        if str(file) == "-":
            data = sys.stdin.buffer.read(MAX_FILE + 1)
        else:
            with file.open("rb") as handle:
                data = handle.read(MAX_FILE + 1)
    except OSError as exc:
        click.echo(f"{label}:1: cannot read: {exc.strerror or exc}", err=True)
        raise SystemExit(EXIT_PROBLEMS) from None
    if len(data) > MAX_FILE:
        click.echo(f"{label}:1: larger than {MAX_FILE // (1024 * 1024)} MiB", err=True)
        raise SystemExit(EXIT_PROBLEMS)
    try:
        recording = parse_recording(data)
    except RecordingError as exc:
        click.echo(f"{label}:{exc.line}: {exc.reason}", err=True)
        raise SystemExit(EXIT_PROBLEMS) from None
    secrets = [s.get_secret_value() for s in settings.webhook_secrets(source)]
    register_secrets(secrets)
    delivery = Delivery(
        body=recording.body,
        headers=recording.headers,
        secrets=secrets,
        source=source,
        allow_unsigned=spec.allow_unsigned,
        now=utcnow().timestamp(),
        tolerance_s=settings.webhook_tolerance_s,
        secret_env=webhook_secret_env(source),
        spec=spec,
    )
    trial = try_delivery(spec, delivery, directory=ruleset.directory)
    trial.notes[:0] = recording.notes
    if as_json:
        click.echo(json.dumps(trial.as_dict(), sort_keys=True))
    else:
        _print(trial, label, len(recording.body))
    if not trial.ok:
        raise SystemExit(EXIT_PROBLEMS)


def _print(trial: Trial, label: str, size: int) -> None:
    click.echo(f"source:     {trial.source} (vendor {trial.vendor})")
    click.echo(f"delivery:   {label}, {size} bytes of body")
    click.echo(f"signature:  {trial.signature}")
    if trial.window is not None:
        click.echo(f"timestamp:  outside the replay window now: {trial.window}")
    if trial.fields:
        click.echo("fields:")
        width = max(len(name) for name, _, _ in trial.fields)
        wide = max(len(expression) for _, expression, _ in trial.fields)
        for name, expression, value in trial.fields:
            click.echo(f"  {name.ljust(width)}  {expression.ljust(wide)}  = {value}")
    click.echo(f"answer:     {trial.answer}")
    if trial.trigger is not None:
        click.echo("trigger:")
        shown = trial.trigger.model_dump(mode="json")
        for key in ("id", "source", "kind", "subject", "occurred_at", "attributes"):
            click.echo(f"  {key}: {json.dumps(shown[key], ensure_ascii=False)}")
    for note in trial.notes:
        click.echo(f"note:       {note}")
    click.echo("nothing was enqueued or recorded")
