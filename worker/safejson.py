"""JSON from strangers: parsed into plain values or refused with a reason, never a crash later.

:func:`loads` is :func:`json.loads` with four limits that the standard parser leaves to the
caller, each of which used to surface as an exception far from the parse:

- an integer of more than ``max_int_digits`` digits (Python refuses to convert over 4,300
  and raises a bare ``ValueError``);
- ``NaN``, ``Infinity``, ``-Infinity`` and numbers that overflow a float (not JSON);
- a string or key holding a lone surrogate (``"\\ud800"``), which cannot be encoded again
  (to Redis, to a log, to a re-serialised body);
- nesting deeper than ``max_depth``.

Anything refused raises :class:`JSONRefused` (a ``ValueError``) saying which limit.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "JSONRefused", "loads"]

MAX_DEPTH = 64
MAX_INT_DIGITS = 64


class JSONRefused(ValueError):
    """The text is not JSON, or is JSON beyond one of the limits; the message says which."""


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise JSONRefused(f"an integer has {digits} digits (limit {MAX_INT_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONRefused(f"a number is out of range ({text[:20]}...)")
    return value


def _constant(name: str) -> Any:
    raise JSONRefused(f"{name} is not a JSON value")


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check(value: Any) -> None:
    """Walk the parsed value (no recursion): depth and lone surrogates."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                raise JSONRefused("a string holds a lone surrogate (invalid Unicode)")
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise JSONRefused(f"nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not _encodable(key):
                        raise JSONRefused("a key holds a lone surrogate (invalid Unicode)")
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def loads(data: bytes | str) -> Any:
    """Parse ``data`` (UTF-8/16/32 bytes or text) within the limits; :class:`JSONRefused` if not."""
    try:
        value = json.loads(data, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except JSONRefused:
        raise
    except RecursionError:
        raise JSONRefused(f"nested deeper than {MAX_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise JSONRefused("not valid UTF-8") from None
    except ValueError as exc:  # JSONDecodeError and anything else the parser refuses
        raise JSONRefused(str(exc)[:200]) from None
    _check(value)
    return value
