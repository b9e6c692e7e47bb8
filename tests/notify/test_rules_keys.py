"""``notify:`` in rules.yaml and ``manager``/``notify`` in people.yaml: every mistake is a
``file:line`` problem (with a did-you-mean where one is close), and a valid file loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.models import Result
from worker.rules.load import check_ruleset

PEOPLE = """\
groups: [payroll]
defaults:
  notify: [mail]
people:
  - email: ana@example.com
    manager: max@example.com
  - email: max@example.com
    groups: [payroll]
    notify: []
"""

RULES = """\
notify:
  defaults:
    rejected: [channel:ops, group:payroll]
rules:
  - name: end-of-day
    on: {kind: tick}
    do: {action: stop}
    notify:
      to: [person, manager]
      on: [stopped]
"""


def _problems(tmp_path: Path, people: str = PEOPLE, rules: str = RULES) -> list[str]:
    (tmp_path / "people.yaml").write_text(people)
    (tmp_path / "rules.yaml").write_text(rules)
    return check_ruleset(tmp_path)[1]


def test_a_valid_notify_setup_loads(tmp_path):
    (tmp_path / "people.yaml").write_text(PEOPLE)
    (tmp_path / "rules.yaml").write_text(RULES)
    ruleset, problems = check_ruleset(tmp_path)
    assert problems == []
    assert ruleset is not None
    ana, max_ = ruleset.directory.people
    assert (ana.manager, ana.notify, max_.notify) == ("max@example.com", ("mail",), ())
    assert ruleset.notify.defaults == {Result.REJECTED: ["channel:ops", "group:payroll"]}
    assert ruleset.rules[0].notify is not None
    assert ruleset.rules[0].notify.on == [Result.STOPPED]


@pytest.mark.parametrize(
    ("where", "old", "new", "expected"),
    [
        ("rules", "[person, manager]", "[person, maneger]", "rules.yaml:9:"),
        ("rules", "[person, manager]", "[person, maneger]", "(did you mean 'manager'?)"),
        ("rules", "[person, manager]", "[person, group:payrol]", "rules.yaml:9:"),
        ("rules", "[person, manager]", "[person, group:payrol]", "(did you mean 'payroll'?)"),
        ("rules", "[person, manager]", "[]", "rules.yaml:9:"),
        ("rules", "on: [stopped]", "on: [stoped]", "rules.yaml:10:"),
        ("rules", "on: [stopped]", "onn: [stopped]", "(did you mean 'on'?)"),
        ("rules", "    rejected:", "    rejectd:", "rules.yaml:3:"),
        ("rules", "group:payroll]", "group:payrol]", "rules.yaml:3:"),
        ("rules", "  defaults:", "  default:", "(did you mean 'defaults'?)"),
        ("people", "manager: max@", "manager: mux@", "people.yaml:6: "),
        ("people", "manager: max@", "manager: mux@", "(did you mean 'max@example.com'?)"),
        ("people", "manager: max@", "manager: ana@", "cannot be their own manager"),
        ("people", "  notify: [mail]", "  notify: [Mail!]", "people.yaml:3:"),
        ("people", "    manager:", "    manger:", "(did you mean 'manager'?)"),
    ],
)
def test_notify_mistakes_are_file_line_problems(tmp_path, where, old, new, expected):
    people, rules = PEOPLE, RULES
    if where == "rules":
        assert old in rules
        rules = rules.replace(old, new, 1)
    else:
        assert old in people
        people = people.replace(old, new, 1)
    problems = _problems(tmp_path, people, rules)
    assert any(expected in p for p in problems), problems
