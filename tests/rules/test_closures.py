"""Closure days in rules.yaml: checked with lines, explained, and they pause every trigger."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.rules.conftest import edit, line_of
from worker.cli import main
from worker.rules.load import check_ruleset, load_ruleset

CLOSURES = """closures:
  - name: christmas
    from: 2026-12-24
    to: 2026-12-31
    groups: [office]
    reason: "office closed"

rules:"""


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_a_closure_day_makes_explain_say_paused_in_the_persons_zone(
    rules_copy: Path, monkeypatch
) -> None:
    """Dana (office, Berlin) on 2026-12-28 09:00 local is paused; on 2027-01-04 she starts."""
    monkeypatch.setenv("AUTOCLOCK_LOG_FORMAT", "json")
    edit(rules_copy / "rules.yaml", "rules:", CLOSURES)
    ruleset = load_ruleset(rules_copy)
    assert [c.name for c in ruleset.closures] == ["christmas"]
    base = ("rules", "explain", "--rules-dir", str(rules_copy), "--kind", "badge_in")
    who = ("--subject", "dana.ruiz@example.com", "--tracking", "no", "--attr", "door=Main")
    closed = json.loads(_invoke(*base, *who, "--at", "2026-12-28T09:00", "--json").stdout)
    assert closed["result"] == "paused"
    assert closed["action"] is None
    assert (
        "2026-12-28 (Europe/Berlin) is closure day 'christmas' (office closed)"
        in (closed["reason"])
    )
    assert "rule 'badge-in' would have decided start" in closed["reason"]
    # 23:30 UTC on the 31st is already 2027-01-01 in Berlin: not a closure day there
    open_day = json.loads(_invoke(*base, *who, "--at", "2026-12-31T23:30+00:00", "--json").stdout)
    assert open_day["result"] != "paused"
    text = _invoke(*base, *who, "--at", "2026-12-28T09:00").stdout
    assert "Action   none: the trigger would end as paused" in text
    check = _invoke("rules", "check", "--rules-dir", str(rules_copy))
    assert "1 closures; version " in check.stdout


def test_closure_mistakes_get_file_line_and_did_you_mean(rules_copy: Path) -> None:
    """A misspelt key, an unknown group, a range that ends before it starts, a range half given."""
    rules = rules_copy / "rules.yaml"
    edit(
        rules,
        "rules:",
        """closures:
  - name: a
    form: 2026-12-24
    to: 2026-12-31
  - name: b
    dates: [2026-05-12]
    groups: [ofice]
  - name: c
    from: 2026-12-24
    to: 2026-12-01
  - name: d
    to: 2026-12-01

rules:""",
    )
    ruleset, problems = check_ruleset(rules_copy)
    assert ruleset is None
    text = "\n".join(problems)
    assert f"rules.yaml:{line_of(rules, 'form:')}: closures[0].form: unknown key 'form' " in text
    assert "(did you mean 'from'?)" in text
    assert f"rules.yaml:{line_of(rules, '[ofice]')}: unknown group 'ofice'" in text
    assert "did you mean 'office'" in text
    assert "closure ends (2026-12-01) before it starts (2026-12-24)" in text
    assert "a closure range needs both from and to" in text
