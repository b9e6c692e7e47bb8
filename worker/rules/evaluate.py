"""Evaluate the rules for one trigger and one person: a pure function with reasons.

:func:`evaluate` reads nothing but its arguments (no Redis, no HTTP, no clock): the same
inputs give the same :class:`Decision`. Every rule gets a :class:`Verdict` saying whether it
matched and why; the **first matching rule in file order decides** (``policy.match:
first``), and later matching rules are reported as matched-but-not-applied.

Conditions, checked in this order, each one the reason when a rule is skipped:

1. ``on.source`` (glob), ``on.kind``, ``on.attributes`` (glob on each value);
2. ``when.people``, ``when.groups``;
3. ``when.weekdays`` and ``when.between``, at ``trigger.occurred_at`` in the person's zone.
   A window ``[from, to)`` with ``from > to`` crosses midnight; in its after-midnight part
   the *rule day* (used for weekdays and holidays) is the day the window opened, so a
   Friday-night shift ending 01:30 on Saturday is still Friday's;
4. ``when.not_on_holiday`` (rule day, the person's country/subdivision);
5. ``when.not_on_leave`` (unknown leave does not exclude; the reason says it was not checked);
6. ``when.tracking`` (excludes only a *known* contrary state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fnmatch import fnmatchcase

from worker.models import Trigger, Verb
from worker.rules.directory import Person
from worker.rules.facts import Facts, holiday_region
from worker.rules.ruleset import Ruleset
from worker.rules.schema import WEEKDAYS, On, RuleSpec, When
from worker.rules.templates import render

__all__ = ["Decision", "Verdict", "evaluate", "format_duration"]

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Verdict:
    """Whether one rule matched a trigger, and why (``"skipped: …"`` / ``"matched: …"``)."""

    rule: str
    matched: bool
    reason: str


@dataclass(frozen=True)
class Decision:
    """What to do about one trigger for one person.

    ``verb`` is ``None`` when no rule matched. ``max_delay`` is the deciding rule's (else the
    policy's): an action applied later than ``trigger.occurred_at + max_delay`` is expired.
    """

    verb: Verb | None
    rule: str | None
    contract_id: int | None
    task_id: int | None
    description: str | None
    max_delay: timedelta
    verdicts: tuple[Verdict, ...]
    reason: str

    @property
    def matched(self) -> bool:
        """True when a rule decided an action."""
        return self.verb is not None

    def deadline(self, occurred_at: datetime) -> datetime:
        """The latest time the action may still be applied."""
        return occurred_at + self.max_delay


def evaluate(
    trigger: Trigger, person: Person, ruleset: Ruleset, *, now: datetime, facts: Facts
) -> Decision:
    """Decide what ``trigger`` means for ``person`` under ``ruleset`` (pure; O(rules)).

    ``now`` only adds a note to the reason when the trigger is already older than its
    max delay; the decision itself does not depend on it.
    """
    local = trigger.occurred_at.astimezone(person.zone)
    verdicts: list[Verdict] = []
    winner: RuleSpec | None = None
    for rule in ruleset.rules:
        why_not, notes = _check(rule, trigger, person, local, facts)
        if why_not is not None:
            verdicts.append(Verdict(rule.name, False, f"skipped: {why_not}"))
            continue
        if winner is None:
            winner = rule
            verdicts.append(Verdict(rule.name, True, "matched" + _notes(notes, first=True)))
        else:
            verdicts.append(
                Verdict(
                    rule.name,
                    True,
                    f"matched too, not applied (first match wins: {winner.name!r})" + _notes(notes),
                )
            )
    if winner is None:
        count = len(ruleset.rules)
        return Decision(
            verb=None,
            rule=None,
            contract_id=None,
            task_id=None,
            description=None,
            max_delay=ruleset.policy.max_delay,
            verdicts=tuple(verdicts),
            reason=f"no rule matched {trigger.kind.value} from {trigger.source} for "
            f"{person.email} ({count} rule{'s' if count != 1 else ''} checked)",
        )
    do = winner.do
    contract = do.contract_id if do.contract_id is not None else person.contract_id
    task = do.task_id if do.task_id is not None else person.task_id
    description = (
        render(do.description, trigger=trigger, person=person, local=local, rule=winner.name)
        if do.description is not None
        else None
    )
    max_delay = winner.max_delay if winner.max_delay is not None else ruleset.policy.max_delay
    reason = f"rule {winner.name!r}: {do.action.value} for {person.email}"
    if contract is None:
        reason += " (no contract_id: neither the rule nor the person names one)"
    age = now - trigger.occurred_at
    if age > max_delay:
        reason += (
            f"; already {format_duration(age)} late, past max delay {format_duration(max_delay)}"
        )
    return Decision(
        verb=do.action,
        rule=winner.name,
        contract_id=contract,
        task_id=task,
        description=description,
        max_delay=max_delay,
        verdicts=tuple(verdicts),
        reason=reason,
    )


def _check(
    rule: RuleSpec, trigger: Trigger, person: Person, local: datetime, facts: Facts
) -> tuple[str | None, list[str]]:
    """``(reason it does not match or None, notes on a match)``."""
    why_not = _check_on(rule.on, trigger) or _check_who(rule.when, person)
    if why_not is not None:
        return why_not, []
    notes: list[str] = []
    day, why_not = _check_clock(rule.when, person, local, notes)
    if why_not is not None:
        return why_not, []
    for check in _FACT_CHECKS:
        why_not = check(rule.when, person, day, facts, notes)
        if why_not is not None:
            return why_not, []
    return None, notes


def _check_on(on: On, trigger: Trigger) -> str | None:
    if on.source != "*" and not fnmatchcase(trigger.source, on.source):
        return f"source {trigger.source} does not match {on.source}"
    kinds = on.kind if isinstance(on.kind, list) else [on.kind]
    if trigger.kind not in kinds:
        return f"kind {trigger.kind.value} is not {' or '.join(k.value for k in kinds)}"
    for key, pattern in on.attributes.items():
        value = trigger.attributes.get(key)
        if value is None:
            return f"the trigger has no {key!r} attribute (rule wants {pattern!r})"
        if not fnmatchcase(value.casefold(), pattern.casefold()):
            return f"{key} {value!r} does not match {pattern!r}"
    return None


def _check_who(when: When, person: Person) -> str | None:
    if when.people is not None and person.email not in when.people:
        return f"{person.email} is not one of the rule's people"
    if when.groups is not None and not set(when.groups).intersection(person.groups):
        mine = ", ".join(person.groups) or "no group"
        return f"{person.email} ({mine}) is in none of the groups {', '.join(when.groups)}"
    return None


def _check_clock(
    when: When, person: Person, local: datetime, notes: list[str]
) -> tuple[date, str | None]:
    """``(rule day, reason or None)``: ``between`` then ``weekdays`` on the rule day."""
    day = local.date()
    stamp = f"{local:%H:%M} {person.timezone}"
    if when.between is not None:
        start, end = when.between
        inside, after_midnight = _in_window(local.time().replace(tzinfo=None), start, end)
        window = f"{start:%H:%M}-{end:%H:%M}"
        if not inside:
            return day, f"{local:%a} {stamp} is outside {window}"
        if after_midnight:
            day = day - timedelta(days=1)
            notes.append(
                f"{stamp} is inside {window}, in the window opened on "
                f"{_DAY_NAMES[day.weekday()]} {day.isoformat()}"
            )
        else:
            notes.append(f"{stamp} is inside {window}")
    if when.weekdays is not None and WEEKDAYS[day.weekday()] not in when.weekdays:
        return day, (
            f"{_DAY_NAMES[day.weekday()]} {day.isoformat()} ({person.timezone}) is not "
            f"one of {', '.join(when.weekdays)}"
        )
    return day, None


def _check_holiday(
    when: When, person: Person, day: date, facts: Facts, notes: list[str]
) -> str | None:
    if not when.not_on_holiday:
        return None
    why = _holiday(person, day, facts)
    if why is not None and why.startswith("!"):
        return why[1:]
    if why is not None:
        notes.append(why)
    return None


def _check_leave(
    when: When, person: Person, day: date, facts: Facts, notes: list[str]
) -> str | None:
    if not when.not_on_leave:
        return None
    leave = facts.on_leave(person, day)
    if leave is True:
        return f"{person.email} is on approved full-day leave on {day.isoformat()}"
    notes.append(
        "leave not checked (unknown)" if leave is None else f"not on leave on {day.isoformat()}"
    )
    return None


def _check_tracking(
    when: When, person: Person, day: date, facts: Facts, notes: list[str]
) -> str | None:
    if when.tracking is None:
        return None
    state = facts.tracking(person)
    wanted = "tracking" if when.tracking else "not tracking"
    if state is None:
        notes.append(f"tracking state unknown; the rule wants {wanted} and may still apply")
    elif state != when.tracking:
        actual = "tracking" if state else "not tracking"
        return f"{person.email} is {actual} (the rule wants {wanted})"
    else:
        notes.append(f"{person.email} is {wanted}")
    return None


_FACT_CHECKS: tuple[Callable[[When, Person, date, Facts, list[str]], str | None], ...] = (
    _check_holiday,
    _check_leave,
    _check_tracking,
)


def _in_window(clock: time, start: time, end: time) -> tuple[bool, bool]:
    """``(inside [start, end), inside the after-midnight part of a crossing window)``."""
    if start < end:
        return start <= clock < end, False
    if clock >= start:
        return True, False
    if clock < end:
        return True, True
    return False, False


def _holiday(person: Person, day: date, facts: Facts) -> str | None:
    """``"!reason"`` to skip, a note to keep, or None."""
    if not person.country:
        return "holidays not checked (the person has no country)"
    name = facts.holiday(person, day)
    if name is None:
        return f"{day.isoformat()} is not a public holiday in {_region(person)}"
    region = _holiday_region(person, day)
    return f"!{day.isoformat()} is a public holiday in {region} ({name})"


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


def _notes(notes: list[str], *, first: bool = False) -> str:
    if not notes:
        return ": source and kind match, no other condition" if first else ""
    return ": " + "; ".join(notes)


def format_duration(value: timedelta) -> str:
    """``1h30m``, ``15m``, ``45s`` — the same forms the YAML accepts."""
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{seconds}s" if seconds or not (hours or minutes) else "",
    ]
    return sign + "".join(parts)
