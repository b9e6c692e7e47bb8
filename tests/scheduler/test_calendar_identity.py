"""Each calendar occurrence has its own identity (UID + original start), and no event is dropped
without a problem line naming its feed and UID — on hand-written exports of each shape."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.scheduler.conftest import ICS, MakeRules
from worker.scheduler.calendars import calendar_fires, parse_calendar
from worker.scheduler.fires import Fire

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def berlin(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN).astimezone(UTC)


def key(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_of(make_rules: MakeRules, file: str, start: datetime, end: datetime, **extra: object):  # type: ignore[no-untyped-def]
    ruleset = make_rules(
        calendars=[{"name": "shifts", "path": f"calendars/{file}", **extra}], ics=[file]
    )
    calendar = parse_calendar((ICS / file).read_bytes())
    return calendar_fires(ruleset.sources.calendars[0], calendar, ruleset.directory, start, end)


def occurrence(fire: Fire) -> str:
    """The occurrence part of ``calendar:<feed>:<UID>:<occurrence>:<edge>:<email>``."""
    prefix = f"{fire.trigger.source}:{fire.trigger.attributes['uid']}:"
    assert fire.id.startswith(prefix)
    return fire.id[len(prefix) :].rsplit(":", 2)[0]


def starts(fires: list[Fire]) -> list[tuple[str, datetime, str]]:
    return [
        (occurrence(f), f.at, f.trigger.attributes["summary"])
        for f in fires
        if f.trigger.kind.value == "shift_start"
    ]


def weekdays(first: date, last: date) -> list[date]:
    days = [first + timedelta(n) for n in range((last - first).days + 1)]
    return [d for d in days if d.weekday() < 5]


def test_two_thisandfuture_overrides_keep_each_instance_its_own_original_start(
    make_rules: MakeRules,
) -> None:
    """DAVx5 (ical4j): 20 weekday shifts at 06:00; from 03-09 'THISANDFUTURE' moves them to
    07:00, from 03-18 to 14:00 (late shift); one RDATE;VALUE=PERIOD Saturday 08:00-12:00."""
    plan = plan_of(
        make_rules,
        "davx5-thisandfuture.ics",
        utc(2026, 3, 1),
        utc(2026, 4, 1),
        person="ana@example.com",
    )
    expected = []
    for day in weekdays(date(2026, 3, 2), date(2026, 3, 27)):
        hour, summary = 6, "Warehouse early shift"
        if day >= date(2026, 3, 9):
            hour, summary = 7, "Warehouse early shift (later start)"
        if day >= date(2026, 3, 18):
            hour, summary = 14, "Warehouse late shift"
        expected.append((key(berlin(day, 6)), berlin(day, hour), summary))
    saturday = date(2026, 3, 7)
    expected.append((key(berlin(saturday, 8)), berlin(saturday, 8), "Warehouse early shift"))
    assert sorted(starts(plan.fires)) == sorted(expected)
    ends = {f.id: f.at for f in plan.fires if f.trigger.kind.value == "shift_end"}
    uid = "7d1c5b5e-2f0a-4d57-9a55-1b0f2c7d9e11"
    saturday_end = f"calendar:shifts:{uid}:{key(berlin(saturday, 8))}:end:ana@example.com"
    assert ends[saturday_end] == berlin(saturday, 12)  # the PERIOD's own end
    assert len(plan.fires) == 2 * 21
    assert len({f.id for f in plan.fires}) == len(plan.fires)
    assert plan.problems == []


def test_lotus_notes_component_without_master_fires_each_rdate_period(
    make_rules: MakeRules,
) -> None:
    """Lotus Notes: one VEVENT with RECURRENCE-ID;RANGE=THISANDFUTURE, RDATE;VALUE=PERIOD and
    a VTIMEZONE named 'W. Europe' — no master. All four instances fire, each with its own id
    and its own end; the missing master is reported as a warning."""
    plan = plan_of(
        make_rules,
        "lotus-masterless-period.ics",
        utc(2026, 3, 1),
        utc(2026, 4, 15),
        person="ana@example.com",
    )
    edges = sorted((f.trigger.kind.value, f.at) for f in plan.fires)
    assert edges == sorted(
        [
            ("shift_start", utc(2026, 3, 16, 8)),  # 09:00 CET in its own VTIMEZONE
            ("shift_end", utc(2026, 3, 16, 16)),
            ("shift_start", utc(2026, 3, 19, 8)),
            ("shift_end", utc(2026, 3, 19, 16)),
            ("shift_start", utc(2026, 3, 24, 12)),
            ("shift_end", utc(2026, 3, 24, 20)),
            ("shift_start", utc(2026, 3, 30, 7)),  # after the change: 09:00 CEST
            ("shift_end", utc(2026, 3, 30, 15)),
        ]
    )
    assert len({f.id for f in plan.fires}) == 8
    uid = "A47D3F0B9E12C6D1C1258D7A002F1E5B-Lotus_Notes_Generated"
    assert {occurrence(f) for f in plan.fires} == {
        "2026-03-16T08:00:00Z",
        "2026-03-19T08:00:00Z",
        "2026-03-24T12:00:00Z",
        "2026-03-30T07:00:00Z",
    }
    assert len(plan.problems) == 1
    assert plan.problems[0].startswith(f"calendar shifts: event {uid!r} warning: no master event")
    assert [(p.uid, p.kind, p.skipped) for p in plan.events] == [(uid, "orphan", False)]


def test_exchange_malformed_rrule_tolerated_or_reported_and_unknown_zone_reported(
    make_rules: MakeRules,
) -> None:
    """Exchange: BYDAY with spaces is read (warning); a rule that means nothing and a TZID
    nobody knows are skipped with a problem naming the feed and the UID. The Windows zone in
    the calendar's X-WR-TIMEZONE of another zone still fires at Berlin time."""
    plan = plan_of(
        make_rules,
        "exchange-malformed.ics",
        utc(2026, 3, 1),
        utc(2026, 3, 31),
        person="ana@example.com",
    )
    assert [at for _, at, _ in starts(plan.fires)] == [
        berlin(d, 8) for d in weekdays(date(2026, 3, 2), date(2026, 3, 13))
    ]
    front = (
        "040000008200E00074C5B7101A82E00800000000D0A1C2E3F4A5DC01000000000000000010000000"
        "A1B2C3D4E5F60718293A4B5C6D7E8F90"
    )
    bad_rule = (
        "040000008200E00074C5B7101A82E00800000000BADBADBADBADBADBAD000000000000000010000000BADRULE"
    )
    no_zone = (
        "040000008200E00074C5B7101A82E00800000000C0FFEEC0FFEEC0FFEE000000000000000010000000NOZONE"
    )
    assert [(p.uid, p.kind, p.skipped) for p in plan.events] == [
        (front, "malformed_rrule", False),
        (bad_rule, "malformed_rrule", True),
        (no_zone, "unknown_zone", True),
    ]
    lines = "\n".join(plan.problems)
    assert f"calendar shifts: event {front[:120]!r} warning: RRULE" in lines
    assert "BYDAY=MO,TU,WE,TH,FR" in lines
    assert f"calendar shifts: event {bad_rule[:120]!r} skipped: RRULE 'FREQ=FORTNIGHTLY" in lines
    assert (
        f"event {no_zone[:120]!r} skipped: unknown time zone TZID 'Pacific Atlantis Time'" in lines
    )


