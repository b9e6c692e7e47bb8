"""Activity-description templates: checked at load time, filled safely at run time.

A template is text with ``{placeholders}`` (Python ``str.format`` syntax, but only the
names below, with no format spec or conversion). :func:`check_template` refuses anything
else when the ruleset is loaded, so :func:`render` can never fail on a trigger:

==============================  ===============================================
``{person.email}``              the person's email
``{person.name}``               the person's name (their email when none is set)
``{person.timezone}``           IANA zone, e.g. ``Europe/Berlin``
``{person.country}``            country code (empty when none)
``{person.user_id}``            WebWork user id (empty when resolved by email)
``{trigger.kind}``              ``badge_out``, ``shift_start``, ``tick`` …
``{trigger.source}``            ``webhook:kisi-hq``, ``calendar:team-shifts`` …
``{trigger.subject}``           what the source said (badge id, email …)
``{trigger.id}``                the trigger's idempotency key
``{trigger.attributes[KEY]}``   a trigger attribute (empty when the trigger lacks it)
``{local_time}``                trigger time in the person's zone, ``HH:MM``
``{local_date}``                trigger date in the person's zone, ``YYYY-MM-DD``
``{weekday}``                   ``Mon`` … ``Sun`` (of ``local_date``)
``{rule}``                      the rule's name
==============================  ===============================================

Write ``{{`` and ``}}`` for literal braces. The filled text is cut to
:data:`MAX_DESCRIPTION` characters.
"""

from __future__ import annotations

import difflib
import re
import string
from datetime import datetime

from worker.models import Trigger
from worker.rules.directory import Person

__all__ = ["FIELDS", "MAX_DESCRIPTION", "check_template", "render"]

MAX_DESCRIPTION = 500
FIELDS = (
    "person.email",
    "person.name",
    "person.timezone",
    "person.country",
    "person.user_id",
    "trigger.kind",
    "trigger.source",
    "trigger.subject",
    "trigger.id",
    "local_time",
    "local_date",
    "weekday",
    "rule",
)
_ATTRIBUTE = re.compile(r"^trigger\.attributes\[([^\[\]{}]+)\]$")
_FORMATTER = string.Formatter()


def check_template(template: str) -> str | None:
    """Why ``template`` cannot be used, or ``None`` when it is fine."""
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as exc:
        return f"malformed template {template!r}: {exc} (write {{{{ and }}}} for literal braces)"
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name == "":
            return f"template {template!r} has an empty placeholder {{}}; name a field"
        if name not in FIELDS and not _ATTRIBUTE.match(name):
            close = difflib.get_close_matches(name, FIELDS, n=1, cutoff=0.7)
            hint = f" (did you mean {{{close[0]}}}?)" if close else ""
            return (
                f"template {template!r} uses unknown placeholder {{{name}}}{hint}; known: "
                + ", ".join("{" + f + "}" for f in FIELDS)
                + ", {trigger.attributes[KEY]}"
            )
        if spec or conversion:
            return (
                f"template {template!r}: placeholder {{{name}}} may not have a format spec "
                "or !conversion"
            )
    return None


def render(template: str, *, trigger: Trigger, person: Person, local: datetime, rule: str) -> str:
    """Fill a template that passed :func:`check_template`; unknown parts render empty."""
    values = {
        "person.email": person.email,
        "person.name": person.name or person.email,
        "person.timezone": person.timezone,
        "person.country": person.country or "",
        "person.user_id": "" if person.user_id is None else str(person.user_id),
        "trigger.kind": trigger.kind.value,
        "trigger.source": trigger.source,
        "trigger.subject": trigger.subject,
        "trigger.id": trigger.id,
        "local_time": local.strftime("%H:%M"),
        "local_date": local.date().isoformat(),
        "weekday": local.strftime("%a"),
        "rule": rule,
    }
    out: list[str] = []
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError:  # refused at load; never reached with a loaded ruleset
        return template[:MAX_DESCRIPTION]
    for literal, name, _spec, _conversion in parts:
        out.append(literal)
        if name is None:
            continue
        match = _ATTRIBUTE.match(name)
        out.append(trigger.attributes.get(match.group(1), "") if match else values.get(name, ""))
    return "".join(out)[:MAX_DESCRIPTION]
