"""Pauses: times when automation must not act for someone (pure; no Redis here).

Two kinds, both ending a trigger as ``paused`` instead of an action:

- a :class:`Pause` set by an operator (``autoclock pause``, kept in Redis by
  :mod:`worker.pipeline.pauses`) covers ``[start, until)`` for everyone, a group or a person,
  judged at the trigger's ``occurred_at``;
- a :class:`~worker.rules.schema.Closure` in ``rules.yaml`` covers whole local days, checked
  like holidays: on the trigger's date in the person's own zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from worker.rules.directory import Person
from worker.rules.schema import Closure

__all__ = ["Pause", "Scope", "paused_reason"]

Scope = str
"""``all``, ``group:<name>`` or ``person:<email>``."""


@dataclass(frozen=True)
class Pause:
    """An operator's pause of automation for ``scope`` during ``[start, until)``."""

    scope: Scope
    start: datetime
    until: datetime
    reason: str

    def covers(self, person: Person, at: datetime) -> bool:
        """True when ``person`` is in the scope and ``at`` is inside the pause."""
        return self.start <= at < self.until and _selects(self.scope, person)

    def active(self, now: datetime) -> bool:
        """True while the pause has not ended."""
        return now < self.until

    @property
    def who(self) -> str:
        """``everyone``, ``group night-shift`` or ``dana@example.com``."""
        if self.scope == "all":
            return "everyone"
        kind, _, name = self.scope.partition(":")
        return f"group {name}" if kind == "group" else name

    def describe(self) -> str:
        """One line for outcomes and lists."""
        until = self.until.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"automation paused for {self.who} until {until} ({self.reason})"


def _selects(scope: Scope, person: Person) -> bool:
    if scope == "all":
        return True
    kind, _, name = scope.partition(":")
    if kind == "group":
        return name in person.groups
    return kind == "person" and name == person.email


def _closure_selects(closure: Closure, person: Person) -> bool:
    if not closure.people and not closure.groups:
        return True
    return person.email in closure.people or bool(set(closure.groups) & set(person.groups))


def paused_reason(
    person: Person,
    at: datetime,
    *,
    closures: Iterable[Closure] = (),
    pauses: Iterable[Pause] = (),
) -> str | None:
    """Why a trigger at ``at`` for ``person`` must not act, or ``None``."""
    for pause in pauses:
        if pause.covers(person, at):
            return pause.describe()
    day: date = at.astimezone(person.zone).date()
    for closure in closures:
        if closure.covers(day) and _closure_selects(closure, person):
            why = f" ({closure.reason})" if closure.reason else ""
            return (
                f"{day.isoformat()} ({person.timezone}) is closure day {closure.name!r}{why} "
                f"in rules.yaml"
            )
    return None
