"""Rule evaluation: the decision and a reason for every rule, from trigger, person and facts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.rules.conftest import trigger
from worker.models import TriggerKind, Verb
from worker.rules.directory import Directory, Person
from worker.rules.evaluate import evaluate
from worker.rules.facts import StaticFacts
from worker.rules.ruleset import Ruleset
from worker.rules.schema import Policy, RuleSpec, SourcesFile

BERLIN = ZoneInfo("Europe/Berlin")
DANA = "dana.ruiz@example.com"


def ruleset(*rules: dict[str, Any], people: tuple[Person, ...] = ()) -> Ruleset:
    """A ruleset built in code from rule dicts (the rules.yaml shape)."""
    return Ruleset(
        directory=Directory(people),
        rules=tuple(RuleSpec.model_validate(r) for r in rules),
        policy=Policy(),
        sources=SourcesFile(),
        root=Path("."),
    )


def person(**fields: Any) -> Person:
    base: dict[str, Any] = {
        "email": "p@example.com",
        "timezone": "Europe/Berlin",
        "country": "DE",
        "contract_id": 7,
        "groups": ("office",),
    }
    base.update(fields)
    return Person(**base)


def decide(
    rs: Ruleset,
    who: Person,
    kind: str,
    at: str,
    source: str = "webhook:kisi-hq",
    facts: StaticFacts | None = None,
    **attrs: str,
):
    t = trigger(kind, who.email, at, source, **attrs)
    return evaluate(t, who, rs, now=t.occurred_at, facts=facts or StaticFacts())


def test_weekday_shift_start_starts_with_the_persons_defaults(shipped: Ruleset) -> None:
    """A shift start on a Monday starts Dana's tracker on her default contract and task."""
    dana = shipped.directory.by_email(DANA)
    assert dana is not None
    d = decide(
        shipped,
        dana,
        "shift_start",
        "2026-03-30T09:00+02:00",
        "calendar:team-shifts",
        summary="Office shift",
    )
    assert (d.verb, d.rule, d.contract_id, d.task_id) == (Verb.START, "shift-start", 20, 5)
    assert d.description == "Shift 2026-03-30 from 09:00"
    assert d.max_delay == timedelta(minutes=15)
    assert [v.rule for v in d.verdicts] == [r.name for r in shipped.rules]
    assert "leave not checked" in d.verdicts[0].reason


def test_shift_start_on_a_public_holiday_is_skipped_with_its_name(shipped: Ruleset) -> None:
    """On Christmas Day in Germany the shift-start rule is skipped, naming the holiday."""
    dana = shipped.directory.by_email(DANA)
    assert dana is not None
    d = decide(shipped, dana, "shift_start", "2026-12-25T09:00+01:00", "calendar:team-shifts")
    assert d.verb is None
    assert d.verdicts[0].reason == "skipped: 2026-12-25 is a public holiday in DE (Christmas Day)"
    assert d.reason.startswith("no rule matched")


def test_regional_holiday_names_the_subdivision(shipped: Ruleset) -> None:
    """A Berlin-only holiday says DE-BE; a colleague elsewhere in Germany still starts."""
    dana, alex = (
        shipped.directory.by_email(DANA),
        shipped.directory.by_email("alex.night@example.com"),
    )
    assert dana is not None
    assert alex is not None
    at = "2027-03-08T09:00+01:00"  # International Women's Day: Berlin only
    d = decide(shipped, dana, "shift_start", at, "calendar:team-shifts")
    assert d.verb is None
    assert "public holiday in DE-BE" in d.verdicts[0].reason
    assert decide(shipped, alex, "shift_start", at, "calendar:team-shifts").verb is Verb.START


def test_night_badge_out_at_0130_matches_the_22_to_06_window(shipped: Ruleset) -> None:
    """A badge-out at 01:30 falls inside 22:00-06:00 and stops the night shift."""
    alex = shipped.directory.resolve("04C3D4E5", source="webhook:kisi-hq")
    assert alex is not None
    d = decide(shipped, alex, "badge_out", "2026-03-31T01:30+02:00")
    assert (d.verb, d.rule, d.contract_id, d.task_id) == (Verb.STOP, "night-shift-out", 23, 6)
    verdicts = {v.rule: v for v in d.verdicts}
    assert "inside 22:00-06:00" in verdicts["night-shift-out"].reason
    assert verdicts["badge-out"].matched
    assert "first match wins" in verdicts["badge-out"].reason


