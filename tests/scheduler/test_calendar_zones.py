"""Each calendar event fires in its own TZID's zone, whatever else the calendar says.

The matrix: a Windows zone name as TZID x ``X-WR-TIMEZONE`` absent / naming another zone x an
Outlook-style ``VTIMEZONE`` (no ``TZNAME``) absent / present x days on both sides of each DST
change. Expected instants are computed here with ``zoneinfo`` from the IANA name the Windows
name stands for (CLDR windowsZones), not with the code under test.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.scheduler.conftest import MakeRules
from worker.scheduler.calendars import calendar_fires, parse_calendar

#: Windows name -> (IANA name, Outlook VTIMEZONE body, the 2026 DST changes as local dates).
ZONES: dict[str, tuple[str, str, tuple[date, date]]] = {
    "W. Europe Standard Time": (
        "Europe/Berlin",
        "STANDARD:16010101T030000:+0200:+0100:-1SU:10|DAYLIGHT:16010101T020000:+0100:+0200:-1SU:3",
        (date(2026, 3, 29), date(2026, 10, 25)),
    ),
    "GMT Standard Time": (
        "Europe/London",
        "STANDARD:16010101T020000:+0100:+0000:-1SU:10|DAYLIGHT:16010101T010000:+0000:+0100:-1SU:3",
        (date(2026, 3, 29), date(2026, 10, 25)),
    ),
    "Eastern Standard Time": (
        "America/New_York",
        "STANDARD:16010101T020000:-0400:-0500:1SU:11|DAYLIGHT:16010101T020000:-0500:-0400:2SU:3",
        (date(2026, 3, 8), date(2026, 11, 1)),
    ),
    "AUS Eastern Standard Time": (
        "Australia/Sydney",
        "STANDARD:16010101T030000:+1100:+1000:1SU:4|DAYLIGHT:16010101T020000:+1000:+1100:1SU:10",
        (date(2026, 4, 5), date(2026, 10, 4)),
    ),
}

#: X-WR-TIMEZONE values that differ from every zone above (and none).
X_WR = [None, "America/Los_Angeles", "Europe/London"]


def _vtimezone(tzid: str, spec: str) -> str:
    """An Outlook-style VTIMEZONE: year-1601 rules, no TZNAME."""
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    for part in spec.split("|"):
        kind, start, frm, to, day, month = part.split(":")
        lines += [
            f"BEGIN:{kind}",
            f"DTSTART:{start}",
            f"TZOFFSETFROM:{frm}",
            f"TZOFFSETTO:{to}",
            f"RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY={day};BYMONTH={month}",
            f"END:{kind}",
        ]
    return "\r\n".join([*lines, "END:VTIMEZONE"])


def _calendar(tzid: str, change: date, x_wr: str | None, vtimezone: bool) -> bytes:
    """A daily 09:00-17:00 series from 4 days before ``change`` to 3 days after, plus a single
    07:30-15:30 event 2 days after it and a floating 10:00-11:00 event the day before."""
    first = change - timedelta(days=4)
    after = change + timedelta(days=2)
    before = change - timedelta(days=1)
    d = "%Y%m%d"
    lines = [
        "BEGIN:VCALENDAR",
        "METHOD:PUBLISH",
        "PRODID:Microsoft Exchange Server 2010",
        "VERSION:2.0",
        "X-WR-CALNAME:Shifts",
    ]
    if x_wr:
        lines.append(f"X-WR-TIMEZONE:{x_wr}")
    if vtimezone:
        lines.append(_vtimezone(tzid, ZONES[tzid][1]))
    lines += [
        "BEGIN:VEVENT",
        "UID:040000008200E00074C5B7101A82E008000000001",
        "SUMMARY:Early shift",
        f"DTSTART;TZID={tzid}:{first:{d}}T090000",
        f"DTEND;TZID={tzid}:{first:{d}}T170000",
        "RRULE:FREQ=DAILY;COUNT=8",
        "DTSTAMP:20260101T000000Z",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:040000008200E00074C5B7101A82E008000000002",
        "SUMMARY:Stocktake",
        f"DTSTART;TZID={tzid}:{after:{d}}T073000",
        f"DTEND;TZID={tzid}:{after:{d}}T153000",
        "DTSTAMP:20260101T000000Z",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:floating-briefing",
        "SUMMARY:Briefing",
        f"DTSTART:{before:{d}}T100000",
        f"DTEND:{before:{d}}T110000",
        "DTSTAMP:20260101T000000Z",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def _at(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)


CASES = [
    (tzid, which, x_wr, vtz)
    for tzid, x_wr, vtz, which in itertools.product(ZONES, X_WR, (True, False), (0, 1))
]


@pytest.mark.parametrize(("tzid", "which", "x_wr", "vtimezone"), CASES)
def test_windows_tzid_fires_in_its_own_zone(
    make_rules: MakeRules,
    tmp_path: Path,
    tzid: str,
    which: int,
    x_wr: str | None,
    vtimezone: bool,
) -> None:
    iana, _, changes = ZONES[tzid]
    change = changes[which]
    body = _calendar(tzid, change, x_wr, vtimezone)
    (tmp_path / "rules" / "calendars").mkdir(parents=True)
    (tmp_path / "rules" / "calendars" / "x.ics").write_bytes(body)
    ruleset = make_rules(
        calendars=[{"name": "outlook", "path": "calendars/x.ics", "person": "ana@example.com"}]
    )
    calendar = parse_calendar(body)
    start = datetime.combine(change - timedelta(days=6), time(0), tzinfo=UTC)
    plan = calendar_fires(
        ruleset.sources.calendars[0], calendar, ruleset.directory, start, start + timedelta(10)
    )
    got = sorted(
        (f.trigger.attributes["summary"], f.trigger.kind.value.removeprefix("shift_"), f.at)
        for f in plan.fires
    )
    floating_zone = x_wr or "Europe/Berlin"  # else the person's zone (ana: Europe/Berlin)
    expected = []
    for n in range(8):
        day = change - timedelta(days=4 - n)
        expected += [
            ("Early shift", "start", _at(day, 9, 0, iana)),
            ("Early shift", "end", _at(day, 17, 0, iana)),
        ]
    after = change + timedelta(days=2)
    before = change - timedelta(days=1)
    expected += [
        ("Stocktake", "start", _at(after, 7, 30, iana)),
        ("Stocktake", "end", _at(after, 15, 30, iana)),
        ("Briefing", "start", _at(before, 10, 0, floating_zone)),
        ("Briefing", "end", _at(before, 11, 0, floating_zone)),
    ]
    assert got == sorted(expected)
    assert plan.problems == []


def _custom_zone_feed(tzid: str, spec: str) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:Microsoft Exchange Server 2010",
        "VERSION:2.0",
        _vtimezone(tzid, spec),
        "BEGIN:VEVENT",
        "UID:custom-zone-shift",
        "SUMMARY:Shift",
        f"DTSTART;TZID={tzid}:20260329T023000",
        f"DTEND;TZID={tzid}:20260329T090000",
        "DTSTAMP:20260101T000000Z",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_a_feeds_own_vtimezone_decides_its_times_not_another_feeds(
    make_rules: MakeRules, tmp_path: Path
) -> None:
    """Two feeds both call their zone 'Customized Time Zone' (Outlook does) with different
    rules: each is read with its own VTIMEZONE, whichever was parsed first. Berlin's rules put
    02:30 on 2026-03-29 in the spring-forward gap: the offset before it applies (01:30Z)."""
    tzid = f"Customized Time Zone {uuid.uuid4().hex[:8]}"
    (tmp_path / "rules" / "calendars").mkdir(parents=True)
    (tmp_path / "rules" / "calendars" / "x.ics").write_bytes(b"")
    ruleset = make_rules(
        calendars=[{"name": "outlook", "path": "calendars/x.ics", "person": "ana@example.com"}]
    )
    source = ruleset.sources.calendars[0]
    berlin = parse_calendar(_custom_zone_feed(tzid, ZONES["W. Europe Standard Time"][1]))
    new_york = parse_calendar(_custom_zone_feed(tzid, ZONES["Eastern Standard Time"][1]))
    start = datetime(2026, 3, 28, tzinfo=UTC)
    for calendar, zone in ((berlin, "Europe/Berlin"), (new_york, "America/New_York")):
        plan = calendar_fires(source, calendar, ruleset.directory, start, start + timedelta(3))
        assert [f.at for f in plan.fires] == [
            _at(date(2026, 3, 29), 2, 30, zone),
            _at(date(2026, 3, 29), 9, 0, zone),
        ]
    gap = _at(date(2026, 3, 29), 2, 30, "Europe/Berlin")
    assert gap == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
