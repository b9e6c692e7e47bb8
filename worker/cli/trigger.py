"""``autoclock trigger``: enqueue a trigger by hand, from any source, as the worker will see it.

``--at`` reads times as ``rules explain --at`` does (a time without an offset is in the
person's zone). Before enqueueing, the command says on stderr when no rule listens to the
trigger's source and kind, so a manual badge-in that can only end ``no_rule`` is no surprise;
the ``no_rule`` outcome then lists every rule's reason.
"""

from __future__ import annotations

import sys
import uuid

import click

from worker.cli._common import redis_or_exit, settings_or_exit
from worker.cli._time import parse_instant
from worker.clock import utcnow
from worker.models import Trigger, TriggerKind
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.rules.evaluate import rule_listens
from worker.rules.load import check_ruleset
from worker.rules.messages import suggest
from worker.rules.ruleset import Ruleset

__all__ = ["COMMANDS"]


def _known_sources(ruleset: Ruleset) -> list[str]:
    s = ruleset.sources
    return [
        *(f"webhook:{w.name}" for w in s.webhooks),
        *(f"calendar:{c.name}" for c in s.calendars),
        *(f"schedule:{x.name}" for x in s.schedules),
    ]


def _check_source(ruleset: Ruleset | None, source: str) -> str:
    source = source.strip()
    if not 1 <= len(source) <= 200:
        raise click.BadParameter("must be 1 to 200 characters", param_hint="--source")
    if ruleset is None:
        return source
    if source == "manual" or source.startswith("manual:"):
        return source
    known = _known_sources(ruleset)
    if source not in known:
        raise click.BadParameter(
            f"unknown source {source!r}: use manual, manual:<label> or one of "
            f"{', '.join(known) or '(no sources in sources.yaml)'}{suggest(source, known)}",
            param_hint="--source",
        )
    return source


def _subject(value: str) -> str:
    if not 1 <= len(value.strip()) <= 320:
        raise click.BadParameter("must be 1 to 320 characters")
    return value.strip()


def _attributes(items: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--attr")
        out[key.strip()] = value
    return out


@click.command("trigger")
@click.option("--kind", type=click.Choice([k.value for k in TriggerKind]), required=True)
@click.option(
    "--subject",
    required=True,
    callback=lambda _c, _p, v: _subject(v),
    help="Email, badge id, vendor id or user id.",
)
@click.option(
    "--source",
    default="manual",
    show_default=True,
    help="The trigger's source: manual, manual:<label>, or a source of sources.yaml such as "
    "webhook:kisi-hq, calendar:team-shifts, schedule:end-of-day (as rules match it).",
)
@click.option(
    "--at",
    "at_text",
    default=None,
    help="When it happened: ISO 8601 (2026-03-29T18:05+02:00), or without an offset in the "
    "person's zone (2026-03-29T18:05), as `rules explain --at`. Default: now.",
)
@click.option("--attr", multiple=True, metavar="KEY=VALUE", help="An attribute (repeatable).")
def trigger_command(
    kind: str, subject: str, source: str, at_text: str | None, attr: tuple[str, ...]
) -> None:
    """Enqueue a trigger; the worker evaluates it like any other and records its outcome.

    Prints the trigger id (see it with `autoclock history --trigger ID`).
    """
    settings = settings_or_exit()
    ruleset, problems = check_ruleset(settings.rules_dir, default_timezone=settings.timezone)
    if ruleset is None:
        # the running processes keep their last valid rules: a trigger is still useful
        click.echo(
            f"note: the rules in {settings.rules_dir} have {len(problems)} problem(s) (see "
            "`autoclock rules check`); source and subject not checked, a time without offset "
            "is read in AUTOCLOCK_TIMEZONE",
            err=True,
        )
        source = _check_source(None, source)
        person = None
    else:
        source = _check_source(ruleset, source)
        person = ruleset.directory.resolve(subject, source=source)
    zone = person.timezone if person is not None else settings.timezone
    at = parse_instant(at_text, "--at", zone) if at_text else utcnow()
    trigger = Trigger(
        id=f"manual:{uuid.uuid4()}",
        source=source,
        kind=TriggerKind(kind),
        subject=subject,
        occurred_at=at,
        attributes=_attributes(attr),
    )
    if ruleset is not None and person is None:
        click.echo(
            f"note: {subject!r} is nobody in the people directory; it will end unknown_person",
            err=True,
        )
    elif ruleset is not None and not any(rule_listens(r, trigger) for r in ruleset.rules):
        click.echo(
            f"note: no rule listens to {kind} from {source}; it will end no_rule "
            "(pass --source, e.g. the source your rules name)",
            err=True,
        )
    with redis_or_exit(settings) as handle:
        TriggerQueue(make_broker(handle.client, handle.keys)).enqueue(trigger)
    click.echo(trigger.id)
    sys.stdout.flush()


COMMANDS = [trigger_command]