def test_window_edges_and_crossing_midnight() -> None:
    """[from, to) : 22:00 and 05:59 are in, 06:00 and 21:59 are out."""
    rs = ruleset(
        {
            "name": "night",
            "on": {"kind": "badge_out"},
            "when": {"between": ["22:00", "06:00"]},
            "do": {"action": "stop"},
        }
    )
    who = person()
    for at, inside in [
        ("2026-06-01T22:00+02:00", True),
        ("2026-06-02T05:59+02:00", True),
        ("2026-06-02T00:00+02:00", True),
        ("2026-06-02T06:00+02:00", False),
        ("2026-06-01T21:59+02:00", False),
        ("2026-06-01T12:00+02:00", False),
    ]:
        assert decide(rs, who, "badge_out", at).matched is inside, at


def test_weekdays_of_a_night_window_use_the_day_it_opened() -> None:
    """A Friday-night window still applies at 01:30 on Saturday, not at 01:30 on Friday."""
    rs = ruleset(
        {
            "name": "fri-night",
            "on": {"kind": "badge_out"},
            "when": {"weekdays": ["fri"], "between": ["22:00", "06:00"]},
            "do": {"action": "stop"},
        }
    )
    who = person()
    assert decide(rs, who, "badge_out", "2026-06-06T01:30+02:00").matched  # Saturday morning
    skipped = decide(rs, who, "badge_out", "2026-06-05T01:30+02:00")  # Friday morning
    assert not skipped.matched
    assert "Thursday 2026-06-04" in skipped.verdicts[0].reason


def test_time_is_read_in_the_persons_zone() -> None:
    """The same instant is 09:00 in Berlin and 02:00 in Chicago."""
    rs = ruleset(
        {
            "name": "morning",
            "on": {"kind": "badge_in"},
            "when": {"between": ["08:00", "10:00"]},
            "do": {"action": "start"},
        }
    )
    at = "2026-06-01T07:00+00:00"
    assert decide(rs, person(), "badge_in", at).matched
    chicago = decide(rs, person(timezone="America/Chicago", country="US"), "badge_in", at)
    assert not chicago.matched
    assert "02:00 America/Chicago is outside 08:00-10:00" in chicago.verdicts[0].reason


def test_tracking_condition_excludes_only_a_known_state() -> None:
    """tracking: true stops when tracking or unknown, and skips when known not to track."""
    rs = ruleset(
        {
            "name": "eod",
            "on": {"kind": "tick"},
            "when": {"tracking": True},
            "do": {"action": "stop"},
        }
    )
    who = person()
    at = "2026-06-01T19:00+02:00"
    unknown = decide(rs, who, "tick", at, "schedule:end-of-day")
    assert unknown.matched
    assert "tracking state unknown" in unknown.verdicts[0].reason
    assert decide(rs, who, "tick", at, facts=StaticFacts(tracking=True)).matched
    idle = decide(rs, who, "tick", at, facts=StaticFacts(tracking={who.email: False}))
    assert not idle.matched
    assert "is not tracking" in idle.verdicts[0].reason


def test_leave_excludes_only_when_known() -> None:
    """not_on_leave skips approved leave, and says so when leave was not checked."""
    rs = ruleset(
        {
            "name": "in",
            "on": {"kind": "shift_start"},
            "when": {"not_on_leave": True},
            "do": {"action": "start"},
        }
    )
    who = person()
    at = "2026-06-01T09:00+02:00"
    assert "leave not checked" in decide(rs, who, "shift_start", at).verdicts[0].reason
    on_leave = StaticFacts(leave={(who.email, date(2026, 6, 1)): True})
    skipped = decide(rs, who, "shift_start", at, facts=on_leave)
    assert not skipped.matched
    assert "approved full-day leave" in skipped.verdicts[0].reason
    assert decide(rs, who, "shift_start", at, facts=StaticFacts(leave=False)).matched


def test_on_attributes_people_groups_and_rule_overrides() -> None:
    """Attribute globs, people and groups select; the rule's contract overrides the person's."""
    rs = ruleset(
        {
            "name": "back-door",
            "on": {"kind": "badge_out", "attributes": {"door": "back*"}},
            "do": {"action": "stop", "contract_id": 99, "task_id": 3},
        },
        {
            "name": "only-kim",
            "on": {"kind": "badge_out"},
            "when": {"people": ["KIM@example.com"]},
            "do": {"action": "stop"},
        },
        {
            "name": "night-group",
            "on": {"kind": "badge_out"},
            "when": {"groups": ["night"]},
            "do": {"action": "stop"},
        },
    )
    who = person()
    at = "2026-06-01T18:00+02:00"
    back = decide(rs, who, "badge_out", at, door="Back Exit")
    assert (back.rule, back.contract_id, back.task_id) == ("back-door", 99, 3)
    front = decide(rs, who, "badge_out", at, door="Main Entrance")
    assert front.verb is None
    reasons = [v.reason for v in front.verdicts]
    assert reasons[0] == "skipped: door 'Main Entrance' does not match 'back*'"
    assert "not one of the rule's people" in reasons[1]
    assert "none of the groups night" in reasons[2]
    assert "no 'door' attribute" in decide(rs, who, "badge_out", at).verdicts[0].reason
    kim = decide(rs, person(email="kim@example.com"), "badge_out", at)
    assert (kim.rule, kim.contract_id) == ("only-kim", 7)


