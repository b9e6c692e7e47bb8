"""The people directory: who a trigger's subject is, with every default applied.

:class:`Directory` is built once per ruleset load and answers every lookup with a few
dictionary reads (O(1) in the number of people), so a 10,000-person directory costs no
more per trigger than a 5-person one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from zoneinfo import ZoneInfo

from worker.numbers import ascii_int

__all__ = ["Directory", "Person", "normalise_id", "source_key"]


def normalise_id(value: str) -> str:
    """How badge/card ids and vendor user ids are compared: stripped and case-insensitive."""
    return value.strip().casefold()


def source_key(source: str | None) -> str | None:
    """The source name a trigger's source refers to: ``"webhook:kisi-hq"`` → ``"kisi-hq"``."""
    if not source:
        return None
    return source.split(":", 1)[1] if ":" in source else source


@dataclass(frozen=True)
class Person:
    """One person from ``people.yaml`` with defaults applied.

    ``timezone`` is always set (person → ``defaults`` → ``settings.timezone``); ``user_id``
    may be ``None``, in which case the pipeline resolves it once by email through the API.
    """

    email: str
    name: str | None = None
    user_id: int | None = None
    timezone: str = "UTC"
    country: str | None = None
    subdivision: str | None = None
    badges: tuple[str, ...] = ()
    vendor_ids: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    calendars: tuple[str, ...] = ()
    contract_id: int | None = None
    task_id: int | None = None
    groups: tuple[str, ...] = ()
    manager: str | None = None
    """The manager's email (a person in the directory), for notifications."""
    notify: tuple[str, ...] = ()
    """Notification channels that reach this person at their email."""

    @property
    def zone(self) -> ZoneInfo:
        """The person's zone (``ZoneInfo`` caches instances, so this is cheap)."""
        return ZoneInfo(self.timezone)

    @property
    def display(self) -> str:
        """``Name <email>``, or the email alone."""
        return f"{self.name} <{self.email}>" if self.name else self.email


class Directory:
    """Every person, indexed by email, badge, vendor id, WebWork user id and group.

    ``vendors`` maps a webhook source name to its vendor (``{"kisi-hq": "kisi"}``) so that
    a vendor id listed under the vendor's name is found for triggers from any of its
    sources. The constructor does not check for duplicates (the loader reports them with
    their lines); if two people share an identity, the first one listed wins.
    """

    def __init__(
        self, people: Iterable[Person], *, vendors: Mapping[str, str] | None = None
    ) -> None:
        self.people: tuple[Person, ...] = tuple(people)
        self._vendors = dict(vendors or {})
        self._email: dict[str, Person] = {}
        self._badge: dict[str, Person] = {}
        self._vendor: dict[tuple[str, str], Person] = {}
        self._user: dict[int, Person] = {}
        self._groups: dict[str, list[Person]] = {}
        self._order: dict[str, int] = {}
        for index, person in enumerate(self.people):
            self._order.setdefault(person.email, index)
            self._email.setdefault(person.email.casefold(), person)
            for badge in person.badges:
                self._badge.setdefault(normalise_id(badge), person)
            for key, value in person.vendor_ids.items():
                self._vendor.setdefault((key, normalise_id(value)), person)
            if person.user_id is not None:
                self._user.setdefault(person.user_id, person)
            for group in person.groups:
                self._groups.setdefault(group, []).append(person)

    def __len__(self) -> int:
        return len(self.people)

    def __repr__(self) -> str:
        return f"Directory({len(self.people)} people)"

    def by_email(self, email: str) -> Person | None:
        """The person with this email (case-insensitive), or ``None``."""
        return self._email.get(email.strip().casefold())

    def by_user_id(self, user_id: int) -> Person | None:
        """The person whose configured WebWork user id is ``user_id``, or ``None``."""
        return self._user.get(user_id)

    def resolve(self, subject: str, *, source: str | None = None) -> Person | None:
        """Who ``subject`` is, trying in order:

        1. an email (contains ``@``), case-insensitive;
        2. a vendor user id listed under the trigger's source name (``"webhook:kisi-hq"``
           → ``vendor_ids["kisi-hq"]``), then under that source's vendor (``"kisi"``);
        3. a badge/card id (stripped, case-insensitive);
        4. a WebWork user id (ASCII digits only) configured as a person's ``user_id``.

        ``None`` when nobody matches.
        """
        return self.lookup(subject, source=source)[0]

    def lookup(self, subject: str, *, source: str | None = None) -> tuple[Person | None, str]:
        """Like :meth:`resolve`, also saying how: ``"email"``, ``"kisi-hq id"``, ``"badge"``…"""
        text = subject.strip()
        if not text:
            return None, "empty subject"
        if "@" in text:
            return self.by_email(text), "email"
        ident = normalise_id(text)
        key = source_key(source)
        if key is not None:
            found = self._vendor.get((key, ident))
            if found is not None:
                return found, f"{key} id"
            vendor = self._vendors.get(key)
            if vendor is not None:
                found = self._vendor.get((vendor, ident))
                if found is not None:
                    return found, f"{vendor} id"
        found = self._badge.get(ident)
        if found is not None:
            return found, "badge"
        user_id = ascii_int(text)
        if user_id is not None:
            return self._user.get(user_id), "WebWork user id"
        return None, "no match"

    def in_groups(self, groups: Iterable[str]) -> list[Person]:
        """Everyone in at least one of ``groups``, each once, in directory order."""
        seen: dict[str, Person] = {}
        for group in groups:
            for person in self._groups.get(group, ()):
                seen.setdefault(person.email, person)
        return sorted(seen.values(), key=lambda p: self._order[p.email])
