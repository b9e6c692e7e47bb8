"""Condition groups: ``all:``, ``any:`` and ``not:`` in ``when``, nested, every leaf explained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.rules.conftest import edit, line_of, trigger
from tests.rules.test_evaluate import person, ruleset
from worker.cli import main
from worker.rules.conditions import Tri, check_when
from worker.rules.evaluate import evaluate
from worker.rules.facts import StaticFacts
from worker.rules.load import check_ruleset
from worker.rules.schema import When

GROUPS = ["office", "night", "field"]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EMAILS = ["p@example.com", "q@example.com"]

leaf = st.one_of(
    st.builds(lambda g: {"groups": g}, st.lists(st.sampled_from(GROUPS), min_size=1, max_size=2)),
    st.builds(lambda d: {"weekdays": d}, st.lists(st.sampled_from(WEEKDAYS), min_size=1)),
    st.builds(lambda e: {"people": e}, st.lists(st.sampled_from(EMAILS), min_size=1)),
    st.builds(lambda t: {"tracking": t}, st.booleans()),
)


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            out.setdefault(key, value)
    return out


trees = st.recursive(
    st.lists(leaf, min_size=1, max_size=3).map(_merge),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
        st.builds(lambda a, b: {**a, **b}, inner, inner),
    ),
    max_leaves=12,
)


def reference(tree: dict[str, Any], groups: set[str], weekday: str, tracking: bool | None) -> str:
    """The meaning of a tree in plain Python, three-valued: 'yes', 'no' or 'unknown'."""
    parts: list[str] = []
    if "people" in tree:
        parts.append("yes" if "p@example.com" in tree["people"] else "no")
    if "groups" in tree:
        parts.append("yes" if groups & set(tree["groups"]) else "no")
    if "weekdays" in tree:
        parts.append("yes" if weekday in tree["weekdays"] else "no")
    if "tracking" in tree:
        parts.append(
            "unknown" if tracking is None else "yes" if tracking == tree["tracking"] else "no"
        )
    for sub in tree.get("all", []):
        parts.append(reference(sub, groups, weekday, tracking))
    if "any" in tree:
        alts = [reference(sub, groups, weekday, tracking) for sub in tree["any"]]
        parts.append("yes" if "yes" in alts else "unknown" if "unknown" in alts else "no")
    if "not" in tree:
        inner = reference(tree["not"], groups, weekday, tracking)
        parts.append({"yes": "no", "no": "yes", "unknown": "unknown"}[inner])
    if "no" in parts:
        return "no"
    return "unknown" if "unknown" in parts else "yes"


def _count_leaves(tree: dict[str, Any]) -> int:
    own = sum(1 for k in ("people", "groups", "weekdays", "tracking") if k in tree)
    nested = sum(_count_leaves(t) for t in tree.get("all", []) + tree.get("any", []))
    return own + nested + (_count_leaves(tree["not"]) if "not" in tree else 0)


@settings(max_examples=300, deadline=None)
@given(
    tree=trees,
    groups=st.sets(st.sampled_from(GROUPS)),
    day=st.integers(0, 6),
    tracking=st.sampled_from([True, False, None]),
)
def test_any_tree_of_conditions_means_what_the_boolean_reading_says(
    tree: dict[str, Any], groups: set[str], day: int, tracking: bool | None
) -> None:
    """Random nested all/any/not trees: the rule matches exactly when the three-valued reading
    is yes or unknown; short-circuit and exhaustive evaluation agree; explain sees every leaf."""
    when = When.model_validate(tree)
    who = person(groups=tuple(sorted(groups)))
    local = trigger("badge_in", who.email, f"2026-03-{2 + day:02d}T10:00:00+01:00", "x").occurred_at
    facts = StaticFacts(tracking=tracking)
    expected = reference(tree, groups, WEEKDAYS[day], tracking)
    quick = check_when(when, who, local.astimezone(who.zone), facts)
    full = check_when(when, who, local.astimezone(who.zone), facts, exhaustive=True)
    assert (quick.why_not is None) == (expected != "no")
    assert (full.why_not is None) == (expected != "no")
    assert full.why_not == quick.why_not
    leaves = [leaf for leaf in full.leaves if leaf.verdict is not Tri.NOT_CHECKED]
    assert len(leaves) == _count_leaves(tree)
    assert len(full.leaves) == len(leaves)


def test_any_matches_night_or_weekend_and_not_excludes_a_person() -> None:
    """any: night group or weekend; not: one person. Reasons name the failing branch."""
    rs = ruleset(
        {
            "name": "weekend-or-night",
            "on": {"kind": "badge_in"},
            "when": {
                "any": [{"groups": ["night"]}, {"weekdays": ["sat", "sun"]}],
                "not": {"people": ["boss@example.com"]},
            },
            "do": {"action": "start"},
        }
    )
    office = person(groups=("office",))
    monday = "2026-03-02T10:00:00+01:00"
    saturday = "2026-03-07T10:00:00+01:00"
    t = trigger("badge_in", office.email, monday, "webhook:x")
    skipped = evaluate(t, office, rs, now=t.occurred_at, facts=StaticFacts())
    assert not skipped.matched
    assert skipped.verdicts[0].reason == (
        "skipped: none of when.any holds (when.any[0]: p@example.com (office) is in none of "
        "the groups night; when.any[1]: Monday 2026-03-02 (Europe/Berlin) is not one of sat, sun)"
    )
    t = trigger("badge_in", office.email, saturday, "webhook:x")
    assert evaluate(t, office, rs, now=t.occurred_at, facts=StaticFacts()).matched
    boss = person(email="boss@example.com", groups=("night",))
    t = trigger("badge_in", boss.email, monday, "webhook:x")
    refused = evaluate(t, boss, rs, now=t.occurred_at, facts=StaticFacts())
    assert refused.verdicts[0].reason == (
        "skipped: when.not holds: boss@example.com is one of the rule's people"
    )


def test_not_keeps_an_unknown_fact_unknown() -> None:
    """``not: {tracking: true}`` with an unknown tracker state does not exclude the rule; a
    known running tracker does."""
    rs = ruleset(
        {
            "name": "start-if-idle",
            "on": {"kind": "badge_in"},
            "when": {"not": {"tracking": True}},
            "do": {"action": "start"},
        }
    )
    who = person()
    t = trigger("badge_in", who.email, "2026-03-02T10:00:00+01:00", "webhook:x")
    unknown = evaluate(t, who, rs, now=t.occurred_at, facts=StaticFacts())
    assert unknown.matched
    assert unknown.verdicts[0].leaves[0].verdict is Tri.UNKNOWN
    running = evaluate(t, who, rs, now=t.occurred_at, facts=StaticFacts(tracking=True))
    assert not running.matched
    assert "when.not holds: p@example.com is tracking" in running.verdicts[0].reason
    idle = evaluate(t, who, rs, now=t.occurred_at, facts=StaticFacts(tracking=False))
    assert idle.matched


def test_between_in_a_group_sets_the_rule_day_of_its_own_set() -> None:
    """any: [{between 22-06, weekdays fri}, ...]: Saturday 01:00 is still Friday's night."""
    rs = ruleset(
        {
            "name": "friday-night",
            "on": {"kind": "badge_out"},
            "when": {
                "any": [
                    {"between": ["22:00", "06:00"], "weekdays": ["fri"]},
                    {"people": ["x@example.com"]},
                ]
            },
            "do": {"action": "stop"},
        }
    )
    who = person()
    t = trigger("badge_out", who.email, "2026-03-07T01:00:00+01:00", "webhook:x")
    assert evaluate(t, who, rs, now=t.occurred_at, facts=StaticFacts()).matched
    t = trigger("badge_out", who.email, "2026-03-08T01:00:00+01:00", "webhook:x")
    assert not evaluate(t, who, rs, now=t.occurred_at, facts=StaticFacts()).matched


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUTOCLOCK_LOG_FORMAT", "json")
    monkeypatch.delenv("AUTOCLOCK_RULES_DIR", raising=False)
    monkeypatch.delenv("AUTOCLOCK_TIMEZONE", raising=False)

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


