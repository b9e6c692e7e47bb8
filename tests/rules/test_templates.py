"""Activity-description templates: mistakes are caught at load, filling never fails."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.rules.conftest import trigger
from worker.rules.directory import Person
from worker.rules.templates import check_template, render


@pytest.mark.parametrize(
    "template",
    [
        "plain text",
        "{person.name} at {trigger.attributes[door]}",
        "{{literal}} {local_time}",
        "{weekday} {local_date} {rule} {trigger.kind} {trigger.source} {person.user_id}",
    ],
)
def test_good_templates_pass(template: str) -> None:
    """Known placeholders and escaped braces are accepted."""
    assert check_template(template) is None


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{", "malformed"),
        ("}", "malformed"),
        ("{}", "empty placeholder"),
        ("{person.__class__}", "unknown placeholder"),
        ("{0}", "unknown placeholder"),
        ("{local_time:>10}", "format spec"),
        ("{person.name!r}", "conversion"),
        ("{trigger.attributes}", "unknown placeholder"),
    ],
)
def test_bad_templates_are_refused(template: str, why: str) -> None:
    """Malformed or unknown placeholders are refused with a reason."""
    reason = check_template(template)
    assert reason is not None
    assert why in reason


def test_render_fills_fields_and_missing_attributes_are_empty() -> None:
    """Filling uses the person's local time; an attribute the trigger lacks renders empty."""
    person = Person(email="a@example.com", timezone="Europe/Berlin")
    t = trigger("badge_in", "X", "2026-03-30T07:05+00:00", "webhook:kisi-hq", door="Main")
    local = t.occurred_at.astimezone(ZoneInfo("Europe/Berlin"))
    text = render(
        "{person.name} {trigger.attributes[door]}/{trigger.attributes[gate]} "
        "{weekday} {local_date} {local_time} {rule} {{x}}",
        trigger=t,
        person=person,
        local=local,
        rule="r1",
    )
    assert text == "a@example.com Main/ Mon 2026-03-30 09:05 r1 {x}"
    assert isinstance(local, datetime)
