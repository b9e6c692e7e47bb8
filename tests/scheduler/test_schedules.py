"""Schedules fire at the same wall time in every person's zone, once a day, even on DST days."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from tests.scheduler.conftest import MakeRules
from worker.scheduler.schedules import local_instant, schedule_fires

BERLIN = ZoneInfo("Europe/Berlin")
CHICAGO = ZoneInfo("America/Chicago")
SYDNEY = ZoneInfo("Australia/Sydney")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_nonexistent_wall_time_is_shifted_forward_by_the_gap() -> None:
    """02:30 does not exist on spring-forward days: it fires once, at 03:30 (new offset)."""
    assert local_instant(datetime(2026, 3, 29).date(), time(2, 30), BERLIN) == utc(
        2026, 3, 29, 1, 30
    )
    assert local_instant(datetime(2026, 3, 8).date(), time(2, 30), CHICAGO) == utc(
        2026, 3, 8, 8, 30
    )
    assert local_instant(datetime(2026, 10, 4).date(), time(2, 30), SYDNEY) == utc(
        2026, 10, 3, 16, 30
    )
    assert utc(2026, 3, 29, 1, 30).astimezone(BERLIN).strftime("%H:%M %Z") == "03:30 CEST"


def test_ambiguous_wall_time_fires_at_its_first_occurrence() -> None:
    """A wall time that happens twice on fall-back days is the first (summer-time) one."""
    assert local_instant(datetime(2026, 10, 25).date(), time(2, 30), BERLIN) == utc(
        2026, 10, 25, 0, 30
    )
    assert local_instant(datetime(2026, 11, 1).date(), time(1, 30), CHICAGO) == utc(
        2026, 11, 1, 6, 30
    )
    assert local_instant(datetime(2026, 4, 5).date(), time(2, 30), SYDNEY) == utc(
        2026, 4, 4, 15, 30
    )


def test_one_rule_fires_in_each_persons_zone_across_dst(make_rules: MakeRules) -> None:
    """19:00 Mon-Sun is 19:00 local for Berlin, Chicago and Sydney, across their DST change."""
    ruleset = make_rules(
        schedules=[
            {
                "name": "eod",
                "at": "19:00",
                "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            }
        ]
    )
    fires = schedule_fires(
        ruleset.sources.schedules, ruleset.directory, utc(2026, 3, 27, 0, 0), utc(2026, 3, 31, 0, 0)
    )
    ana = [f.at for f in fires if f.email == "ana@example.com"]
    assert ana == [
        utc(2026, 3, 27, 18),
        utc(2026, 3, 28, 18),
        utc(2026, 3, 29, 17),
        utc(2026, 3, 30, 17),
    ]
    for fire in fires:
        person = ruleset.directory.by_email(fire.email)
        assert person is not None
        assert fire.at.astimezone(person.zone).strftime("%H:%M") == "19:00"
        local_date = fire.at.astimezone(person.zone).date().isoformat()
        assert fire.id == f"schedule:eod:{fire.email}:{local_date}"
        assert fire.trigger.source == "schedule:eod"
        assert fire.trigger.kind.value == "tick"
        assert fire.trigger.attributes["schedule"] == "eod"
        assert fire.trigger.occurred_at.utcoffset() is not None
    chicago = [f.at for f in fires if f.email == "bo@example.com"]
    # Chicago's DST change (03-08) is before the window: CDT all along, 00:00Z next day
    assert chicago[0] == utc(2026, 3, 27, 0, 0) or chicago[0] == utc(2026, 3, 28, 0, 0)


def test_gap_and_fold_days_fire_exactly_once(make_rules: MakeRules) -> None:
    """A 02:30 schedule fires once on spring-forward and once on fall-back day, for each zone."""
    ruleset = make_rules(schedules=[{"name": "night-check", "at": "02:30", "weekdays": ["sun"]}])
    for day, zone, email in [
        (datetime(2026, 3, 29), BERLIN, "ana@example.com"),
        (datetime(2026, 10, 25), BERLIN, "ana@example.com"),
        (datetime(2026, 3, 8), CHICAGO, "bo@example.com"),
        (datetime(2026, 11, 1), CHICAGO, "bo@example.com"),
        (datetime(2026, 4, 5), SYDNEY, "cy@example.com"),
        (datetime(2026, 10, 4), SYDNEY, "cy@example.com"),
    ]:
        start = day.replace(tzinfo=zone).astimezone(UTC)
        end = day.replace(hour=23, minute=59, tzinfo=zone).astimezone(UTC)
        fires = [
            f
            for f in schedule_fires(ruleset.sources.schedules, ruleset.directory, start, end)
            if f.email == email
        ]
        assert len(fires) == 1, (day, zone)
        assert fires[0].at.astimezone(zone).date() == day.date()


def test_people_and_groups_select_who_a_schedule_fires_for(make_rules: MakeRules) -> None:
    """A schedule with people/groups fires only for them; weekdays are the local weekdays."""
    ruleset = make_rules(
        schedules=[
            {"name": "night-end", "at": "06:00", "groups": ["night"], "weekdays": ["mon"]},
            {"name": "ana-only", "at": "12:00", "people": ["ana@example.com"]},
        ]
    )
    fires = schedule_fires(
        ruleset.sources.schedules, ruleset.directory, utc(2026, 3, 29, 0), utc(2026, 3, 31, 0)
    )
    assert {(f.trigger.source, f.email) for f in fires} == {
        ("schedule:night-end", "cy@example.com"),
        ("schedule:ana-only", "ana@example.com"),
    }
    night = next(f for f in fires if f.trigger.source == "schedule:night-end")
    # Monday 06:00 in Sydney is Sunday 19:00 UTC
    assert night.at == utc(2026, 3, 29, 19, 0)