GROUPED = """    when:
      any:
        - groups: [night-shift]
        - all:
            - weekdays: [sat, sun]
            - not:
                people: [dana.ruiz@example.com]
      between: ["22:00", "06:00"]"""


def test_rules_check_accepts_groups_and_explain_shows_every_leaf(run, rules_copy: Path) -> None:
    """The night rule with a nested group checks clean; explain lists every leaf's verdict."""
    rules = rules_copy / "rules.yaml"
    edit(
        rules,
        """    when:
      groups: [night-shift]
      between: ["22:00", "06:00"]""",
        GROUPED,
    )
    check = run("rules", "check", "--rules-dir", str(rules_copy))
    assert check.exit_code == 0, check.output
    result = run(
        "rules",
        "explain",
        "--rules-dir",
        str(rules_copy),
        "--kind",
        "badge_out",
        "--subject",
        "dana.ruiz@example.com",
        "--at",
        "2026-03-07T23:30",
        "--json",
    )
    assert result.exit_code == 0, result.output
    verdicts = {v["rule"]: v for v in json.loads(result.stdout)["verdicts"]}
    leaves = [(x["path"], x["verdict"]) for x in verdicts["night-shift-out"]["leaves"]]
    assert leaves == [
        ("when.between", "yes"),
        ("when.any[0].groups", "no"),
        ("when.any[1].all[0].weekdays", "yes"),
        ("when.any[1].all[1].not.people", "yes"),
    ]
    assert verdicts["night-shift-out"]["reason"].startswith("skipped: none of when.any holds")
    text = run(
        "rules",
        "explain",
        "--rules-dir",
        str(rules_copy),
        "--kind",
        "badge_out",
        "--subject",
        "dana.ruiz@example.com",
        "--at",
        "2026-03-07T23:30",
    ).stdout
    assert "no           when.any[0].groups: dana.ruiz@example.com (office) is in none" in text
    assert "yes          when.any[1].all[1].not.people: dana.ruiz@example.com is one of" in text


def test_typos_and_mistakes_in_groups_get_file_line_and_did_you_mean(rules_copy: Path) -> None:
    """anyy → any, nott → not, an undeclared group inside any, an empty all: each at its line."""
    rules = rules_copy / "rules.yaml"
    edit(
        rules,
        """    when:
      groups: [night-shift]
      between: ["22:00", "06:00"]""",
        """    when:
      anyy:
        - groups: [night-shift]
      nott:
        people: [dana.ruiz@example.com]""",
    )
    edit(
        rules,
        """      weekdays: [mon, tue, wed, thu, fri]
      between: ["06:00", "20:00"]""",
        """      any:
        - groups: [nightshift]
        - all: []""",
    )
    ruleset, problems = check_ruleset(rules_copy)
    assert ruleset is None
    text = "\n".join(problems)
    assert (
        f"rules.yaml:{line_of(rules, 'anyy:')}: rules[1].when.anyy: unknown key 'anyy' "
        "(did you mean 'any'?)" in text
    )
    assert (
        f"rules.yaml:{line_of(rules, 'nott:')}: rules[1].when.nott: unknown key 'nott' "
        "(did you mean 'not'?)" in text
    )
    assert f"rules.yaml:{line_of(rules, '- all: []')}: rules[2].when.any[1].all: " in text
    assert "at least 1 item" in text
