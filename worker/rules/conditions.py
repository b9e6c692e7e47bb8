"""The ``when`` of a rule as a tree of conditions, each leaf with its own verdict (pure).

A condition set (a ``when`` mapping) holds when every condition in it holds, in this order:
``people``, ``groups``, ``between``, ``weekdays``, ``not_on_holiday``, ``not_on_leave``,
``tracking``, then the nested sets ``all:`` (each holds), ``any:`` (at least one holds) and
``not:`` (it does not hold). Sets nest to any depth.

Verdicts are three-valued. A fact that is not known (leave, tracking state, holidays of a
person without a country) gives ``unknown``, which does not exclude a rule — the rule's
behaviour before condition groups existed. ``not`` keeps ``unknown`` unknown; ``all`` is
``no`` if any part is ``no``; ``any`` is ``yes`` if any part is ``yes``.

``between`` sets the *rule day* of its set and of the sets nested in it: in the
after-midnight part of a window that crosses midnight, weekdays and holidays are those of the
day the window opened.

Evaluation stops at the first ``no`` of a set (so a leave lookup is not made for a rule that
already failed); ``exhaustive=True`` (``rules explain``) evaluates every leaf.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from worker.rules.directory import Person
from worker.rules.facts import Facts, holiday_region
from worker.rules.schema import WEEKDAYS, When

__all__ = ["Leaf", "Outcome", "Tri", "check_when"]

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Tri(StrEnum):
    """A condition's verdict."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"
    NOT_CHECKED = "not checked"


@dataclass(frozen=True)
class Leaf:
    """One condition's verdict: ``path`` like ``when.any[1].groups``, and why."""

    path: str
    verdict: Tri
    reason: str


@dataclass(frozen=True)
class Outcome:
    """The verdict of a whole ``when``: why it fails (``None``: it holds), notes, every leaf."""

    why_not: str | None
    notes: tuple[str, ...]
    leaves: tuple[Leaf, ...]


def check_when(
    when: When, person: Person, local: datetime, facts: Facts, *, exhaustive: bool = False
) -> Outcome:
    """Evaluate ``when`` for ``person`` at the local time ``local``."""
    run = _Run(person=person, local=local, facts=facts, exhaustive=exhaustive)
    verdict, reason = _block(run, when, "when", local.date(), top=True)
    return Outcome(
        why_not=reason if verdict is Tri.NO else None,
        notes=tuple(run.notes),
        leaves=tuple(run.leaves),
    )


# ------------------------------------------------------------------ the tree


@dataclass
class _Run:
    person: Person
    local: datetime
    facts: Facts
    exhaustive: bool
    leaves: list[Leaf] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Say:
    """A leaf's answer; ``note``: worth repeating in the reason of a match."""

    verdict: Tri
    reason: str
    note: bool = False
    day: date | None = None
    """``between`` only: the rule day for the conditions after it."""


def _block(run: _Run, when: When, path: str, day: date, *, top: bool) -> tuple[Tri, str]:
    """A condition set: its leaves then its groups, AND-ed. ``(verdict, reason if no)``."""
    parts: list[tuple[Tri, str]] = []
    failed = False
    for name, leaf in _LEAVES:
        if not _is_set(when, name):
            continue
        where = f"{path}.{name}"
        if failed and not run.exhaustive:
            run.leaves.append(Leaf(where, Tri.NOT_CHECKED, "an earlier condition already failed"))
            continue
        say = leaf(when, run, day)
        run.leaves.append(Leaf(where, say.verdict, say.reason))
        day = say.day or day
        parts.append((say.verdict, say.reason))
        failed = failed or say.verdict is Tri.NO
        if say.note and say.verdict is not Tri.NO:
            run.notes.append(say.reason if top else f"{where}: {say.reason}")
    for kind, children in _children(when, path):
        if failed and not run.exhaustive:
            where = f"{path}.{kind}"
            run.leaves.append(Leaf(where, Tri.NOT_CHECKED, "an earlier condition already failed"))
            continue
        parts.append(_GROUPS[kind](run, children, day))
        failed = failed or parts[-1][0] is Tri.NO
    return _all(parts)


