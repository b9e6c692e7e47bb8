"""Turn pydantic's validation errors into the operator's words, with did-you-mean hints.

- :func:`where` — an error location as a YAML path: ``rules[2].when.between[0]``;
- :func:`message` — one error as a sentence (``unknown key 'weekday' (did you mean …)``);
- :func:`suggest` — `` (did you mean 'x'?)`` for a close match, else nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from worker.rules import schema

__all__ = ["message", "suggest", "where"]

_LABEL = re.compile(r"^[A-Za-z_][\w-]*$")


def where(loc: tuple[Any, ...]) -> str:
    """``("rules", 2, "when", "between", 0)`` → ``rules[2].when.between[0]``.

    Pydantic's union-branch labels (``list[...]``, ``function-after[...]``) are dropped.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and (_LABEL.match(part) or "@" in part):
            out += f".{part}" if out else part
    return out


@lru_cache(maxsize=1)
def _all_keys() -> frozenset[str]:
    """Every key any file may hold (the did-you-mean vocabulary for unknown keys)."""
    keys: set[str] = set()
    for value in vars(schema).values():
        if (
            isinstance(value, type)
            and issubclass(value, BaseModel)
            and value.__module__ == (schema.__name__)
        ):
            keys.update(info.alias or name for name, info in value.model_fields.items())
    return frozenset(keys)


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when ``word`` is close to one of ``choices``, else ``""``."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {match[0]!r}?)" if match else ""


_PLAIN = {
    "missing": "required key is missing",
}


def message(err: Mapping[str, Any]) -> str:
    """One pydantic error (``ValidationError.errors()`` item) as a sentence."""
    kind = err["type"]
    loc = err["loc"]
    value = err.get("input")
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        return f"unknown key {key!r}{suggest(key, _all_keys())}"
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return f'expected text, got the number {value}: quote it, e.g. "{value}"'
    if kind in ("model_type", "dict_type"):
        return f"expected a mapping of keys, got {_show(value)}"
    if kind == "list_type":
        return f"expected a list, got {_show(value)}"
    return f"{msg} (got {_show(value)})"


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
