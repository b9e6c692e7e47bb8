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
6. ``when.tracking`` (excludes only a *known* contrary state);
7. the nested condition sets ``all:``, ``any:`` and ``not:`` (:mod:`worker.rules.conditions`,
   which evaluates the whole ``when`` tree and gives every leaf its verdict).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fnmatch import fnmatchcase

from worker.models import Trigger, Verb
from worker.rules.conditions import Leaf, check_when
from worker.rules.directory import Person
from worker.rules.facts import Facts
from worker.rules.pauses import Pause, paused_reason
from worker.rules.ruleset import Ruleset
from worker.rules.schema import On, RuleSpec
from worker.rules.templates import render

__all__ = ["Decision", "Leaf", "Verdict", "evaluate", "format_duration", "rule_listens"]


@dataclass(frozen=True)
class Verdict:
    """Whether one rule matched a trigger, and why (``"skipped: …"`` / ``"matched: …"``)."""

    rule: str
    matched: bool
    reason: str
    leaves: tuple[Leaf, ...] = ()
    """The verdict of each condition of the rule's ``when`` (none when ``on`` did not match)."""


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
    paused: str | None = None
    """Set when a pause or closure day stops the trigger (``verb`` is then ``None``)."""

    @property
    def matched(self) -> bool:
        """True when a rule decided an action."""
        return self.verb is not None

    def why_not(self) -> str:
        """The reason plus why each rule listening to the trigger was skipped; when no rule
        listens to it (its source or kind), every rule's reason (a manual trigger)."""
        listening = [
            v
            for v in self.verdicts
            if not v.matched
            and " does not match " not in v.reason
            and not v.reason.startswith("skipped: kind ")
        ]
        if listening:
            return self.reason + ": " + "; ".join(f"{v.rule} {v.reason}" for v in listening)
        if not self.verdicts:
            return self.reason
        every = "; ".join(f"{v.rule} {v.reason}" for v in self.verdicts)
        return f"{self.reason}: no rule listens to this source and kind: {every}"

    def deadline(self, occurred_at: datetime) -> datetime:
        """The latest time the action may still be applied."""
        return occurred_at + self.max_delay


def evaluate(
    trigger: Trigger,
    person: Person,
    ruleset: Ruleset,
    *,
    now: datetime,
    facts: Facts,
    exhaustive: bool = False,
    pauses: Sequence[Pause] = (),
) -> Decision:
    """Decide what ``trigger`` means for ``person`` under ``ruleset`` (pure; O(rules)).

    ``now`` only adds a note to the reason when the trigger is already older than its
    max delay; the decision itself does not depend on it. ``exhaustive`` evaluates every
    condition of every rule whose ``on`` matches (``rules explain``), not only up to the first
    that fails. ``pauses`` are the operator's pauses in force (closure days come with the
    ruleset): a trigger they cover decides nothing and says so in ``paused``, after every rule
    has still been given its verdict (with leave read as unknown: a paused trigger never
    waits for, or fails on, a leave lookup).
    """
    paused = paused_reason(person, trigger.occurred_at, closures=ruleset.closures, pauses=pauses)
    if paused is not None:
        facts = _WithoutLeave(facts)
    local = trigger.occurred_at.astimezone(person.zone)
    verdicts: list[Verdict] = []
    winner: RuleSpec | None = None
    for rule in ruleset.rules:
        why_not, notes, leaves = _check(rule, trigger, person, local, facts, exhaustive)
        if why_not is not None:
            verdicts.append(Verdict(rule.name, False, f"skipped: {why_not}", leaves))
            continue
        if winner is None:
            winner = rule
            verdicts.append(Verdict(rule.name, True, "matched" + _notes(notes, first=True), leaves))
        else:
            verdicts.append(
                Verdict(
                    rule.name,
                    True,
                    f"matched too, not applied (first match wins: {winner.name!r})" + _notes(notes),
                    leaves,
                )
            )
    if paused is not None:
        would = (
            f"rule {winner.name!r} would have decided {winner.do.action.value}"
            if winner is not None
            else "no rule would have matched"
        )
        return Decision(
            verb=None,
            rule=None,
            contract_id=None,
            task_id=None,
            description=None,
            max_delay=ruleset.policy.max_delay,
            verdicts=tuple(verdicts),
            reason=f"paused: {paused}; {would}",
            paused=paused,
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


class _WithoutLeave:
    """Facts with leave unknown: no lookup is made for a trigger that cannot act anyway."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts

    def holiday(self, person: Person, day: date) -> str | None:
        return self.facts.holiday(person, day)

    def on_leave(self, person: Person, day: date) -> bool | None:
        return None

    def tracking(self, person: Person) -> bool | None:
        return self.facts.tracking(person)


def _check(
    rule: RuleSpec,
    trigger: Trigger,
    person: Person,
    local: datetime,
    facts: Facts,
    exhaustive: bool,
) -> tuple[str | None, list[str], tuple[Leaf, ...]]:
    """``(reason it does not match or None, notes on a match, the when's leaves)``."""
    why_not = _check_on(rule.on, trigger)
    if why_not is not None:
        return why_not, [], ()
    outcome = check_when(rule.when, person, local, facts, exhaustive=exhaustive)
    return outcome.why_not, list(outcome.notes), outcome.leaves


def rule_listens(rule: RuleSpec, trigger: Trigger) -> bool:
    """True when the rule's ``on`` (source, kind, attributes) accepts ``trigger``."""
    return _check_on(rule.on, trigger) is None


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