def _children(when: When, path: str) -> list[tuple[str, list[tuple[str, When]]]]:
    out: list[tuple[str, list[tuple[str, When]]]] = []
    if when.all_:
        out.append(("all", [(f"{path}.all[{i}]", w) for i, w in enumerate(when.all_)]))
    if when.any_:
        out.append(("any", [(f"{path}.any[{i}]", w) for i, w in enumerate(when.any_)]))
    if when.not_ is not None:
        out.append(("not", [(f"{path}.not", when.not_)]))
    return out


def _all(parts: list[tuple[Tri, str]]) -> tuple[Tri, str]:
    for verdict, reason in parts:
        if verdict is Tri.NO:
            return Tri.NO, reason
    if any(verdict is Tri.UNKNOWN for verdict, _ in parts):
        return Tri.UNKNOWN, ""
    return Tri.YES, ""


Children = list[tuple[str, When]]


def _group_all(run: _Run, children: Children, day: date) -> tuple[Tri, str]:
    parts: list[tuple[Tri, str]] = []
    for where, inner in children:
        if parts and parts[-1][0] is Tri.NO and not run.exhaustive:
            run.leaves.append(Leaf(where, Tri.NOT_CHECKED, "an earlier condition already failed"))
            continue
        verdict, reason = _block(run, inner, where, day, top=False)
        parts.append((verdict, f"{where}: {reason}" if verdict is Tri.NO else ""))
    return _all(parts)


def _group_any(run: _Run, children: Children, day: date) -> tuple[Tri, str]:
    verdicts: list[Tri] = []
    failures: list[str] = []
    for where, inner in children:
        if Tri.YES in verdicts and not run.exhaustive:
            run.leaves.append(Leaf(where, Tri.NOT_CHECKED, "an earlier alternative already holds"))
            continue
        verdict, reason = _block(run, inner, where, day, top=False)
        verdicts.append(verdict)
        if verdict is Tri.NO:
            failures.append(f"{where}: {reason}")
    if Tri.YES in verdicts:
        return Tri.YES, ""
    if Tri.UNKNOWN in verdicts:
        return Tri.UNKNOWN, ""
    head = children[0][0].rsplit("[", 1)[0]
    return Tri.NO, f"none of {head} holds ({'; '.join(failures)})"


def _group_not(run: _Run, children: Children, day: date) -> tuple[Tri, str]:
    ((where, inner),) = children
    start = len(run.leaves)
    verdict, _reason = _block(run, inner, where, day, top=False)
    if verdict is Tri.YES:
        # the set's own conditions (all of them hold), not those of sets nested in it
        own = [
            leaf.reason
            for leaf in run.leaves[start:]
            if leaf.path.rsplit(".", 1)[0] == where and leaf.verdict is Tri.YES
        ]
        return Tri.NO, f"{where} holds" + (f": {'; '.join(own)}" if own else "")
    return (Tri.YES, "") if verdict is Tri.NO else (Tri.UNKNOWN, "")


_GROUPS: dict[str, Callable[[_Run, Children, date], tuple[Tri, str]]] = {
    "all": _group_all,
    "any": _group_any,
    "not": _group_not,
}


def _is_set(when: When, name: str) -> bool:
    value = getattr(when, name)
    if name in _FLAGS:
        return value is True
    return value is not None


#: Leaves that are switched on by ``true`` (``false`` is the same as leaving them out).
_FLAGS = frozenset({"not_on_holiday", "not_on_leave"})


# ------------------------------------------------------------------ leaves


def _people(when: When, run: _Run, day: date) -> _Say:
    email = run.person.email
    if when.people is not None and email not in when.people:
        return _Say(Tri.NO, f"{email} is not one of the rule's people")
    return _Say(Tri.YES, f"{email} is one of the rule's people")


def _groups(when: When, run: _Run, day: date) -> _Say:
    person = run.person
    wanted = when.groups or []
    shared = [g for g in wanted if g in person.groups]
    if not shared:
        mine = ", ".join(person.groups) or "no group"
        return _Say(Tri.NO, f"{person.email} ({mine}) is in none of the groups {', '.join(wanted)}")
    return _Say(Tri.YES, f"{person.email} is in {', '.join(shared)}")


