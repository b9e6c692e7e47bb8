"""YAML aliases expand within a budget: an alias bomb is a file:line problem, bounded in memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from worker.rules.yamlsource import ALIAS_BUDGET, parse_yaml

#: The classic "billion laughs" (9^9 values from about 400 bytes, like the acceptance run's 438).
BOMB = """\
rules:
  - name: bomb
    on: {kind: tick}
    do: {action: stop}
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

MERGE_BOMB = "a0: &a0 {x: 1, y: 2}\n" + "".join(
    f"a{n}: &a{n} {{<<: [*a{n - 1}, *a{n - 1}], k{n}: 1}}\n" for n in range(1, 40)
)


def test_the_alias_bomb_is_a_problem_at_the_line_where_it_explodes() -> None:
    assert len(BOMB.encode()) < 450
    doc = parse_yaml(BOMB)
    assert doc.data is None
    (problem,) = doc.problems
    assert problem.line == 9  # e: [*d, ...]: the first list over the budget
    assert "alias bomb" in problem.reason
    assert "490,329,077 values" in problem.reason  # 9^9 lols and the lists around them


def test_merge_keys_count_too() -> None:
    doc = parse_yaml(MERGE_BOMB)
    assert doc.data is None
    assert "alias bomb" in doc.problems[0].reason


def test_an_alias_to_its_own_anchor_is_a_problem() -> None:
    doc = parse_yaml("people:\n  - &me [1, *me]\n")
    assert doc.data is None
    assert doc.problems[0].line == 2
    assert "refers to its own anchor" in doc.problems[0].reason


def test_ordinary_aliases_are_fine() -> None:
    people = "".join(
        f"  - {{<<: *defaults, email: p{n}@example.com}}\n" for n in range(3 * ALIAS_BUDGET)
    )
    doc = parse_yaml(
        "defaults: &defaults {timezone: Europe/Berlin, groups: [a, b]}\npeople:\n" + people
    )
    assert doc.problems == []
    assert len(doc.data["people"]) == 3 * ALIAS_BUDGET
    assert doc.data["people"][-1]["groups"] == ["a", "b"]


@pytest.mark.parametrize("deep", [10_000])
def test_very_deep_nesting_is_a_problem_not_a_traceback(deep: int) -> None:
    doc = parse_yaml("x: " + "[" * deep + "]" * deep + "\n")
    assert doc.data is None
    assert "nest" in doc.problems[0].reason


#: Runs argv[2:] as its only child and writes that child's peak RSS (KiB) to argv[1].
_MEASURE = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[2:], check=False).returncode
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def test_rules_check_refuses_the_bomb_with_file_line_in_bounded_memory(
    rules_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (rules_copy / "rules.yaml").write_text(BOMB)
    monkeypatch.setenv("AUTOCLOCK_RULES_DIR", str(rules_copy))
    # Measured in a fresh parent of its own: RUSAGE_CHILDREN of this test process would also
    # count every earlier child of the session (workers, servers).
    peak_file = rules_copy / "peak-kib"
    command = [sys.executable, "-m", "worker.cli", "rules", "check"]
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(peak_file), *command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    peak_kib = int(peak_file.read_text())
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{rules_copy / 'rules.yaml'}:9: aliases expand" in result.stdout + result.stderr
    assert peak_kib < 300 * 1024  # KiB: far from the 2.6 GB it took
