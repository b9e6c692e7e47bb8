"""Attendees of ``person_by: attendee`` calendars who are not in the people directory.

Such a feed maps each event to the attendees found in ``people.yaml``; an attendee who is
not there (a typo, a personal address, someone not added yet) silently gets no shift. This
names them: ``rules check`` for local calendar files, ``simulate`` for the simulated days.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker.rules.directory import Directory
from worker.rules.schema import CalendarSource

__all__ = ["UnknownAttendee", "unknown_attendees"]


@dataclass(frozen=True)
class UnknownAttendee:
    uid: str
    summary: str
    email: str

    def line(self, feed: str) -> str:
        return (
            f"calendar {feed}: event {self.uid[:80]!r} ({self.summary[:40]!r}): "
            f"attendee {self.email} maps to nobody"
        )


def _emails(event: Any) -> list[str]:
    raw = event.get("ATTENDEE")
    values = [] if raw is None else raw if isinstance(raw, list) else [raw]
    found = []
    for value in values:
        text = str(value).strip()
        if text.lower().startswith("mailto:"):
            found.append(text[len("mailto:") :].strip().lower())
    return found


def unknown_attendees(
    source: CalendarSource, calendar: Any, directory: Directory
) -> list[UnknownAttendee]:
    """Every (event, attendee) of ``calendar`` not in ``directory``; empty unless the source
    maps people by attendee. Cancelled events are left out."""
    if source.person_by != "attendee":
        return []
    found: list[UnknownAttendee] = []
    for event in calendar.walk("VEVENT"):
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        uid, summary = str(event.get("UID", "?")), str(event.get("SUMMARY", ""))
        for email in _emails(event):
            item = UnknownAttendee(uid, summary, email)
            if directory.by_email(email) is None and item not in found:
                found.append(item)
    return found
