"""Message templates: every documented variable is provided; a custom template replaces the
built-in one; a broken one is a file:line problem at load."""

from __future__ import annotations

from datetime import UTC, datetime

from worker.models import Outcome, Result, TriggerKind, Verb
from worker.notify.evidence import Evidence
from worker.notify.messages import render
from worker.rules.directory import Person
from worker.rules.schema import NOTIFY_VARIABLES

ANA = Person(email="ana@example.com", name="Ana Staff", timezone="Europe/Berlin")
STOP = Outcome(
    result=Result.STOPPED,
    reason="end of day",
    trigger_id="t",
    delivery_id="d",
    source="schedule:end-of-day",
    kind=TriggerKind.TICK,
    subject=ANA.email,
    occurred_at=datetime(2026, 11, 27, 18, 0, tzinfo=UTC),
    person=ANA.email,
    verb=Verb.STOP,
    rule="end-of-day",
)
EVIDENCE = Evidence(
    last_badge=datetime(2026, 11, 27, 16, 31, tzinfo=UTC),
    last_badge_kind=TriggerKind.BADGE_OUT,
    last_badge_out=datetime(2026, 11, 27, 16, 31, tzinfo=UTC),
)


def test_every_documented_variable_is_provided():
    template = "|".join(f"{{{{ {name} is defined }}}}" for name in NOTIFY_VARIABLES)
    text = render(
        STOP, ANA, to_person=True, evidence=EVIDENCE, templates={Result.STOPPED: template}
    )
    assert text.body.split("|") == ["True"] * len(NOTIFY_VARIABLES)


def test_a_custom_template_replaces_the_built_in_one_in_the_persons_zone():
    template = "{{ Whose }} tracker: off at {{ at }} {{ zone }}, badge-out {{ last_badge_out }}"
    mine = render(
        STOP, ANA, to_person=True, evidence=EVIDENCE, templates={Result.STOPPED: template}
    )
    assert mine.body == "Your tracker: off at 19:00 Europe/Berlin, badge-out 17:31"
    theirs = render(
        STOP, ANA, to_person=False, evidence=EVIDENCE, templates={Result.STOPPED: template}
    )
    assert theirs.body.startswith("Ana Staff's tracker")
    started = STOP.model_copy(update={"result": Result.STARTED})
    builtin = render(
        started, ANA, to_person=True, evidence=EVIDENCE, templates={Result.STOPPED: template}
    )
    assert builtin.body.startswith("Your timer was started at 19:00")


def test_a_broken_template_is_a_file_line_problem(tmp_path):
    from worker.rules.load import check_ruleset

    (tmp_path / "people.yaml").write_text("people: []\n")
    (tmp_path / "rules.yaml").write_text(
        "notify:\n  templates:\n    stopped: 'at {{ att }}'\n    started: '{% if %}'\nrules: []\n"
    )
    problems = check_ruleset(tmp_path)[1]
    assert any("rules.yaml:3:" in p and "(did you mean 'at'?)" in p for p in problems), problems
    assert any("rules.yaml:4:" in p and "not a template" in p for p in problems), problems
