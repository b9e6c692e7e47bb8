"""Calendar feeds turn into shift start/end triggers at the right instants, for the right people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.scheduler.conftest import ICS, MakeRules
from worker.scheduler.calendars import CalendarError, calendar_fires, parse_calendar
from worker.scheduler.fires import Fire


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def load(name: str):  # type: ignore[no-untyped-def]
    return parse_calendar((ICS / name).read_bytes())


def edges(fires: list[Fire]) -> list[tuple[str, str, datetime]]:
    return [(f.trigger.attributes["uid"], f.trigger.kind.value, f.at) for f in fires]


def feed(name: str, file: str, **extra: object) -> dict[str, object]:
    return {"name": name, "path": f"calendars/{file}", **extra}


def test_berlin_recurrence_exdate_moved_cancelled_and_dst(make_rules: MakeRules) -> None:
    """Daily shifts across Berlin's spring-forward: EXDATE, moved, cancelled."""
    ruleset = make_rules(
        calendars=[feed("ana", "berlin-dst.ics", person="ana@example.com")], ics=["berlin-dst.ics"]
    )
    source = ruleset.sources.calendars[0]
    plan = calendar_fires(
        source, load("berlin-dst.ics"), ruleset.directory, utc(2026, 3, 25), utc(2026, 4, 3)
    )
    assert edges(plan.fires) == [
        ("day@test", "shift_start", utc(2026, 3, 26, 8)),  # 09:00 CET
        ("day@test", "shift_end", utc(2026, 3, 26, 16)),
        ("day@test", "shift_start", utc(2026, 3, 27, 8)),
        ("day@test", "shift_end", utc(2026, 3, 27, 16)),
        # 03-28 is an EXDATE; 03-27 all-day "Team day" is ignored by default
        ("gap@test", "shift_start", utc(2026, 3, 29, 1, 30)),  # 02:30 does not exist: 03:30 CEST
        ("gap@test", "shift_end", utc(2026, 3, 29, 2)),  # 04:00 CEST
        ("day@test", "shift_start", utc(2026, 3, 29, 7)),  # 09:00 CEST after the change
        ("day@test", "shift_end", utc(2026, 3, 29, 15)),
        ("day@test", "shift_start", utc(2026, 3, 30, 9)),  # moved to 11:00 CEST
        ("day@test", "shift_end", utc(2026, 3, 30, 17)),
        # 03-31 is STATUS:CANCELLED
        ("day@test", "shift_start", utc(2026, 4, 1, 7)),
        ("day@test", "shift_end", utc(2026, 4, 1, 15)),
    ]
    moved = next(f for f in plan.fires if f.at == utc(2026, 3, 30, 9))
    # the id keeps the original start (RECURRENCE-ID), so it is stable if the move changes again
    assert moved.id == "calendar:ana:day@test:2026-03-30T07:00:00Z:start:ana@example.com"
    assert moved.trigger.source == "calendar:ana"
    assert moved.trigger.attributes["summary"] == "Day shift (late start)"
    assert moved.trigger.attributes["location"] == "Berlin HQ"
    assert moved.trigger.subject == "ana@example.com"
    again = calendar_fires(
        source, load("berlin-dst.ics"), ruleset.directory, utc(2026, 3, 25), utc(2026, 4, 3)
    )
    assert [f.id for f in again.fires] == [f.id for f in plan.fires]


def test_berlin_fall_back_ambiguous_start_is_first_occurrence(make_rules: MakeRules) -> None:
    """An event at 02:30 on fall-back day starts at the first 02:30 (CEST)."""
    ruleset = make_rules(
        calendars=[feed("ana", "berlin-dst.ics", person="ana@example.com")], ics=["berlin-dst.ics"]
    )
    plan = calendar_fires(
        ruleset.sources.calendars[0],
        load("berlin-dst.ics"),
        ruleset.directory,
        utc(2026, 10, 24),
        utc(2026, 10, 26),
    )
    assert edges(plan.fires) == [
        ("fold@test", "shift_start", utc(2026, 10, 25, 0, 30)),
        ("fold@test", "shift_end", utc(2026, 10, 25, 5)),  # 06:00 CET
    ]