def test_no_country_means_holidays_not_checked_and_late_is_noted() -> None:
    """Without a country the holiday condition cannot exclude; a late trigger is flagged."""
    rs = ruleset(
        {
            "name": "in",
            "on": {"kind": "shift_start", "source": "calendar:*"},
            "when": {"not_on_holiday": True},
            "do": {"action": "start"},
        }
    )
    who = person(country=None)
    t = trigger("shift_start", who.email, "2026-12-25T09:00+01:00", "calendar:x")
    d = evaluate(t, who, rs, now=t.occurred_at + timedelta(hours=1), facts=StaticFacts())
    assert d.matched
    assert "holidays not checked" in d.verdicts[0].reason
    assert "past max delay 30m" in d.reason


# ---------------------------------------------------------------- properties

KINDS = st.sampled_from(list(TriggerKind))
SOURCES = st.sampled_from(
    [
        "webhook:kisi-hq",
        "webhook:door-legacy",
        "calendar:team-shifts",
        "schedule:end-of-day",
        "manual",
    ]
)
TIMES = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from([ZoneInfo("UTC"), BERLIN, ZoneInfo("Australia/Sydney")]),
)
TRISTATE = st.sampled_from([True, False, None])


@settings(max_examples=150, deadline=None)
@given(
    kind=KINDS,
    source=SOURCES,
    at=TIMES,
    index=st.integers(0, 4),
    tracking=TRISTATE,
    leave=TRISTATE,
    door=st.sampled_from(["Main Entrance", "Back Exit", ""]),
)
def test_evaluation_is_deterministic(
    shipped: Ruleset,
    kind: TriggerKind,
    source: str,
    at: datetime,
    index: int,
    tracking: bool | None,
    leave: bool | None,
    door: str,
) -> None:
    """The same trigger, person, rules, clock and facts always give the same decision."""
    who = shipped.directory.people[index]
    attrs = {"door": door} if door else {}
    t = trigger(kind, who.email, at, source, **attrs)
    first = evaluate(t, who, shipped, now=at, facts=StaticFacts(tracking=tracking, leave=leave))
    again = evaluate(t, who, shipped, now=at, facts=StaticFacts(tracking=tracking, leave=leave))
    assert first == again
    assert len(first.verdicts) == len(shipped.rules)
    assert (first.verb is None) == (first.rule is None)


def _dst_change(year: int, month: int) -> date:
    """The last Sunday of ``month`` (EU DST changes: March and October)."""
    day = date(year, month, 31)
    return day - timedelta(days=(day.weekday() - 6) % 7)


NINE = ruleset(
    {
        "name": "nine",
        "on": {"kind": "badge_in"},
        "when": {"between": ["09:00", "09:30"]},
        "do": {"action": "start"},
    }
)


@settings(max_examples=200, deadline=None)
@given(year=st.integers(2000, 2037), month=st.sampled_from([3, 10]), shift=st.integers(-4, 4))
def test_0900_berlin_window_holds_on_both_sides_of_dst(year: int, month: int, shift: int) -> None:
    """09:00 in Berlin matches a 09:00 window before and after a DST change; 08:59 does not."""
    day = _dst_change(year, month) + timedelta(days=shift)
    who = person()
    nine = datetime.combine(day, time(9, 0), BERLIN)
    just_before = datetime.combine(day, time(8, 59), BERLIN)
    closing = datetime.combine(day, time(9, 30), BERLIN)
    for at, expected in [(nine, True), (just_before, False), (closing, False)]:
        utc = at.astimezone(ZoneInfo("UTC"))  # as a source would deliver it
        t = trigger("badge_in", who.email, utc, "webhook:kisi-hq")
        d = evaluate(t, who, NINE, now=utc, facts=StaticFacts())
        assert d.matched is expected, (at, d.verdicts)
