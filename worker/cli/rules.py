"""``autoclock rules check`` and ``autoclock rules explain``: make the rules trustworthy.

``check`` loads the rules directory and prints every problem as ``file:line: reason``
(exit 1), or a one-line summary (exit 0). ``explain`` shows what one trigger would do —
who it resolves to, each rule's verdict and why, the resulting action — without Redis and
without calling the WebWork API.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from worker.clock import utcnow
from worker.models import Trigger, TriggerKind
from worker.rules.directory import Person
from worker.rules.evaluate import Decision, evaluate, format_duration
from worker.rules.facts import StaticFacts
from worker.rules.load import check_ruleset
from worker.rules.ruleset import Ruleset
from worker.settings import Settings

__all__ = ["COMMANDS", "rules_group"]

_TRISTATE = {"yes": True, "no": False, "unknown": None}


@click.group("rules")
def rules_group() -> None:
    """Check the rules directory and explain what a trigger would do."""


def _rules_dir_option(func: Any) -> Any:
    return click.option(
        "--rules-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Rules directory (default AUTOCLOCK_RULES_DIR, i.e. rules/).",
    )(func)


def _settings() -> Settings:
    from worker.cli._common import settings_or_exit

    return settings_or_exit()


@rules_group.command("check")
@_rules_dir_option
def check_command(rules_dir: Path | None) -> None:
    """Validate people.yaml, sources.yaml and rules.yaml; print every problem with its line.

    Events of local calendar files that cannot be planned are problems too (warnings, such as
    an RRULE with spaces, are printed but pass). Exit 0 when the ruleset is valid, 1 when it
    has problems.
    """
    from worker.cli import EXIT_PROBLEMS

    settings = _settings()
    directory = rules_dir or settings.rules_dir
    ruleset, problems = check_ruleset(directory, default_timezone=settings.timezone)
    if ruleset is None:
        for problem in problems:
            click.echo(problem)
        count = len(problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''} in {directory}", err=True)
        raise SystemExit(EXIT_PROBLEMS)
    from worker.cli.calendar_report import local_calendar_problems, local_unknown_attendees

    events, skipped = local_calendar_problems(ruleset)
    events += local_unknown_attendees(ruleset)
    for line in events:
        click.echo(line)
    if skipped:
        click.echo(f"{skipped} calendar event(s) in {directory} cannot be planned", err=True)
        raise SystemExit(EXIT_PROBLEMS)
    click.echo(f"{directory}: ok ({ruleset.summary()})")


@rules_group.command("explain")
@_rules_dir_option
@click.option(
    "--trigger",
    "trigger_file",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    help="A trigger as JSON (the Trigger model; id optional). '-' reads stdin.",
)
@click.option("--kind", type=click.Choice([k.value for k in TriggerKind]), help="Trigger kind.")
@click.option("--subject", help="Email, badge/card id, vendor user id or WebWork user id.")
@click.option(
    "--at",
    "at_text",
    help="When it happened, ISO 8601 (2026-03-29T18:05+02:00); without an offset, in the "
    "person's zone. Default: now.",
)
@click.option(
    "--source",
    help="Trigger source, e.g. webhook:kisi-hq (default: the first source of the kind's type).",
)
@click.option("--attr", "attrs", multiple=True, metavar="KEY=VALUE", help="A trigger attribute.")
@click.option(
    "--tracking",
    type=click.Choice(list(_TRISTATE)),
    default="unknown",
    show_default=True,
    help="Assume the person's tracker is running / not / unknown.",
)
@click.option(
    "--on-leave",
    "on_leave",
    type=click.Choice(list(_TRISTATE)),
    default="unknown",
    show_default=True,
    help="Assume the person is on approved full-day leave / not / unknown.",
)
@click.option("--now", "now_text", help="Evaluate as if it were this time (default: --at).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as one JSON object.")
def explain_command(
    rules_dir: Path | None,
    trigger_file: Path | None,
    kind: str | None,
    subject: str | None,
    at_text: str | None,
    source: str | None,
    attrs: Sequence[str],
    tracking: str,
    on_leave: str,
    now_text: str | None,
    as_json: bool,
) -> None:
    """Show what a trigger would do: the person, each rule's verdict and why, the action.

    Nothing is enqueued and the API is never called; holidays come from the `holidays`
    package, tracker state and leave from --tracking / --on-leave.
    """
    from worker.cli._common import ruleset_or_exit

    settings = _settings()
    ruleset = ruleset_or_exit(settings, rules_dir)

    notes: list[str] = []
    if trigger_file is not None:
        if kind or subject or at_text or source or attrs:
            raise click.UsageError("give either --trigger FILE or --kind/--subject/--at flags")
        trigger = _trigger_from_file(trigger_file)
        person, how = ruleset.directory.lookup(trigger.subject, source=trigger.source)
    else:
        if not kind or not subject:
            raise click.UsageError("--kind and --subject are required (or give --trigger FILE)")
        trigger_kind = TriggerKind(kind)
        if source is None:
            source = _default_source(ruleset, trigger_kind)
            notes.append(f"source {source} assumed; pass --source to choose")
        person, how = ruleset.directory.lookup(subject, source=source)
        zone_name = person.timezone if person else settings.timezone
        at = _parse_time(at_text, "--at", zone_name) if at_text else utcnow()
        if at_text is None:
            notes.append("time is now; pass --at to choose")
        trigger = Trigger(
            id=_explain_id(trigger_kind.value, subject, source, at),
            source=source,
            kind=trigger_kind,
            subject=subject,
            occurred_at=at,
            received_at=at,
            attributes=_parse_attrs(attrs),
        )
    now = (
        _parse_time(now_text, "--now", person.timezone if person else settings.timezone)
        if now_text
        else trigger.occurred_at
    )
    facts = StaticFacts(leave=_TRISTATE[on_leave], tracking=_TRISTATE[tracking])
    decision = (
        evaluate(trigger, person, ruleset, now=now, facts=facts, exhaustive=True)
        if person is not None
        else None
    )
    if as_json:
        click.echo(json.dumps(_as_json(trigger, person, how, decision), sort_keys=True))
        return
    _print_explanation(trigger, person, how, decision, notes, tracking, on_leave)


def _default_source(ruleset: Ruleset, kind: TriggerKind) -> str:
    sources = ruleset.sources
    if kind in (TriggerKind.BADGE_IN, TriggerKind.BADGE_OUT, TriggerKind.BADGE_SCAN):
        return f"webhook:{sources.webhooks[0].name}" if sources.webhooks else "manual"
    if kind in (TriggerKind.SHIFT_START, TriggerKind.SHIFT_END):
        return f"calendar:{sources.calendars[0].name}" if sources.calendars else "manual"
    return f"schedule:{sources.schedules[0].name}" if sources.schedules else "manual"


def _parse_time(text: str, option: str, zone_name: str) -> datetime:
    from worker.cli._time import parse_instant

    return parse_instant(text, option, zone_name)


def _parse_attrs(attrs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in attrs:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--attr")
        out[key.strip()] = value
    return out


def _explain_id(*parts: object) -> str:
    raw = "\x1f".join(str(p) for p in parts)
    return "explain:" + hashlib.sha256(raw.encode()).hexdigest()[:16]


def _trigger_from_file(path: Path) -> Trigger:
    label = "stdin" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {label}: {exc.strerror}", param_hint="--trigger"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"{label}:{exc.lineno}: invalid JSON: {exc.msg}", param_hint="--trigger"
        ) from None
    if not isinstance(data, dict):
        raise click.BadParameter(f"{label}: expected a JSON object", param_hint="--trigger")
    data.setdefault(
        "id",
        _explain_id(data.get("kind"), data.get("subject"), data.get("source"), data.get("at")),
    )
    if "occurred_at" in data and "received_at" not in data:
        data["received_at"] = data["occurred_at"]
    try:
        return Trigger.model_validate(data)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'trigger'}: {err['msg']}"
            for err in exc.errors()
        )
        raise click.BadParameter(f"{label}: {reasons}", param_hint="--trigger") from None


def _describe_person(person: Person) -> list[str]:
    user = f"WebWork user {person.user_id}" if person.user_id else "user id resolved by email"
    region = person.country or "none"
    if person.country and person.subdivision:
        region = f"{person.country}-{person.subdivision}"
    return [
        f"{user}; zone {person.timezone}; holidays {region}",
        f"contract {person.contract_id if person.contract_id is not None else '-'}, "
        f"task {person.task_id if person.task_id is not None else '-'}; "
        f"groups {', '.join(person.groups) or '-'}",
    ]


def _print_explanation(
    trigger: Trigger,
    person: Person | None,
    how: str,
    decision: Decision | None,
    notes: list[str],
    tracking: str,
    on_leave: str,
) -> None:
    echo = click.echo
    echo(f"Trigger  {trigger.kind.value} from {trigger.source}, subject {trigger.subject}")
    echo(f"         at {trigger.occurred_at.isoformat()}")
    if trigger.attributes:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(trigger.attributes.items()))
        echo(f"         attributes {shown}")
    for note in notes:
        echo(f"         ({note})")
    if person is None or decision is None:
        echo(
            f"Person   nobody: {trigger.subject!r} is no one's email, badge, vendor id or "
            f"WebWork user id"
        )
        echo("Action   none: the trigger would end as unknown_person")
        return
    local = trigger.occurred_at.astimezone(person.zone)
    echo(f"Person   {person.display} (matched by {how})")
    echo(f"         local time {local:%a %Y-%m-%d %H:%M %Z}")
    for line in _describe_person(person):
        echo(f"         {line}")
    echo(f"Facts    tracking {tracking}, on leave {on_leave} (set with --tracking/--on-leave)")
    echo("Rules    (tried in file order; the first match decides)")
    width = max((len(v.rule) for v in decision.verdicts), default=0)
    for verdict in decision.verdicts:
        mark = "MATCH" if verdict.matched else "skip "
        decides = "  <- decides" if verdict.rule == decision.rule else ""
        echo(f"  {mark}  {verdict.rule.ljust(width)}  {verdict.reason}{decides}")
        for leaf in verdict.leaves:
            echo(f"         {leaf.verdict.value:<11}  {leaf.path}: {leaf.reason}")
    if decision.paused is not None:
        echo("Action   none: the trigger would end as paused")
        echo(f"         {decision.reason}")
        return
    if decision.verb is None:
        echo("Action   none: the trigger would end as no_rule")
        echo(f"         {decision.reason}")
        return
    deadline = decision.deadline(trigger.occurred_at).astimezone(person.zone)
    echo(
        f"Action   {decision.verb.value} {person.email} "
        f"(contract {decision.contract_id if decision.contract_id is not None else '-'}, "
        f"task {decision.task_id if decision.task_id is not None else '-'})"
    )
    if decision.description is not None:
        echo(f"         description {decision.description!r}")
    echo(
        f"         rule {decision.rule}; apply by {deadline:%Y-%m-%d %H:%M %Z} "
        f"(max delay {format_duration(decision.max_delay)}), else expired"
    )
    standard = f"rule {decision.rule!r}: {decision.verb.value} for {person.email}"
    if decision.reason != standard:
        echo(f"         note: {decision.reason.removeprefix(standard).lstrip(' ;')}")
    echo("         (explain does not call the API)")


def _as_json(
    trigger: Trigger, person: Person | None, how: str, decision: Decision | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "trigger": trigger.model_dump(mode="json"),
        "person": person.email if person else None,
        "matched_by": how if person else None,
    }
    if decision is None:
        out.update(action=None, rule=None, result="unknown_person", verdicts=[])
        return out
    out.update(
        action=decision.verb.value if decision.verb else None,
        rule=decision.rule,
        contract_id=decision.contract_id,
        task_id=decision.task_id,
        description=decision.description,
        max_delay_s=decision.max_delay.total_seconds(),
        deadline=decision.deadline(trigger.occurred_at).astimezone(UTC).isoformat(),
        reason=decision.reason,
        result="paused" if decision.paused else None if decision.verb else "no_rule",
        verdicts=[
            {
                "rule": v.rule,
                "matched": v.matched,
                "reason": v.reason,
                "leaves": [
                    {"path": leaf.path, "verdict": leaf.verdict.value, "reason": leaf.reason}
                    for leaf in v.leaves
                ],
            }
            for v in decision.verdicts
        ],
    )
    return out


COMMANDS: list[click.Command] = [rules_group]
