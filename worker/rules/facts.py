"""Facts about the world that rules may ask for: public holidays, leave, tracker state.

Evaluation stays pure by receiving these as an object: the pipeline passes one that looks
leave up in WebWork and reads the known tracker state from Redis; ``rules explain`` and the
tests pass a :class:`StaticFacts` with the answers given explicitly.

``None`` always means *unknown*: a rule condition on an unknown fact does not exclude the
rule, and the verdict says the fact was not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import holidays as holidays_lib

from worker.rules.directory import Person

__all__ = [
    "Facts",
    "HolidayFacts",
    "StaticFacts",
    "holiday_name",
    "holiday_region",
    "supported_regions",
]


@runtime_checkable
class Facts(Protocol):
    """What the evaluation may ask about a person; ``None`` is "unknown"."""

    def holiday(self, person: Person, day: date) -> str | None:
        """The name of the public holiday on ``day`` where ``person`` works, or ``None``."""
        ...

    def on_leave(self, person: Person, day: date) -> bool | None:
        """Whether ``person`` has approved full-day leave on ``day`` (``None``: not checked)."""
        ...

    def tracking(self, person: Person) -> bool | None:
        """Whether ``person``'s tracker is running now (``None``: unknown)."""
        ...


@lru_cache(maxsize=1)
def supported_regions() -> dict[str, frozenset[str]]:
    """Country code → its subdivision codes, as the installed ``holidays`` release knows them."""
    return {c: frozenset(s) for c, s in holidays_lib.list_supported_countries().items()}


@lru_cache(maxsize=4096)
def _calendar(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    table: Any = holidays_lib.country_holidays(country, subdiv=subdivision, years=year)
    return {day: str(name) for day, name in table.items()}


def holiday_name(country: str, subdivision: str | None, day: date) -> str | None:
    """The public holiday on ``day`` in ``country`` (ISO 3166-1) and ``subdivision``, if any.

    Uses the ``holidays`` package's PUBLIC category (observed substitute days included where
    the country defines them), cached per (country, subdivision, year).
    """
    return _calendar(country, subdivision, day.year).get(day)


def holiday_region(country: str, subdivision: str | None, day: date) -> str:
    """``"DE"`` for a nationwide holiday, ``"DE-BE"`` for one only in the subdivision."""
    if subdivision and _calendar(country, None, day.year).get(day) is None:
        return f"{country}-{subdivision}"
    return country


class HolidayFacts:
    """Public holidays from the ``holidays`` package; leave and tracker state unknown.

    Subclass (or wrap) it to add leave and tracker state: the pipeline does.
    """

    def holiday(self, person: Person, day: date) -> str | None:
        """The holiday name by the person's country/subdivision; ``None`` without a country."""
        if not person.country:
            return None
        return holiday_name(person.country, person.subdivision, day)

    def on_leave(self, person: Person, day: date) -> bool | None:
        """Unknown: this class does not look leave up."""
        return None

    def tracking(self, person: Person) -> bool | None:
        """Unknown: this class does not know tracker state."""
        return None


class StaticFacts(HolidayFacts):
    """Holidays from ``holidays``; leave and tracking as given (for ``explain`` and tests).

    ``leave`` and ``tracking`` are either one answer for everyone (``True``/``False``/
    ``None``) or a mapping from email (and, for leave, ``(email, date)``) to the answer;
    anything not in a mapping is unknown.
    """

    def __init__(
        self,
        *,
        leave: bool | Mapping[Any, bool] | None = None,
        tracking: bool | Mapping[str, bool] | None = None,
    ) -> None:
        self._leave = leave
        self._tracking = tracking

    def on_leave(self, person: Person, day: date) -> bool | None:
        """The given answer for ``person`` on ``day`` (``None`` when not given)."""
        if isinstance(self._leave, Mapping):
            answer = self._leave.get((person.email, day))
            return answer if answer is not None else self._leave.get(person.email)
        return self._leave

    def tracking(self, person: Person) -> bool | None:
        """The given answer for ``person`` (``None`` when not given)."""
        if isinstance(self._tracking, Mapping):
            return self._tracking.get(person.email)
        return self._tracking
