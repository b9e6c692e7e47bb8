"""Property tests for the two calendar classes: identity (every instance of any series keeps
its own original start, whatever overrides do) and zones (a feed's VTIMEZONE read exactly like
the IANA zone it describes, gaps and folds included). Expected values are computed here with
``zoneinfo`` and plain date arithmetic, not with the expander."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from icalendar.prop import vRecur

from tests.scheduler.test_calendar_zones import ZONES, _vtimezone
from worker.rules.directory import Directory, Person
from worker.rules.schema import CalendarSource
from worker.scheduler.calendars import calendar_fires, parse_calendar

ANA = Person(email="ana@example.com", name="Ana", timezone="Europe/Berlin")
DIRECTORY = Directory([ANA])
SOURCE = CalendarSource(name="feed", path="calendars/x.ics", person="ana@example.com")
IANA = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Europe/London"]
D = "%Y%m%dT%H%M%S"


def _wall(value: datetime) -> str:
    return value.strftime(D)


@st.composite
def series(draw):  # type: ignore[no-untyped-def]
    zone = draw(st.sampled_from(IANA))
    first = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 330)))
    start = datetime.combine(first, time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30]))))
    count = draw(st.integers(2, 40))
    overrides = draw(
        st.dictionaries(
            st.integers(0, count - 1),
            st.tuples(st.integers(-180, 180).map(lambda m: m - m % 15), st.booleans()),
            max_size=4,
        )
    )
    rdates = draw(st.lists(st.integers(1, 5), max_size=3, unique=True))
    return zone, start, count, overrides, rdates


def _ics(zone: str, start: datetime, count: int, overrides, rdates) -> bytes:  # type: ignore[no-untyped-def]
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//property//EN"]
    rdate_values = [f"{_wall(start + timedelta(days=count + r, hours=1))}/PT2H" for r in rdates]
    lines += [
        "BEGIN:VEVENT",
        "UID:series@property",
        f"DTSTART;TZID={zone}:{_wall(start)}",
        f"DTEND;TZID={zone}:{_wall(start + timedelta(hours=8))}",
        f"RRULE:FREQ=DAILY;COUNT={count}",
        *([f"RDATE;VALUE=PERIOD;TZID={zone}:{','.join(rdate_values)}"] if rdates else []),
        "SUMMARY:shift",
        "END:VEVENT",
    ]
    for index, (minutes, future) in sorted(overrides.items()):
        original = start + timedelta(days=index)
        moved = original + timedelta(minutes=minutes)
        rng = ";RANGE=THISANDFUTURE" if future else ""
        lines += [
            "BEGIN:VEVENT",
            "UID:series@property",
            f"RECURRENCE-ID{rng};TZID={zone}:{_wall(original)}",
            f"DTSTART;TZID={zone}:{_wall(moved)}",
            f"DTEND;TZID={zone}:{_wall(moved + timedelta(hours=8))}",
            f"SUMMARY:override {index}",
            "END:VEVENT",
        ]
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


def _utc(wall: datetime, zone: str) -> datetime:
    return wall.replace(tzinfo=ZoneInfo(zone), fold=0).astimezone(UTC)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series())
def test_every_instance_keeps_its_original_start_as_its_identity(case) -> None:  # type: ignore[no-untyped-def]
    zone, start, count, overrides, rdates = case
    plan = calendar_fires(
        SOURCE,
        parse_calendar(_ics(zone, start, count, overrides, rdates)),
        DIRECTORY,
        _utc(start, zone) - timedelta(days=2),
        _utc(start, zone) + timedelta(days=count + 10),
    )
    expected = {}
    for index in range(count):
        original = start + timedelta(days=index)
        shift = 0
        for at, (minutes, future) in sorted(overrides.items()):
            if at == index or (future and at < index):
                shift = minutes
        if index in overrides:
            shift = overrides[index][0]
        begin = original + timedelta(minutes=shift)
        expected[_utc(original, zone)] = (_utc(begin, zone), _utc(begin + timedelta(hours=8), zone))
    for r in rdates:
        original = start + timedelta(days=count + r, hours=1)
        # every THISANDFUTURE override precedes the RDATEs: the latest one moves them
        futures = [minutes for _, (minutes, future) in sorted(overrides.items()) if future]
        shift = futures[-1] if futures else 0
        begin = original + timedelta(minutes=shift)
        expected[_utc(original, zone)] = (_utc(begin, zone), _utc(begin + timedelta(hours=2), zone))
    got: dict[datetime, dict[str, datetime]] = {}
    for fire in plan.fires:
        key = fire.id.split(":", 3)[3].rsplit(":", 2)[0]  # calendar:feed:UID:<key>:edge:email
        original = datetime.strptime(key, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        edge = fire.trigger.kind.value
        assert edge not in got.setdefault(original, {}), f"two {edge} fires share {fire.id}"
        got[original][edge] = fire.at
    assert {k: (v["shift_start"], v["shift_end"]) for k, v in got.items()} == expected
    assert plan.problems == []


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(ZONES)),
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31, 23, 45)),
)
def test_a_custom_named_vtimezone_reads_like_its_iana_zone(windows: str, wall: datetime) -> None:
    """A TZID nobody knows ('Customized Time Zone') defined by an Outlook-style VTIMEZONE:
    every wall time, in a gap or a fold too, is the instant zoneinfo gives with fold=0."""
    iana, spec, _ = ZONES[windows]
    wall = wall.replace(second=0, microsecond=0, minute=wall.minute - wall.minute % 15)
    tzid = "Customized Time Zone"
    body = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:Microsoft Exchange Server 2010",
            _vtimezone(tzid, spec),
            "BEGIN:VEVENT",
            "UID:one@property",
            f"DTSTART;TZID={tzid}:{_wall(wall)}",
            f"DTEND;TZID={tzid}:{_wall(wall + timedelta(minutes=30))}",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    ).encode()
    expected = _utc(wall, iana)
    plan = calendar_fires(
        SOURCE,
        parse_calendar(body),
        DIRECTORY,
        expected - timedelta(days=1),
        expected + timedelta(days=1),
    )
    starts = [f.at for f in plan.fires if f.trigger.kind.value == "shift_start"]
    assert starts == [expected]


RULES = [
    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=6",
    "FREQ=DAILY;UNTIL=20260320T000000Z",
    "FREQ=MONTHLY;BYDAY=1MO,-1FR",
]


def _icalendar_reads_as(messy: str, rule: str) -> bool:
    """True when icalendar's own parser reads ``messy`` exactly as the clean ``rule``."""
    try:
        return bool(vRecur.from_ical(messy) == vRecur.from_ical(rule))
    except (ValueError, TypeError, KeyError, IndexError):
        return False


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(RULES),
    st.lists(st.tuples(st.integers(0, 200), st.sampled_from([" ", "  ", "\t"])), min_size=1),
)
@example("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=6", [(21, " ")])
def test_whitespace_anywhere_in_an_rrule_is_read_as_the_clean_rule_with_a_warning(
    rule: str, spaces: list[tuple[int, str]]
) -> None:
    messy = rule
    for position, space in spaces:
        at = position % (len(messy) + 1)
        messy = messy[:at] + space + messy[at:]

    def fires(text: str):  # type: ignore[no-untyped-def]
        body = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook//EN\r\n"
            "BEGIN:VEVENT\r\nUID:messy@property\r\n"
            "DTSTART;TZID=W. Europe Standard Time:20260302T080000\r\n"
            "DTEND;TZID=W. Europe Standard Time:20260302T120000\r\n"
            f"RRULE:{text}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        ).encode()
        start = datetime(2026, 3, 1, tzinfo=UTC)
        return calendar_fires(
            SOURCE, parse_calendar(body), DIRECTORY, start, start + timedelta(days=60)
        )

    clean, dirty = fires(rule), fires(messy)
    assert clean.problems == []
    assert [(f.id, f.at) for f in dirty.fires] == [(f.id, f.at) for f in clean.fires]
    warnings = [(e.kind, e.skipped) for e in dirty.events]
    if _icalendar_reads_as(messy, rule):
        # the parser itself already read it right (``INTERVAL= 2`` is 2): nothing was
        # tolerated, so a warning is optional
        assert warnings in ([], [("malformed_rrule", False)])
    else:
        assert warnings == [("malformed_rrule", False)]
