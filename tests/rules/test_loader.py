"""Loading rules/: every mistake is refused with its file, line and a reason; the example loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rules.conftest import SHIPPED, edit
from worker.errors import RulesError
from worker.rules.load import check_ruleset, load_ruleset
from worker.rules.ruleset import Ruleset

P, S, R = "people.yaml", "sources.yaml", "rules.yaml"

# (file, text to replace, replacement, line offset from the replaced text, expected reason)
MISTAKES = [
    (
        R,
        "    max_delay: 15m",
        "    max_dely: 15m",
        0,
        "unknown key 'max_dely' (did you mean 'max_delay'?)",
    ),
    (
        P,
        "timezone: America/Chicago",
        "timezone: America/Chicagoo",
        0,
        "unknown IANA time zone 'America/Chicagoo'",
    ),
    (
        R,
        "weekdays: [mon, tue, wed, thu, fri]",
        "weekdays: [mon, tue, wed, thu, fry]",
        0,
        "got 'fry'",
    ),
    (
        R,
        'between: ["06:00", "20:00"]',
        'between: ["06:00", "25:00"]',
        0,
        "not a time of day: '25:00'",
    ),
    (R, 'between: ["06:00", "20:00"]', 'between: ["06:00", "06:00"]', 0, "empty time window"),
    (R, "    max_delay: 2h", "    max_delay: 2x", 0, "not a duration: '2x'"),
    (
        R,
        "    max_delay: 2h",
        "    max_delay: 2h\n    max_delay: 3h",
        1,
        "duplicate key 'max_delay'",
    ),
    (R, "    max_delay: 2h", "    max_delay: -5m", 0, "max_delay must be positive"),
    (P, "    groups: [night-shift]", "    groups: [nite-shift]", 0, "unknown group 'nite-shift'"),
    (R, "      groups: [night-shift]", "      groups: [nights]", 0, "unknown group 'nights'"),
    (
        R,
        "      groups: [night-shift]",
        "      people: [alex.nite@example.com]",
        0,
        "unknown person alex.nite@example.com",
    ),
    (
        S,
        "    # no people and no groups: everyone in the directory",
        "    people: [nobody@example.com]",
        0,
        "unknown person nobody@example.com",
    ),
    (
        P,
        "email: sam.lee@example.com",
        "email: Dana.Ruiz@example.com",
        0,
        "email dana.ruiz@example.com is also used by dana.ruiz@example.com",
    ),
    (
        P,
        'badges: ["04B2C3D4"]',
        'badges: [" 04a1b2c3"]',
        0,
        "badge ' 04a1b2c3' is also listed for dana.ruiz@example.com",
    ),
    (
        P,
        'verkada: "5d2c8a41-0b7e-4f63-9a1e-2f0c6b9d7e10"',
        'kisi-hq: "482913"',
        0,
        "kisi-hq id '482913' is also used by dana.ruiz@example.com",
    ),
    (P, "user_id: 44", "user_id: 43", 0, "user_id 43 is also used by sam.lee@example.com"),
    (P, 'unifi-hq: "9f3b7c2e"', 'unifi-hg: "9f3b7c2e"', 0, "did you mean 'unifi-hq'?"),
    (
        P,
        "    calendars: [team-shifts]\n    contract_id: 23",
        "    calendars: [night-feed]\n    contract_id: 23",
        0,
        "unknown calendar 'night-feed'",
    ),
    (P, "country: AU", "country: XX", 0, "unknown country 'XX'"),
    (P, "subdivision: IL", "subdivision: ZZ", 0, "unknown subdivision 'ZZ' of US"),
    (P, 'badges: ["04C3D4E5"]', "badges: [12345]", 0, 'quote it, e.g. "12345"'),
    (R, "  - name: badge-out", "  - name: badge-in", 0, "rule name 'badge-in' is used twice"),
    (
        R,
        '"Night shift ended at {local_time}"',
        '"Night shift ended at {local_time"',
        0,
        "malformed template",
    ),
    (
        R,
        '"Night shift ended at {local_time}"',
        '"Night shift ended at {local_tme}"',
        0,
        "unknown placeholder {local_tme} (did you mean {local_time}?)",
    ),
    (
        R,
        '"Night shift ended at {local_time}"',
        '"Night shift ended at {local_time!r}"',
        0,
        "may not have a format",
    ),
    (R, "      kind: shift_start", "      kind: shift_start: x", 0, "YAML syntax error"),
    (
        R,
        'source: "calendar:team-shifts"',
        'source: "calendar:team-shift"',
        0,
        "did you mean 'team-shifts'?",
    ),
    (R, 'source: "calendar:team-shifts"', 'source: "calendars"', 0, "unknown source 'calendars'"),
    (
        R,
        "      action: start            # contract/task: the person's defaults",
        "      contract_id: 20",
        -1,
        "rules[0].do.action: required key is missing",
    ),
    (S, "    allow_unsigned: true", "    allow_unsigned: false", -2, "needs allow_unsigned: true"),
    (
        S,
        "path: calendars/team-shifts.ics",
        "path: calendars/nope.ics",
        0,
        "calendar file calendars/nope.ics not found",
    ),
    (S, "    vendor: genea", "    vendor: genie", 0, "got 'genie'"),
    (R, "  max_delay: 30m ", "  max_delay: 2026-02-30 ", 0, "day is out of range for month"),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "offset", "reason"), MISTAKES, ids=[m[4][:40] for m in MISTAKES]
)
def test_each_mistake_is_reported_with_file_and_line(
    rules_copy: Path, name: str, old: str, new: str, offset: int, reason: str
) -> None:
    """A mistake in a rules file is refused with that file, the line of the mistake and why."""
    path = rules_copy / name
    text = path.read_text()
    line = text[: text.index(old)].count("\n") + 1
    edit(path, old, new)
    ruleset, problems = check_ruleset(rules_copy)
    assert ruleset is None
    expected = f"{path}:{line + offset}: "
    assert any(p.startswith(expected) and reason in p for p in problems), problems


def test_three_mistakes_in_three_files_are_all_reported(rules_copy: Path) -> None:
    """Three unrelated mistakes come back together, not one per run."""
    edit(rules_copy / P, "timezone: America/Chicago", "timezone: Mars/Olympus")
    edit(rules_copy / S, "    vendor: genea", "    vendor: genie")
    edit(
        rules_copy / R, "weekdays: [mon, tue, wed, thu, fri]", "weekdays: [mon, tue, wed, thu, fry]"
    )
    with pytest.raises(RulesError) as caught:
        load_ruleset(rules_copy)
    problems = caught.value.problems
    assert len(problems) == 3, problems
    assert [p.split(":")[0] for p in problems] == [
        str(rules_copy / P),
        str(rules_copy / S),
        str(rules_copy / R),
    ]


def test_one_bad_rule_does_not_hide_another_mistake_in_it(rules_copy: Path) -> None:
    """A rule with a bad duration still has its unknown group and bad template reported."""
    edit(rules_copy / R, "    max_delay: 2h", "    max_delay: soon")
    edit(rules_copy / R, "      groups: [night-shift]", "      groups: [nights]")
    edit(rules_copy / R, "ended at {local_time}", "ended at {local_tim}")
    _, problems = check_ruleset(rules_copy)
    text = "\n".join(problems)
    assert "not a duration" in text
    assert "unknown group 'nights'" in text
    assert "unknown placeholder {local_tim}" in text


def test_missing_required_files_are_named(tmp_path: Path) -> None:
    """An empty directory is refused, naming people.yaml and rules.yaml (sources is optional)."""
    _, problems = check_ruleset(tmp_path)
    assert problems == [
        f"{tmp_path / P}:1: required file people.yaml is missing",
        f"{tmp_path / R}:1: required file rules.yaml is missing",
    ]


def test_sources_file_is_optional(tmp_path: Path) -> None:
    """Without sources.yaml, people and rules that need no sources load."""
    (tmp_path / P).write_text("people:\n  - email: a@example.com\n")
    (tmp_path / R).write_text(
        "rules:\n  - name: manual-start\n    on: {source: manual, kind: badge_in}\n"
        "    do: {action: start}\n"
    )
    ruleset = load_ruleset(tmp_path, default_timezone="Europe/Paris")
    assert ruleset.directory.by_email("A@example.com") is not None
    assert ruleset.directory.people[0].timezone == "Europe/Paris"
    assert ruleset.sources.webhooks == []


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    """A file that is a list (or text) at the top is refused at its first line."""
    (tmp_path / P).write_text("# people\n- email: a@example.com\n")
    (tmp_path / R).write_text("rules: []\n")
    _, problems = check_ruleset(tmp_path)
    assert problems == [
        f"{tmp_path / P}:2: the top level of people.yaml must be a mapping of keys (got a list)"
    ]


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    """A rules directory that does not exist is one clear problem."""
    _, problems = check_ruleset(tmp_path / "nope")
    assert problems == [f"{tmp_path / 'nope'}:1: rules directory not found"]


def test_yaml_reads_the_way_an_operator_means(tmp_path: Path) -> None:
    """`on:` is a key, NO is Norway, 19:00 is a time, and 0012 keeps its zeros."""
    (tmp_path / P).write_text(
        "people:\n  - email: ola@example.no\n    country: NO\n    badges: [0012]\n"
    )
    (tmp_path / S).write_text("schedules:\n  - name: eod\n    at: 19:00\n")
    (tmp_path / R).write_text(
        "rules:\n  - name: eod\n    on:\n      source: schedule:eod\n      kind: tick\n"
        "    when: {between: [22:00, 06:00]}\n    do: {action: stop}\n"
    )
    ruleset = load_ruleset(tmp_path)
    person = ruleset.directory.people[0]
    assert person.country == "NO"
    assert person.badges == ("0012",)
    assert str(ruleset.sources.schedules[0].at) == "19:00:00"
    assert ruleset.rules[0].when.between is not None
    assert str(ruleset.rules[0].when.between[0]) == "22:00:00"


def test_shipped_rules_load(shipped: Ruleset) -> None:
    """The example in rules/ is valid and covers the three uses."""
    assert [r.name for r in shipped.rules] == [
        "shift-start",
        "night-shift-out",
        "badge-in",
        "badge-out",
        "end-of-day",
    ]
    assert {w.name for w in shipped.sources.webhooks} == {
        "kisi-hq",
        "verkada-hq",
        "unifi-hq",
        "genea-hq",
        "door-legacy",
        "webwork",
    }
    assert shipped.calendar("team-shifts") is not None
    end_of_day = shipped.schedule("end-of-day")
    assert end_of_day is not None
    assert end_of_day.at.hour == 19
    assert (SHIPPED / "calendars" / "team-shifts.ics").is_file()


def test_defaults_are_applied(shipped: Ruleset) -> None:
    """A person's missing fields come from defaults; their own values win."""
    dana = shipped.directory.by_email("dana.ruiz@example.com")
    kim = shipped.directory.by_email("kim.park@example.com")
    alex = shipped.directory.by_email("alex.night@example.com")
    assert dana is not None
    assert kim is not None
    assert alex is not None
    assert dana.user_id is None  # resolved by email at run time
    assert (dana.contract_id, dana.task_id, dana.subdivision) == (20, 5, "BE")
    assert (kim.timezone, kim.country, kim.subdivision, kim.user_id) == (
        "America/Chicago",
        "US",
        "IL",
        44,
    )
    assert (alex.country, alex.subdivision, alex.groups) == ("DE", None, ("night-shift",))
    assert str(kim.zone) == "America/Chicago"
