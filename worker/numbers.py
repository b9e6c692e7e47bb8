"""Integers read from text that a stranger wrote: ASCII digits only, bounded length.

``str.isdigit()`` and ``int()`` accept every Unicode decimal digit (``"١٢"``) and ``isdigit``
even superscripts (``"²"``) that ``int`` then refuses; and ``int()`` raises past 4,300
digits. Everything that parses an id, a timestamp or a length from outside input uses
:func:`ascii_int` instead, so odd input is "not a number", never an exception.
"""

from __future__ import annotations

__all__ = ["ascii_int", "is_ascii_digits"]

_DIGITS = frozenset("0123456789")


def is_ascii_digits(text: str) -> bool:
    """True when ``text`` is non-empty and made of ``0``-``9`` only."""
    return bool(text) and all(ch in _DIGITS for ch in text)


def ascii_int(text: str, *, max_digits: int = 18) -> int | None:
    """``text`` as a non-negative integer if it is 1 to ``max_digits`` ASCII digits, else None."""
    if not 0 < len(text) <= max_digits or not is_ascii_digits(text):
        return None
    return int(text)