def test_google_override_without_master_fires_under_its_original_start(
    make_rules: MakeRules,
) -> None:
    """Google: an attendee sees only one (moved) instance of someone else's series."""
    plan = plan_of(
        make_rules,
        "google-orphan.ics",
        utc(2026, 3, 1),
        utc(2026, 4, 2),
        person_by="attendee",
    )
    cover = [f for f in plan.fires if "Cover" in f.trigger.attributes["summary"]]
    assert [(occurrence(f), f.at) for f in cover] == [
        ("2026-03-10T08:00:00Z", berlin(date(2026, 3, 10), 10)),
        ("2026-03-10T08:00:00Z", berlin(date(2026, 3, 10), 16)),
    ]
    assert any(
        p.startswith("calendar shifts: event '4k9s2m1q8v7c3t0r5p6n2b1x9z@google.com' warning:")
        and "without the master event" in p
        for p in plan.problems
    )
    # the series without attendees maps to nobody: reported once per occurrence, by UID
    assert any("'0p3k5j7h9g1f2d4s6a8q@google.com'" in p and "nobody" in p for p in plan.problems)


def test_ids_are_unique_across_every_fixture(make_rules: MakeRules) -> None:
    """The class: in every export shape, no two different fires share an id."""
    for file in sorted(p.name for p in ICS.glob("*.ics")):
        plan = plan_of(
            make_rules, file, utc(2026, 1, 1), utc(2026, 12, 31), person="ana@example.com"
        )
        counts = Counter(f.id for f in plan.fires)
        assert [i for i, n in counts.items() if n > 1] == [], file
        assert not [e for e in plan.events if e.kind == "collision"], file


