"""Times typed on the command line: one reading for ``rules explain --at``, ``trigger --at``
and ``pause --until``.

ISO 8601 with an offset or ``Z`` (``2026-03-29T18:05+02:00``), or without one, read in the
given zone (``2026-03-29T18:05``, ``2026-03-29 18:05``, a date alone is its midnight).
``pause --until`` also takes a duration from now (``90m``, ``8h``, ``2d``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click

__all__ = ["parse_instant", "parse_until"]

_DAYS = re.compile(r"^\s*(\d+)\s*d\s*$")


def parse_instant(text: str, option: str, zone_name: str) -> datetime:
    """``text`` as an aware instant; without an offset it is a wall time in ``zone_name``."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-03-29T18:05+02:00, or "
            "2026-03-29T18:05 in the person's zone)",
            param_hint=option,
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone_name))
    return value


def parse_until(text: str, option: str, zone_name: str, now: datetime) -> datetime:
    """An instant (as :func:`parse_instant`) or a duration from ``now`` (``8h``, ``2d``)."""
    from worker.rules.schema import parse_duration

    days = _DAYS.match(text)
    if days:
        return now + timedelta(days=int(days.group(1)))
    if not any(sep in text for sep in "-:T"):
        try:
            return now + parse_duration(text)
        except ValueError:
            raise click.BadParameter(
                f"{text!r} is neither a time (2026-12-24T06:00) nor a duration (90m, 8h, 2d)",
                param_hint=option,
            ) from None
    return parse_instant(text, option, zone_name)