def test_all_day_events_only_when_included(make_rules: MakeRules) -> None:
    """All-day events are not shifts unless include_all_day; then local midnight to midnight."""
    ruleset = make_rules(
        calendars=[feed("ana", "berlin-dst.ics", person="ana@example.com", include_all_day=True)],
        ics=["berlin-dst.ics"],
    )
    plan = calendar_fires(
        ruleset.sources.calendars[0],
        load("berlin-dst.ics"),
        ruleset.directory,
        utc(2026, 3, 26, 20),
        utc(2026, 3, 27, 23, 30),
    )
    assert ("teamday@test", "shift_start", utc(2026, 3, 26, 23)) in edges(plan.fires)
    assert ("teamday@test", "shift_end", utc(2026, 3, 27, 23)) in edges(plan.fires)
    assert plan.fires[0].id == "calendar:ana:teamday@test:2026-03-27:start:ana@example.com"


def test_chicago_night_shifts_cross_midnight_and_dst_with_x_wr_timezone(
    make_rules: MakeRules,
) -> None:
    """Floating night shifts read in X-WR-TIMEZONE: 7 h / 9 h on DST nights."""
    ruleset = make_rules(
        calendars=[
            feed("bo", "chicago-night.ics", person="bo@example.com", timezone="Europe/Berlin")
        ],
        ics=["chicago-night.ics"],
    )
    source = ruleset.sources.calendars[0]
    plan = calendar_fires(
        source, load("chicago-night.ics"), ruleset.directory, utc(2026, 3, 7), utc(2026, 3, 16)
    )
    assert edges(plan.fires) == [
        ("night@test", "shift_start", utc(2026, 3, 8, 4)),  # Sat 22:00 CST
        ("night@test", "shift_end", utc(2026, 3, 8, 11)),  # Sun 06:00 CDT
        ("night@test", "shift_start", utc(2026, 3, 15, 3)),  # 22:00 CDT
        ("night@test", "shift_end", utc(2026, 3, 15, 11)),
        # the training week is a cancelled series (STATUS:CANCELLED on the master): nothing
    ]
    fall = calendar_fires(
        source, load("chicago-night.ics"), ruleset.directory, utc(2026, 10, 31), utc(2026, 11, 2)
    )
    assert edges(fall.fires) == [
        ("night-fall@test", "shift_start", utc(2026, 11, 1, 3)),
        ("night-fall@test", "shift_end", utc(2026, 11, 1, 12)),
    ]


def test_floating_times_use_source_zone_else_person_zone(make_rules: MakeRules) -> None:
    """Floating times without X-WR-TIMEZONE: source zone, else person's; Z is UTC."""
    ruleset = make_rules(
        calendars=[
            feed("bo-own", "floating.ics", person="bo@example.com"),
            feed("bo-syd", "floating.ics", person="bo@example.com", timezone="Australia/Sydney"),
        ],
        ics=["floating.ics"],
    )
    own, syd = ruleset.sources.calendars
    window = (utc(2026, 3, 7), utc(2026, 3, 9))
    mine = calendar_fires(own, load("floating.ics"), ruleset.directory, *window)
    assert ("float@test", "shift_start", utc(2026, 3, 8, 14)) in edges(mine.fires)  # 09:00 CDT
    assert ("utc@test", "shift_start", utc(2026, 3, 8, 15)) in edges(mine.fires)
    theirs = calendar_fires(syd, load("floating.ics"), ruleset.directory, *window)
    assert ("float@test", "shift_start", utc(2026, 3, 7, 22)) in edges(theirs.fires)  # 09:00 AEDT
    assert ("utc@test", "shift_start", utc(2026, 3, 8, 15)) in edges(theirs.fires)


def test_sydney_windows_zone_names_and_both_dst_changes(make_rules: MakeRules) -> None:
    """Outlook's 'AUS Eastern Standard Time' is Australia/Sydney; gap and fold follow RFC 5545."""
    ruleset = make_rules(
        calendars=[
            feed(
                "cy",
                "sydney-windows.ics",
                person="cy@example.com",
                start_offset="-5m",
                end_offset="10m",
            )
        ],
        ics=["sydney-windows.ics"],
    )
    source = ruleset.sources.calendars[0]
    april = calendar_fires(
        source, load("sydney-windows.ics"), ruleset.directory, utc(2026, 4, 3), utc(2026, 4, 7)
    )
    five, ten = timedelta(minutes=5), timedelta(minutes=10)
    assert edges(april.fires) == [
        ("syd-day@test", "shift_start", utc(2026, 4, 3, 22) - five),  # 09:00 AEDT
        ("syd-day@test", "shift_end", utc(2026, 4, 4, 6) + ten),
        ("syd-fold@test", "shift_start", utc(2026, 4, 4, 15, 30) - five),  # first 02:30 (AEDT)
        ("syd-fold@test", "shift_end", utc(2026, 4, 4, 20) + ten),  # 06:00 AEST
        ("syd-day@test", "shift_start", utc(2026, 4, 4, 23) - five),  # 09:00 AEST on 04-05
        ("syd-day@test", "shift_end", utc(2026, 4, 5, 7) + ten),  # 17:00 AEST
        ("syd-day@test", "shift_start", utc(2026, 4, 5, 23) - five),  # 09:00 AEST
        ("syd-day@test", "shift_end", utc(2026, 4, 6, 7) + ten),
    ]
    october = calendar_fires(
        source, load("sydney-windows.ics"), ruleset.directory, utc(2026, 10, 3), utc(2026, 10, 5)
    )
    assert edges(october.fires) == [
        ("syd-gap@test", "shift_start", utc(2026, 10, 3, 16, 30) - five),  # 02:30 -> 03:30 AEDT
        ("syd-gap@test", "shift_end", utc(2026, 10, 3, 19) + ten),
    ]