def test_events_without_uid_are_each_planned_not_merged_into_one_series(
    make_rules: MakeRules,
) -> None:
    """Two UID-less events (a hand-made export) starting at the same time are two events."""
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hand made//EN\r\n"
        "BEGIN:VEVENT\r\nDTSTART:20260302T070000Z\r\nDTEND:20260302T150000Z\r\n"
        "SUMMARY:Till A\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nDTSTART:20260302T070000Z\r\nDTEND:20260302T110000Z\r\n"
        "SUMMARY:Till B\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    ruleset = make_rules(
        calendars=[
            {"name": "shifts", "path": "calendars/berlin-dst.ics", "person": "ana@example.com"}
        ],
        ics=["berlin-dst.ics"],
    )
    plan = calendar_fires(
        ruleset.sources.calendars[0],
        parse_calendar(body.encode()),
        ruleset.directory,
        utc(2026, 3, 1),
        utc(2026, 3, 3),
    )
    assert sorted((f.trigger.attributes["summary"], f.at) for f in plan.fires) == [
        ("Till A", utc(2026, 3, 2, 7)),
        ("Till A", utc(2026, 3, 2, 15)),
        ("Till B", utc(2026, 3, 2, 7)),
        ("Till B", utc(2026, 3, 2, 11)),
    ]
    assert len({f.id for f in plan.fires}) == 4


def test_a_series_whose_rrule_ends_before_it_starts_is_reported_not_dropped_silently(
    make_rules: MakeRules,
) -> None:
    """Thunderbird-like: UNTIL before DTSTART. The expander produces nothing for it, not even
    DTSTART; that is a problem line naming the feed and the UID. An EXDATE'd first instance is
    not a problem."""
    plan = plan_of(
        make_rules,
        "thunderbird-until.ics",
        utc(2026, 3, 1),
        utc(2026, 4, 1),
        person="ana@example.com",
    )
    assert sorted({f.trigger.attributes["uid"] for f in plan.fires}) == ["ok-series"]
    assert plan.problems == [
        "calendar shifts: event '7f3e2c1a-thunderbird-until' skipped: its first instance "
        "(2026-03-10T14:00:00+01:00) is not produced by the expansion of RRULE "
        "'FREQ=DAILY;UNTIL=20260301T000000Z' (UNTIL before DTSTART?)"
    ]


def test_a_booking_system_reusing_one_uid_plans_every_booking_and_says_so(
    make_rules: MakeRules,
) -> None:
    """Three bookings under one UID (plus an exact copy of one): each is planned under its own
    start; a block with a newer SEQUENCE replaces its older version. Both are warnings."""
    plan = plan_of(
        make_rules,
        "booking-shared-uid.ics",
        utc(2026, 3, 1),
        utc(2026, 3, 8),
        person="ana@example.com",
    )
    assert sorted(starts(plan.fires)) == [
        ("2026-03-03T08:00:00Z", utc(2026, 3, 3, 8), "Booking #4411 - Massage room 2"),
        ("2026-03-04T13:00:00Z", utc(2026, 3, 4, 13), "Booking #4420 - Massage room 1"),
        ("2026-03-05T08:00:00Z", utc(2026, 3, 5, 8), "Booking #4425 - Massage room 2"),
        ("2026-03-06T14:00:00Z", utc(2026, 3, 6, 14), "Room block"),
    ]
    assert len({f.id for f in plan.fires}) == len(plan.fires) == 8
    assert plan.problems == [
        "calendar shifts: event 'staff-17@bookly.example' warning: 3 different events share "
        "this UID (same SEQUENCE); each is planned as its own event",
        "calendar shifts: event 'room-block-9@bookly.example' warning: 1 older version(s) "
        "(SEQUENCE below 1) ignored",
    ]
