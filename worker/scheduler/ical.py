"""Reading an iCalendar feed into event occurrences, each with its identity, and what was skipped.

Expansion uses ``recurring-ical-events`` (RRULE, RDATE incl. ``VALUE=PERIOD``, EXDATE,
``RECURRENCE-ID`` incl. ``RANGE=THISANDFUTURE``) series by series, so one broken series is
reported with its UID instead of hiding the rest of the feed or vanishing in silence.

Before expanding, every date-time is put into the zone it was written in
(:func:`normalise`), because neither the parser nor ``x-wr-timezone`` can be trusted with
that on their own: ``icalendar`` caches time zones process-wide by TZID (so one feed's
``VTIMEZONE`` decides another feed's times, and a Windows name means whatever was seen
first), and ``x-wr-timezone`` treats any zone whose ``tzname()`` is ``None`` — an Outlook
``VTIMEZONE`` without ``TZNAME`` — as floating and relabels it into ``X-WR-TIMEZONE``.
A TZID is read as, in this order:

1. an IANA name (``Europe/Berlin``);
2. a Windows name (``W. Europe Standard Time``), mapped with ``icalendar``'s CLDR table;
3. the calendar's own ``VTIMEZONE`` of that TZID (custom names such as
   ``Customized Time Zone``), with RFC 5545's rules for local times that do not exist
   (the offset before the gap) or occur twice (the first);
4. ``/vendor/Area/City`` (RFC 5545 globally unique ids): the trailing IANA name.

Anything else is an unknown zone: the event is skipped and reported. ``X-WR-TIMEZONE``
applies only to floating times (and, as Google means it, to UTC times so that a series
recurs on that zone's wall clock); it never moves a time that has a TZID.

The identity of an occurrence is its UID and its *original* start (RFC 5545
``RECURRENCE-ID``): for a moved instance the ``RECURRENCE-ID``; for instances after a
``RANGE=THISANDFUTURE`` override their own start in the series before the override moved
them; for RDATE instances the RDATE. A component with a ``RECURRENCE-ID`` but no master
(Lotus Notes writes its series this way, with ``RDATE;VALUE=PERIOD``; CalDAV servers show
an attendee only the instances they were invited to) is expanded as its own series.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
from icalendar.prop import vDDDLists, vDDDTypes, vDuration, vRecur
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

__all__ = [
    "CalendarError",
    "EventProblem",
    "Expansion",
    "Occurrence",
    "expand",
    "normalise",
    "parse_calendar",
    "resolve_zone",
]

#: Problem kinds (the ``kind`` label of the metric).
MALFORMED_RRULE = "malformed_rrule"
UNKNOWN_ZONE = "unknown_zone"
ORPHAN = "orphan"
UNREADABLE = "unreadable"
DUPLICATE_UID = "duplicate_uid"

#: An ``icalendar`` VEVENT (its property values are typed as a wide union: read as ``Any``).
_Event = Any

_DATE_PROPS = ("DTSTART", "DTEND", "RECURRENCE-ID")
_LIST_PROPS = ("RDATE", "EXDATE")


class CalendarError(ValueError):
    """An ICS body that cannot be parsed as a calendar."""


@dataclass(frozen=True)
class EventProblem:
    """An event the expansion skipped (``skipped``) or read with a tolerance (a warning)."""

    uid: str
    reason: str
    kind: str
    skipped: bool = True

    def line(self, feed: str) -> str:
        """One report line naming the feed and the UID."""
        what = "skipped" if self.skipped else "warning"
        return f"calendar {feed}: event {self.uid[:120]!r} {what}: {self.reason}"


@dataclass(frozen=True)
class Occurrence:
    """One expanded event instance, times as the feed gave them (after :func:`normalise`).

    ``start``/``end`` are aware datetimes, naive datetimes (floating) or dates (all-day);
    ``recurrence_id`` is the instance's original start in the same form: its identity.
    """

    uid: str
    recurrence_id: datetime | date
    start: datetime | date
    end: datetime | date
    summary: str = ""
    location: str = ""
    attendees: tuple[str, ...] = ()
    cancelled: bool = False

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


@dataclass
class Expansion:
    """The occurrences of a window and the problems of the whole calendar."""

    occurrences: list[Occurrence] = field(default_factory=list)
    problems: list[EventProblem] = field(default_factory=list)


def parse_calendar(body: bytes) -> icalendar.Calendar:
    """Parse an ICS body; :class:`CalendarError` if it is not a VCALENDAR."""
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise CalendarError(f"not an iCalendar file: {exc}") from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise CalendarError("not an iCalendar file: no VCALENDAR")
    return calendar


# ---------------------------------------------------------------------- zones


class _Rfc5545Zone(tzinfo):
    """A ``VTIMEZONE``'s zone, with RFC 5545 §3.3.5 for a wall time in a gap: the offset in
    force before the gap (``dateutil``'s zone would use the one after it).

    ``dateutil`` walks the zone's rules from their first year (1601 for Outlook) on every
    call, so answers are remembered per wall time."""

    def __init__(self, zone: tzinfo, name: str) -> None:
        self.zone = zone
        self.name = name
        self._offsets: dict[tuple[datetime, int], timedelta | None] = {}
        self._local: dict[datetime, datetime] = {}

    def _offset(self, naive: datetime, fold: int) -> timedelta | None:
        key = (naive, fold)
        if key not in self._offsets:
            local = naive.replace(tzinfo=self.zone, fold=fold)
            back = self._from_utc((local - local.utcoffset()).replace(tzinfo=None))  # type: ignore[operator]
            if fold == 0 and back.replace(tzinfo=None) != naive:  # a gap: the offset before
                local = (naive - timedelta(hours=3)).replace(tzinfo=self.zone, fold=0)
            self._offsets[key] = local.utcoffset()
        return self._offsets[key]

    def _from_utc(self, naive_utc: datetime) -> datetime:
        if naive_utc not in self._local:
            self._local[naive_utc] = self.zone.fromutc(naive_utc.replace(tzinfo=self.zone))
        return self._local[naive_utc]

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None if dt is None else self._offset(dt.replace(tzinfo=None), dt.fold)

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None if dt is None else dt.replace(tzinfo=self.zone).dst()

    def tzname(self, dt: datetime | None) -> str | None:
        return self.name

    def fromutc(self, dt: datetime) -> datetime:
        local = self._from_utc(dt.replace(tzinfo=None))
        return local.replace(tzinfo=self)

    def __repr__(self) -> str:
        return f"<VTIMEZONE {self.name!r}>"


def _iana(name: str) -> ZoneInfo | None:
    if not name or name.startswith("/") or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def resolve_zone(tzid: str, local: dict[str, tzinfo] | None = None) -> tzinfo | None:
    """The zone a TZID names (see the module docstring), or ``None`` if it is unknown."""
    clean = tzid.strip().strip('"').strip()
    bare = clean.strip("/")
    found: tzinfo | None = _iana(bare)
    if found is None and bare in WINDOWS_TO_OLSON:
        found = _iana(WINDOWS_TO_OLSON[bare])
    if found is None and local:
        found = local.get(tzid) or local.get(clean)
    if found is None and clean.startswith("/"):
        parts = bare.split("/")
        for i in range(1, len(parts)):
            found = _iana("/".join(parts[i:]))
            if found is not None:
                break
    return found


#: Zones built from VTIMEZONE components, by their exact text (so two feeds' definitions of
#: one TZID never mix); bounded.
_VTIMEZONES: dict[bytes, tzinfo] = {}


def _local_zones(calendar: icalendar.Calendar) -> dict[str, tzinfo]:
    zones: dict[str, tzinfo] = {}
    component: Any
    for component in calendar.walk("VTIMEZONE"):
        tzid = str(component.get("TZID", "")).strip()
        if not tzid:
            continue
        text = component.to_ical()
        zone = _VTIMEZONES.get(text)
        if zone is None:
            try:
                zone = _Rfc5545Zone(component.to_tz(lookup_tzid=False), tzid)
            except Exception:  # noqa: S112 - a broken VTIMEZONE is an unknown zone for its events
                continue
            if len(_VTIMEZONES) > 256:
                _VTIMEZONES.clear()
            _VTIMEZONES[text] = zone
        zones[tzid] = zone
    return zones


class _UnknownZone(Exception):
    def __init__(self, tzid: str) -> None:
        super().__init__(tzid)
        self.tzid = tzid


class _Relabel:
    """Puts each date-time of an event into its zone (TZID, else X-WR-TIMEZONE, else floating)."""

    def __init__(self, local: dict[str, tzinfo], x_wr: tzinfo | None) -> None:
        self.local = local
        self.x_wr = x_wr

    def value(self, value: Any, tzid: str | None) -> Any:
        if isinstance(value, tuple):  # a PERIOD: (start, end or duration)
            return tuple(self.value(v, tzid) for v in value)
        if not isinstance(value, datetime):
            return value
        if tzid:
            zone = resolve_zone(tzid, self.local)
            if zone is None:
                raise _UnknownZone(tzid)
            return value.replace(tzinfo=zone, fold=0)
        if value.tzinfo is None:
            return value if self.x_wr is None else value.replace(tzinfo=self.x_wr, fold=0)
        if self.x_wr is not None and value.utcoffset() == timedelta(0):
            return value.astimezone(self.x_wr)
        return value

    def single(self, prop: Any) -> Any:
        tzid = prop.params.get("TZID")
        new = vDDDTypes(self.value(prop.dt, tzid))
        new.params.update(prop.params)
        return new

    def many(self, prop: Any) -> Any:
        tzid = prop.params.get("TZID")
        new = vDDDLists([self.value(d.dt, tzid or d.params.get("TZID")) for d in prop.dts])
        new.params.update(prop.params)
        return new


_SPACES = re.compile(r"\s+")


def _clean_rule(raw: str) -> str:
    """An RRULE without the faults whose meaning is unambiguous: whitespace anywhere (Exchange
    writes ``BYDAY=MO, TU``), empty list items (``MO,,TU``), stray separators."""
    text = _SPACES.sub("", raw)
    text = re.sub(r",{2,}", ",", text)
    text = re.sub(r"=,|,(?=;|$)", lambda m: "=" if m.group().startswith("=") else "", text)
    return re.sub(r";{2,}", ";", text).strip(";")


def _fix_rrule(event: _Event) -> EventProblem | None:
    """Tolerate an RRULE whose faults are unambiguous (a warning); else report it (skipped)."""
    rules = event.get("RRULE")
    if rules is None:
        return None
    uid = str(event.get("UID", "")).strip()
    fixed = []
    warned = None
    for rule in rules if isinstance(rules, list) else [rules]:
        broken = isinstance(rule, icalendar.prop.vBroken)
        raw = str(rule) if broken else rule.to_ical().decode()
        cleaned = _clean_rule(raw)
        if not broken and cleaned == raw:
            fixed.append(rule)
            continue
        try:
            fixed.append(vRecur.from_ical(cleaned))
        except (ValueError, TypeError, KeyError, IndexError):
            return EventProblem(uid, f"RRULE {raw[:200]!r} cannot be read", MALFORMED_RRULE)
        warned = EventProblem(
            uid, f"RRULE {raw[:200]!r} is malformed; read as {cleaned!r}", MALFORMED_RRULE, False
        )
    event["RRULE"] = fixed if len(fixed) > 1 else fixed[0]
    return warned


def _normalise_event(event: _Event, relabel: _Relabel) -> _Event:
    copy = event.copy()
    for name in _DATE_PROPS:
        prop = event.get(name)
        if prop is not None:
            copy[name] = relabel.single(prop)
    for name in _LIST_PROPS:
        prop = event.get(name)
        if prop is None:
            continue
        copy[name] = (
            [relabel.many(p) for p in prop] if isinstance(prop, list) else relabel.many(prop)
        )
    return copy


def _uid(event: _Event) -> str:
    uid = str(event.get("UID", "")).strip()
    if uid:
        return uid
    start = event.get("DTSTART")
    try:
        return f"no-uid-{start.dt.isoformat()}" if start is not None else "no-uid"
    except (ValueError, AttributeError):
        return "no-uid"


def _masterless(uid: str, events: list[_Event]) -> tuple[list[_Event], str]:
    """Events of one UID without a master: add one built from the override that has RDATE/RRULE
    (Lotus Notes), so its other instances are expanded; and say so."""
    rich = [e for e in events if e.get("RDATE") is not None or e.get("RRULE") is not None]
    if not rich:
        n = len(events)
        return events, (
            f"{n} instance{'s' if n != 1 else ''} (RECURRENCE-ID) without the master event; "
            "planned as given"
        )
    base = min(rich, key=lambda e: to_utc(e["RECURRENCE-ID"].dt))
    master = base.copy()
    original = base["RECURRENCE-ID"].dt
    start = base["DTSTART"].dt
    if isinstance(original, datetime) and isinstance(start, datetime) and start.tzinfo:
        original = original.astimezone(start.tzinfo) if original.tzinfo else original
    del master["RECURRENCE-ID"]
    end = base.get("DTEND")
    if end is not None:
        del master["DTEND"]
        master["DURATION"] = vDuration(end.dt - start)
    master["DTSTART"] = vDDDTypes(original)
    return [master, *events], (
        "no master event; its RECURRENCE-ID, RDATE and RRULE are read as the series"
    )


def to_utc(value: datetime | date) -> datetime:
    """A sortable instant (floating and dates as if UTC): for ordering only."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class _Prepared:
    groups: dict[str, list[_Event]]
    problems: list[EventProblem]
    #: Per UID, its series (built on first use and kept: a series answers any window), or the
    #: reason it cannot be built.
    series: dict[str, list[Any] | EventProblem] = field(default_factory=dict)


#: The last few calendars normalised, by identity (simulate expands one calendar per person
#: and day); a parsed calendar is never modified.
_PREPARED: list[tuple[weakref.ref[icalendar.Calendar], _Prepared]] = []


def normalise(calendar: icalendar.Calendar) -> _Prepared:
    """Every VEVENT by UID with its times in their zones; what had to be skipped or tolerated."""
    for ref, prepared in _PREPARED:
        if ref() is calendar:
            return prepared
    prepared = _normalise(calendar)
    _PREPARED.insert(0, (weakref.ref(calendar), prepared))
    del _PREPARED[16:]
    return prepared


def _normalise(calendar: icalendar.Calendar) -> _Prepared:
    local = _local_zones(calendar)
    problems: list[EventProblem] = []
    x_wr_name = calendar.get("X-WR-TIMEZONE")
    x_wr = resolve_zone(str(x_wr_name)) if x_wr_name is not None else None
    if x_wr_name is not None and x_wr is None:
        problems.append(
            EventProblem(
                "(calendar)",
                f"X-WR-TIMEZONE {str(x_wr_name)[:60]!r} is not a known zone; floating times "
                "are read in the source's or the person's zone",
                UNKNOWN_ZONE,
                False,
            )
        )
    relabel = _Relabel(local, x_wr)
    raw: dict[str, list[_Event]] = {}
    for event in calendar.walk("VEVENT"):
        uid = _uid(event)
        if not str(event.get("UID", "")).strip() and uid in raw:  # no UID: not one series
            uid = f"{uid}#{len(raw)}"
        raw.setdefault(uid, []).append(event)
    groups: dict[str, list[_Event]] = {}
    for uid, events in raw.items():
        fixed = _read_group(uid, events, relabel, problems)
        if fixed is None:
            continue
        if all(e.get("RECURRENCE-ID") is not None for e in fixed):
            fixed, reason = _masterless(uid, fixed)
            problems.append(EventProblem(uid, reason, ORPHAN, False))
        for n, group in enumerate(_split_masters(uid, fixed, problems)):
            groups[uid if n == 0 else f"{uid}{_SPLIT}{n}"] = group
    return _Prepared(groups, problems)


def _read_group(
    uid: str, events: list[_Event], relabel: _Relabel, problems: list[EventProblem]
) -> list[_Event] | None:
    """The events of one UID with their times in their zones, or ``None`` (reported) when one
    of them cannot be read: a series is planned whole or not at all."""
    fixed: list[_Event] = []
    notes: list[EventProblem] = []
    for event in events:
        try:
            if event.get("DTSTART") is None:
                raise _Unreadable("no DTSTART")
            copy = _normalise_event(event, relabel)
            note = _fix_rrule(copy)
        except _Unreadable as exc:
            problems.append(EventProblem(uid, str(exc), UNREADABLE))
            return None
        except _UnknownZone as exc:
            reason = f"unknown time zone TZID {exc.tzid[:80]!r} (no VTIMEZONE)"
            problems.append(EventProblem(uid, reason, UNKNOWN_ZONE))
            return None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            problems.append(EventProblem(uid, f"cannot be read: {str(exc)[:200]}", UNREADABLE))
            return None
        if note is not None and note.skipped:
            problems.append(note)
            return None
        notes.extend([note] if note is not None else [])
        fixed.append(copy)
    problems.extend(notes)
    return fixed


class _Unreadable(Exception):
    pass


#: Separates a UID from the number of a split group in a group key (no UID holds a newline).
_SPLIT = "\n"


def _sequence(event: _Event) -> int:
    try:
        return int(event.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        return 0


def _split_masters(
    uid: str, events: list[_Event], problems: list[EventProblem]
) -> list[list[_Event]]:
    """One UID with several masters (no RECURRENCE-ID): older versions (lower SEQUENCE) and
    exact copies are dropped, saying so for older versions; different events sharing the UID
    at the same SEQUENCE (booking systems do this) are each planned as their own event, with
    a warning. The expander alone would keep one of them in silence."""
    masters = [e for e in events if e.get("RECURRENCE-ID") is None]
    if len(masters) < 2:
        return [events]
    overrides = [e for e in events if e.get("RECURRENCE-ID") is not None]
    newest = max(_sequence(e) for e in masters)
    current = [e for e in masters if _sequence(e) == newest]
    older = len(masters) - len(current)
    if older:
        problems.append(
            EventProblem(
                uid,
                f"{older} older version(s) (SEQUENCE below {newest}) ignored",
                DUPLICATE_UID,
                False,
            )
        )
    distinct: dict[Any, _Event] = {}
    for event in current:
        distinct.setdefault((to_utc(event["DTSTART"].dt), event.to_ical()), event)
    kept = list(distinct.values())
    if len(kept) > 1:
        problems.append(
            EventProblem(
                uid,
                f"{len(kept)} different events share this UID (same SEQUENCE); "
                "each is planned as its own event",
                DUPLICATE_UID,
                False,
            )
        )
    return [[kept[0], *overrides], *[[e] for e in kept[1:]]]


# ---------------------------------------------------------------------- expansion


class _Occurrence(recurring_ical_events.Occurrence):  # type: ignore[misc]
    """Remembers the original start of an instance made from a rule (RRULE/RDATE), before a
    ``RANGE=THISANDFUTURE`` override moved it; ``None`` for a component's own instance."""

    def __init__(
        self, adapter: Any, start: Any = None, end: Any = None, sequence: int = -1
    ) -> None:
        super().__init__(adapter, start, end, sequence)
        self.original: datetime | date | None = (
            None if start is None else start - adapter.move_recurrences_by
        )


_SELECTION = recurring_ical_events.ComponentsWithName("VEVENT", occurrence=_Occurrence)


def _attendees(event: Any) -> tuple[str, ...]:
    raw = event.get("ATTENDEE")
    if raw is None:
        return ()
    values = raw if isinstance(raw, list) else [raw]
    found = []
    for value in values:
        text = str(value).strip()
        if text.lower().startswith("mailto:"):
            found.append(text[len("mailto:") :].strip().lower())
    return tuple(found)


def _end_of(event: Any, start: datetime | date) -> datetime | date:
    if event.get("DTEND") is not None:
        value: datetime | date = event["DTEND"].dt
        return value
    if event.get("DURATION") is not None:
        duration: timedelta = event["DURATION"].dt
        return start + duration
    return start if isinstance(start, datetime) else start + timedelta(days=1)


def _occurrence(uid: str, found: _Occurrence) -> Occurrence:
    event = found.as_component(False)
    begin: datetime | date = event["DTSTART"].dt
    original = found.original
    if original is None:
        rid = event.get("RECURRENCE-ID")
        original = rid.dt if rid is not None else begin
    return Occurrence(
        uid=uid,
        recurrence_id=original,
        start=begin,
        end=_end_of(event, begin),
        summary=str(event.get("SUMMARY", "")),
        location=str(event.get("LOCATION", "")),
        attendees=_attendees(event),
        cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
    )


def expand(calendar: icalendar.Calendar, start: date, end: date) -> Expansion:
    """Every event instance overlapping the local dates ``[start, end)``, cancelled ones flagged,
    and every event skipped or tolerated (whatever the window)."""
    prepared = normalise(calendar)
    result = Expansion(problems=list(prepared.problems))
    lo, hi = datetime.combine(start, time()), datetime.combine(end, time())
    for key, events in prepared.groups.items():
        uid = key.split(_SPLIT, 1)[0]
        built = prepared.series.get(key)
        if built is None:
            built = _series(uid, events)
            prepared.series[key] = built
        if isinstance(built, EventProblem):
            result.problems.append(built)
            continue
        result.problems.extend(b for b in built if isinstance(b, EventProblem))
        try:
            found = [
                _occurrence(uid, occ)
                for series in built
                if not isinstance(series, EventProblem)
                for occ in series.between(lo, hi)
            ]
        except Exception as exc:  # any fault of one series is reported, never hides the feed
            result.problems.append(_failure(uid, events, exc))
            continue
        result.occurrences.extend(found)
    return result


def _failure(uid: str, events: list[_Event], exc: Exception) -> EventProblem:
    kind = MALFORMED_RRULE if any(e.get("RRULE") is not None for e in events) else UNREADABLE
    return EventProblem(uid, f"cannot be expanded: {str(exc)[:200]}", kind)


def _series(uid: str, events: list[_Event]) -> list[Any] | EventProblem:
    """The ``recurring-ical-events`` series of one UID, or why it cannot be built."""
    holder = icalendar.Calendar()
    holder.subcomponents = list(events)
    try:
        built = list(_SELECTION.collect_series_from(holder, ()))
        lost = _first_instance_lost(uid, events, built)
    except Exception as exc:  # any fault of one series is reported, never hides the feed
        return _failure(uid, events, exc)
    return built if lost is None else [*built, lost]


def _first_instance_lost(uid: str, events: list[_Event], built: list[Any]) -> EventProblem | None:
    """A master whose own start (always an instance, RFC 5545 §3.8.5.3) is not produced —
    an RRULE whose UNTIL lies before DTSTART makes the expander drop the whole event — is
    reported, never left to vanish."""
    masters = [e for e in events if e.get("RECURRENCE-ID") is None]
    if len(masters) != 1:
        return None
    master = masters[0]
    start = master["DTSTART"].dt
    first = to_utc(start)
    excluded = {to_utc(e.get("RECURRENCE-ID").dt) for e in events if e is not master}
    for prop in _as_list(master.get("EXDATE")):
        excluded.update(to_utc(d.dt) for d in prop.dts)
    if first in excluded or (not isinstance(start, datetime) and start in excluded):
        return None
    lo = datetime.combine(to_utc(start).date() - timedelta(days=2), time())
    hi = lo + timedelta(days=5)
    for series in built:
        for occ in series.between(lo, hi):
            original = occ.original if occ.original is not None else occ.start
            if to_utc(original) == first:
                return None
    rule = " ".join(str(r.to_ical().decode()) for r in _as_list(master.get("RRULE")))
    return EventProblem(
        uid,
        f"its first instance ({start.isoformat()}) is not produced by the expansion"
        + (f" of RRULE {rule[:200]!r} (UNTIL before DTSTART?)" if rule else ""),
        MALFORMED_RRULE if rule else UNREADABLE,
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def kinds(problems: Iterable[EventProblem]) -> dict[str, int]:
    """How many problems of each kind (for the metric)."""
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.kind] = counts.get(problem.kind, 0) + 1
    return counts
