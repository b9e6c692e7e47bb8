"""``autoclock pause``, ``resume`` and ``pauses``: stop automation for a while, without edits.

A pause is kept in Redis (:mod:`worker.pipeline.pauses`) and read by every worker at each
evaluation: a trigger for a paused person ends ``paused``, with the pause's reason. Planned
closure days live in ``rules.yaml`` (``closures:``) instead.
"""

from __future__ import annotations

import json

import click

from worker.cli._common import echo_table, redis_or_exit, ruleset_or_exit, settings_or_exit
from worker.cli._time import parse_until
from worker.clock import utcnow
from worker.pipeline.pauses import PauseStore
from worker.rules.messages import suggest
from worker.rules.pauses import Pause
from worker.rules.ruleset import Ruleset

__all__ = ["COMMANDS"]


def _scope_options(func: click.decorators.FC) -> click.decorators.FC:
    func = click.option("--all", "everyone", is_flag=True, help="Everyone.")(func)
    func = click.option("--person", metavar="EMAIL", help="One person (email).")(func)
    return click.option("--group", metavar="GROUP", help="A group from people.yaml.")(func)


def _scope(ruleset: Ruleset, group: str | None, person: str | None, everyone: bool) -> str:
    given = [x for x in (group, person, everyone or None) if x]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --group, --person or --all")
    if everyone:
        return "all"
    if group is not None:
        if group not in ruleset.groups:
            raise click.BadParameter(
                f"unknown group {group!r} (declared: {', '.join(ruleset.groups) or 'none'})"
                f"{suggest(group, ruleset.groups)}",
                param_hint="--group",
            )
        return f"group:{group}"
    assert person is not None
    found = ruleset.directory.by_email(person.strip().lower())
    if found is None:
        emails = [p.email for p in ruleset.directory.people]
        raise click.BadParameter(
            f"{person} is not in the people directory{suggest(person.lower(), emails)}",
            param_hint="--person",
        )
    return f"person:{found.email}"


@click.command("pause")
@_scope_options
@click.option(
    "--until",
    "until_text",
    required=True,
    help="When automation resumes: 2026-12-24T06:00 (AUTOCLOCK_TIMEZONE, or the person's "
    "zone with --person), 2026-12-24T06:00+01:00, or a duration from now (90m, 8h, 2d).",
)
@click.option("--reason", required=True, help="Why (shown in outcomes, status and pauses).")
def pause_command(
    group: str | None, person: str | None, everyone: bool, until_text: str, reason: str
) -> None:
    """Pause automation for a group, a person or everyone until a time.

    Every trigger for them meanwhile (badges, schedules, calendars, manual) ends with the
    outcome ``paused`` and this reason; nothing is started or stopped. A new pause of the same
    group/person/--all replaces the old one.
    """
    settings = settings_or_exit()
    ruleset = ruleset_or_exit(settings)
    scope = _scope(ruleset, group, person, everyone)
    if not reason.strip() or len(reason) > 200:
        raise click.BadParameter("give 1 to 200 characters", param_hint="--reason")
    zone = settings.timezone
    if scope.startswith("person:"):
        found = ruleset.directory.by_email(scope.partition(":")[2])
        zone = found.timezone if found else zone
    now = utcnow()
    until = parse_until(until_text, "--until", zone, now)
    if until <= now:
        raise click.BadParameter(f"{until.isoformat()} is not in the future", param_hint="--until")
    pause = Pause(scope=scope, start=now, until=until, reason=reason.strip())
    with redis_or_exit(settings) as handle:
        PauseStore(handle.client, handle.keys).set(pause)
    click.echo(pause.describe())


@click.command("resume")
@_scope_options
def resume_command(group: str | None, person: str | None, everyone: bool) -> None:
    """End the pause of a group, a person or --all (the scope it was paused with).

    Exit 1 when that scope has no active pause.
    """
    from worker.cli import EXIT_PROBLEMS

    settings = settings_or_exit()
    ruleset = ruleset_or_exit(settings)
    scope = _scope(ruleset, group, person, everyone)
    with redis_or_exit(settings) as handle:
        ended = PauseStore(handle.client, handle.keys).end(scope, utcnow())
    if ended is None:
        click.echo(f"no active pause for {scope.replace(':', ' ')}", err=True)
        raise SystemExit(EXIT_PROBLEMS)
    click.echo(f"resumed {ended.who} (was: {ended.reason})")


@click.command("pauses")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per pause.")
def pauses_command(as_json: bool) -> None:
    """List the active pauses and the closure days of rules.yaml still to come."""
    settings = settings_or_exit()
    ruleset = ruleset_or_exit(settings)
    now = utcnow()
    with redis_or_exit(settings) as handle:
        active = PauseStore(handle.client, handle.keys).active(now)
    today = now.date()
    closures = [
        c
        for c in ruleset.closures
        if (c.to is not None and c.to >= today) or any(d >= today for d in c.dates)
    ]
    if as_json:
        for p in active:
            click.echo(
                json.dumps(
                    {
                        "kind": "pause",
                        "scope": p.scope,
                        "start": p.start.isoformat(),
                        "until": p.until.isoformat(),
                        "reason": p.reason,
                    }
                )
            )
        for c in closures:
            click.echo(json.dumps({"kind": "closure", **c.model_dump(mode="json", by_alias=True)}))
        return
    if not active and not closures:
        click.echo("no active pauses and no closure days to come")
        return
    echo_table(
        [
            {
                "who": p.who,
                "from": p.start.strftime("%Y-%m-%d %H:%M:%SZ"),
                "until": p.until.astimezone(now.tzinfo).strftime("%Y-%m-%d %H:%M:%SZ"),
                "reason": p.reason,
            }
            for p in active
        ]
        + [
            {
                "who": _closure_who(c.people, c.groups),
                "from": str(c.from_ or min(c.dates)),
                "until": f"{c.to or max(c.dates)} (closure {c.name}, local days)",
                "reason": c.reason or "-",
            }
            for c in closures
        ],
        ["who", "from", "until", "reason"],
    )


def _closure_who(people: list[str], groups: list[str]) -> str:
    if not people and not groups:
        return "everyone"
    return ", ".join([*(f"group {g}" for g in groups), *people])


COMMANDS = [pause_command, resume_command, pauses_command]