def test_team_feed_mapped_by_attendee(make_rules: MakeRules) -> None:
    """Attendee emails (any case) pick the person; strangers and unmapped events are reported."""
    ruleset = make_rules(
        calendars=[feed("team", "team-attendee.ics", person_by="attendee")],
        ics=["team-attendee.ics"],
    )
    plan = calendar_fires(
        ruleset.sources.calendars[0],
        load("team-attendee.ics"),
        ruleset.directory,
        utc(2026, 3, 1),
        utc(2026, 3, 31),
    )
    assert [(f.email, f.trigger.kind.value, f.at) for f in plan.fires] == [
        ("bo@example.com", "shift_start", utc(2026, 3, 8, 13)),  # 08:00 CDT (first CDT day)
        ("bo@example.com", "shift_end", utc(2026, 3, 8, 21)),
        ("ana@example.com", "shift_start", utc(2026, 3, 29, 4)),  # W. Europe Standard Time, CEST
        ("ana@example.com", "shift_end", utc(2026, 3, 29, 12)),
    ]
    assert len(plan.problems) == 1
    assert "nobody@team" in plan.problems[0]


def test_team_feed_mapped_by_summary_name_or_email(make_rules: MakeRules) -> None:
    """A summary pattern with a `name` group maps events to people; no match is reported."""
    ruleset = make_rules(
        calendars=[
            feed(
                "by-name",
                "team-summary.ics",
                person_by="summary",
                summary_pattern=r":\s*(?P<name>.+)$",
            ),
        ],
        ics=["team-summary.ics"],
    )
    plan = calendar_fires(
        ruleset.sources.calendars[0],
        load("team-summary.ics"),
        ruleset.directory,
        utc(2026, 10, 1),
        utc(2026, 10, 31),
    )
    assert [(f.email, f.trigger.kind.value, f.at) for f in plan.fires] == [
        ("cy@example.com", "shift_start", utc(2026, 10, 3, 22)),  # 09:00 AEDT, first DST day
        ("cy@example.com", "shift_end", utc(2026, 10, 4, 6)),
        ("ana@example.com", "shift_start", utc(2026, 10, 25, 6)),
        ("ana@example.com", "shift_end", utc(2026, 10, 25, 14)),
    ]
    assert any("Somebody Unknown" in p for p in plan.problems)


def test_people_listing_the_calendar_get_its_shifts(make_rules: MakeRules, tmp_path: Path) -> None:
    """Without person/person_by, the people whose `calendars` list the feed get its shifts."""
    people = [
        {"email": "ana@example.com", "timezone": "Europe/Berlin", "calendars": ["shared"]},
        {"email": "bo@example.com", "timezone": "America/Chicago"},
    ]
    ruleset = make_rules(
        people=people, calendars=[feed("shared", "floating.ics")], ics=["floating.ics"]
    )
    plan = calendar_fires(
        ruleset.sources.calendars[0],
        load("floating.ics"),
        ruleset.directory,
        utc(2026, 3, 7),
        utc(2026, 3, 9),
    )
    assert {f.email for f in plan.fires} == {"ana@example.com"}
    assert ("float@test", "shift_start", utc(2026, 3, 8, 8)) in edges(plan.fires)  # 09:00 CET


def test_garbage_is_not_a_calendar() -> None:
    """An HTML login page instead of a feed is refused with a clear error."""
    with pytest.raises(CalendarError, match="not an iCalendar"):
        parse_calendar(b"<html><body>Please sign in</body></html>")
