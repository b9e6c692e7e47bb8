"""The texts of notifications: Jinja2 templates, rendered in a sandbox.

Variables: ``person`` (the person the outcome is about: ``name``, ``email``), ``to_person``
(the recipient is that person), ``Whose``/``your`` ("Your"/"your" to the person, "Ana's"/
"their" to anyone else), ``result``, ``rule``, ``reason``, ``action`` ("clock-in"/
"clock-out"), ``at``/``date``/``zone`` (the outcome's time in the person's zone),
``last_badge``, ``last_badge_out`` (local ``HH:MM`` that day, or empty), ``source``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from worker.logs import get_logger
from worker.models import Outcome, Result, Verb
from worker.notify.evidence import Evidence
from worker.rules.directory import Person

__all__ = ["TEMPLATES", "Text", "render"]

log = get_logger(__name__)

_ENV = SandboxedEnvironment(autoescape=False, trim_blocks=True, keep_trailing_newline=False)

_TITLE = "autoclock: {{ name }} — {{ result }}"

TEMPLATES: Mapping[Result | None, str] = {
    Result.STOPPED: (
        "{{ Whose }} timer was stopped at {{ at }} ({{ zone }}) by the {{ rule }} rule"
        "{% if last_badge_out %}; {{ your }} last badge-out was {{ last_badge_out }}{% endif %}."
        " Please correct {{ your }} time in WebWork if needed."
    ),
    Result.STARTED: (
        "{{ Whose }} timer was started at {{ at }} ({{ zone }}) by the {{ rule }} rule"
        "{% if last_badge %}; {{ your }} last badge was {{ last_badge }}{% endif %}."
        " Please correct {{ your }} time in WebWork if needed."
    ),
    Result.REJECTED: (
        "{{ Whose }} {{ action }} at {{ at }} ({{ zone }}, rule {{ rule }}) was rejected by"
        " WebWork: {{ reason }}. {{ Whose }} tracked time is not what the rule intended;"
        " please check it in WebWork."
    ),
    Result.FAILED: (
        "{{ Whose }} {{ action }} at {{ at }} ({{ zone }}, rule {{ rule }}) failed: {{ reason }}."
        " {{ Whose }} tracked time is not what the rule intended; please check it in WebWork."
    ),
    Result.EXPIRED: (
        "{{ Whose }} {{ action }} at {{ at }} ({{ zone }}, rule {{ rule }}) was not applied: "
        "{{ reason }}. Please check {{ your }} time in WebWork."
    ),
    None: "{{ name }}: {{ result }} at {{ at }} ({{ zone }}){% if rule %}, rule {{ rule }}"
    "{% endif %}: {{ reason }}",
}


@dataclass(frozen=True)
class Text:
    title: str
    body: str


def render(
    outcome: Outcome,
    person: Person | None,
    *,
    to_person: bool,
    evidence: Evidence,
    templates: Mapping[Result, str] | None = None,
) -> Text:
    """The title and body telling about ``outcome`` (to the person when ``to_person``)."""
    zone = person.zone if person is not None else ZoneInfo("UTC")

    def local(value: object) -> str:
        return value.astimezone(zone).strftime("%H:%M") if hasattr(value, "astimezone") else ""

    name = (person.name or person.email) if person is not None else outcome.subject
    context = {
        "person": person,
        "name": name,
        "to_person": to_person,
        "Whose": "Your" if to_person else f"{name}'s",
        "your": "your" if to_person else "their",
        "result": outcome.result.value.replace("_", " "),
        "rule": outcome.rule or "",
        "reason": outcome.reason,
        "source": outcome.source,
        "action": {Verb.START: "clock-in", Verb.STOP: "clock-out"}.get(outcome.verb, "action")
        if outcome.verb
        else "action",
        "at": local(outcome.occurred_at),
        "date": outcome.occurred_at.astimezone(zone).date().isoformat(),
        "zone": zone.key,
        "last_badge": local(evidence.last_badge) if evidence.last_badge else "",
        "last_badge_out": local(evidence.last_badge_out) if evidence.last_badge_out else "",
    }
    title = _ENV.from_string(_TITLE).render(context)
    builtin = TEMPLATES.get(outcome.result, TEMPLATES[None])
    custom = (templates or {}).get(outcome.result)
    if custom:
        try:
            return Text(title, _ENV.from_string(custom).render(context))
        except TemplateError as exc:  # checked at load; a runtime failure falls back
            log.warning("notification template failed; the built-in one is used", error=str(exc))
    return Text(title, _ENV.from_string(builtin).render(context))