def _between(when: When, run: _Run, day: date) -> _Say:
    assert when.between is not None
    start, end = when.between
    local = run.local
    stamp = f"{local:%H:%M} {run.person.timezone}"
    window = f"{start:%H:%M}-{end:%H:%M}"
    inside, after_midnight = in_window(local.time().replace(tzinfo=None), start, end)
    if not inside:
        return _Say(Tri.NO, f"{local:%a} {stamp} is outside {window}")
    if after_midnight:
        opened = local.date() - timedelta(days=1)
        return _Say(
            Tri.YES,
            f"{stamp} is inside {window}, in the window opened on "
            f"{DAY_NAMES[opened.weekday()]} {opened.isoformat()}",
            note=True,
            day=opened,
        )
    return _Say(Tri.YES, f"{stamp} is inside {window}", note=True, day=local.date())


def _weekdays(when: When, run: _Run, day: date) -> _Say:
    wanted = when.weekdays or []
    named = f"{DAY_NAMES[day.weekday()]} {day.isoformat()} ({run.person.timezone})"
    if WEEKDAYS[day.weekday()] not in wanted:
        return _Say(Tri.NO, f"{named} is not one of {', '.join(wanted)}")
    return _Say(Tri.YES, f"{named} is one of {', '.join(wanted)}")


def _holiday(when: When, run: _Run, day: date) -> _Say:
    person = run.person
    if not person.country:
        return _Say(Tri.UNKNOWN, "holidays not checked (the person has no country)", note=True)
    name = run.facts.holiday(person, day)
    if name is None:
        return _Say(
            Tri.YES, f"{day.isoformat()} is not a public holiday in {_region(person)}", note=True
        )
    region = _holiday_region(person, day)
    return _Say(Tri.NO, f"{day.isoformat()} is a public holiday in {region} ({name})")


def _leave(when: When, run: _Run, day: date) -> _Say:
    person = run.person
    leave = run.facts.on_leave(person, day)
    if leave is True:
        return _Say(Tri.NO, f"{person.email} is on approved full-day leave on {day.isoformat()}")
    if leave is None:
        return _Say(Tri.UNKNOWN, "leave not checked (unknown)", note=True)
    return _Say(Tri.YES, f"not on leave on {day.isoformat()}", note=True)


def _tracking(when: When, run: _Run, day: date) -> _Say:
    person = run.person
    state = run.facts.tracking(person)
    wanted = "tracking" if when.tracking else "not tracking"
    if state is None:
        return _Say(
            Tri.UNKNOWN,
            f"tracking state unknown; the rule wants {wanted} and may still apply",
            note=True,
        )
    if state != when.tracking:
        actual = "tracking" if state else "not tracking"
        return _Say(Tri.NO, f"{person.email} is {actual} (the rule wants {wanted})")
    return _Say(Tri.YES, f"{person.email} is {wanted}", note=True)


_LEAVES: tuple[tuple[str, Callable[[When, _Run, date], _Say]], ...] = (
    ("people", _people),
    ("groups", _groups),
    ("between", _between),
    ("weekdays", _weekdays),
    ("not_on_holiday", _holiday),
    ("not_on_leave", _leave),
    ("tracking", _tracking),
)


def in_window(clock: time, start: time, end: time) -> tuple[bool, bool]:
    """``(inside [start, end), inside the after-midnight part of a crossing window)``."""
    if start < end:
        return start <= clock < end, False
    if clock >= start:
        return True, False
    if clock < end:
        return True, True
    return False, False


def _region(person: Person) -> str:
    if person.subdivision:
        return f"{person.country}-{person.subdivision}"
    return person.country or "?"


def _holiday_region(person: Person, day: date) -> str:
    assert person.country is not None
    try:
        return holiday_region(person.country, person.subdivision, day)
    # the holidays package raises a RuntimeError subclass for a region it does not know;
    # a custom Facts may know more regions than it does
    except (KeyError, RuntimeError, ValueError):
        return _region(person)
