"""Who hears about an outcome: pure, from the rules and the people directory.

Recipients, as rules name them:

* ``person`` — the person the outcome is about, on each of their channels;
* ``manager`` — that person's ``manager`` (a person in people.yaml), on their channels;
* ``group:NAME`` — everyone in the group, each on their own channels;
* ``channel:NAME`` — the channel itself (an operators' Slack channel, a shared inbox).

An outcome notifies the recipients of ``notify: defaults:`` for its result (every outcome of
that class, with or without a rule) plus those of its rule's ``notify:`` when the result is
in the rule's ``on:``. A channel that is not configured is skipped (startup refuses a named
channel that is missing, except the built-in ``operators``).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from worker.models import Outcome
from worker.rules.directory import Directory, Person
from worker.rules.ruleset import Ruleset

__all__ = ["OPTIONAL_CHANNELS", "Target", "channels_named", "recipients", "targets"]

#: Channels that may be named without being configured (the built-in default's).
OPTIONAL_CHANNELS = frozenset({"operators"})


@dataclass(frozen=True)
class Target:
    """One recipient on one channel (``address`` is ``None`` for a ``channel:`` recipient)."""

    recipient: str
    channel: str
    address: str | None
    person: Person | None
    """The person reached (for their zone), ``None`` for a channel."""


def recipients(outcome: Outcome, ruleset: Ruleset) -> list[str]:
    """The recipients ``outcome`` notifies, each once, defaults first."""
    names = list(ruleset.notify.defaults.get(outcome.result, ()))
    rule = next((r for r in ruleset.rules if r.name == outcome.rule), None)
    if rule is not None and rule.notify is not None and outcome.result in rule.notify.on:
        names.extend(rule.notify.to)
    return list(dict.fromkeys(names))


def targets(
    names: Iterable[str], subject: Person | None, directory: Directory, configured: AbstractSet[str]
) -> list[Target]:
    """Each recipient in ``names`` on each of its channels that is in ``configured``, each
    (channel, address) once."""
    found: dict[tuple[str, str | None], Target] = {}
    for name in names:
        kind, _, rest = name.partition(":")
        if kind == "channel":
            if rest in configured:
                found.setdefault((rest, None), Target(name, rest, None, None))
            continue
        for person in _people(kind, rest, subject, directory):
            for channel in person.notify:
                if channel in configured:
                    found.setdefault(
                        (channel, person.email), Target(name, channel, person.email, person)
                    )
    return list(found.values())


def _people(kind: str, rest: str, subject: Person | None, directory: Directory) -> list[Person]:
    if kind == "person":
        return [subject] if subject is not None else []
    if kind == "manager":
        manager = directory.by_email(subject.manager) if subject and subject.manager else None
        return [manager] if manager is not None else []
    if kind == "group":
        return directory.in_groups([rest])
    return []


def channels_named(ruleset: Ruleset) -> set[str]:
    """Every channel the rules and the people directory name."""
    named = {c for p in ruleset.directory.people for c in p.notify}
    lists = [*ruleset.notify.defaults.values(), *(r.notify.to for r in ruleset.rules if r.notify)]
    for names in lists:
        named.update(n.partition(":")[2] for n in names if n.startswith("channel:"))
    return named
