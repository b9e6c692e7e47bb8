"""Deciding what a rejected start/stop means: already tracking, not tracking, or a real rejection.

WebWork does not document the status or wording of "user already has an active tracker" and
"no active tracker". A rejection counts as a conflict when its status is one of
``conflict_statuses`` (default 400, 409, 422) **and** its text matches one of the configured
patterns (case-insensitive regular expressions; plain phrases work as they are). A conflict
status whose text matches nothing may be confirmed through ``GET /time-tracking/current-data``
when ``confirm_with_current_data`` is on (see :class:`worker.webwork.client.WebWorkClient`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from worker.errors import ConfigError
from worker.settings import (
    ALREADY_TRACKING_PATTERNS,
    CONFLICT_STATUSES,
    NOT_TRACKING_PATTERNS,
    Settings,
)

__all__ = ["Classifier", "Conflict"]

Conflict = Literal["already_tracking", "not_tracking"]


def _compile(patterns: Iterable[str], setting: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        if not pattern.strip():
            raise ConfigError(f"{setting}: empty pattern")
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as exc:
            raise ConfigError(f"{setting}: invalid pattern {pattern!r}: {exc}") from None
    return tuple(compiled)


@dataclass(frozen=True)
class Classifier:
    """Conflict statuses, message patterns and the confirm switch, compiled once."""

    conflict_statuses: frozenset[int] = frozenset(CONFLICT_STATUSES)
    already_tracking_patterns: tuple[str, ...] = ALREADY_TRACKING_PATTERNS
    not_tracking_patterns: tuple[str, ...] = NOT_TRACKING_PATTERNS
    confirm_with_current_data: bool = True
    _already: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _not: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        already = _compile(self.already_tracking_patterns, "WEBWORK_ALREADY_TRACKING_PATTERNS")
        not_tracking = _compile(self.not_tracking_patterns, "WEBWORK_NOT_TRACKING_PATTERNS")
        object.__setattr__(self, "_already", already)
        object.__setattr__(self, "_not", not_tracking)

    @classmethod
    def from_settings(cls, settings: Settings) -> Classifier:
        """The classifier the settings describe (raises ConfigError on an invalid pattern)."""
        return cls(
            conflict_statuses=frozenset(settings.webwork_conflict_statuses),
            already_tracking_patterns=tuple(settings.webwork_already_tracking_patterns),
            not_tracking_patterns=tuple(settings.webwork_not_tracking_patterns),
            confirm_with_current_data=settings.webwork_confirm_with_current_data,
        )

    def is_conflict_status(self, status: int) -> bool:
        """Whether a rejection with this status may mean already/not tracking."""
        return status in self.conflict_statuses

    def match(self, expected: Conflict, text: str | None) -> str | None:
        """The first pattern of the ``expected`` kind found in ``text``, or ``None``."""
        if not text:
            return None
        patterns = self._already if expected == "already_tracking" else self._not
        for pattern in patterns:
            if pattern.search(text):
                return pattern.pattern
        return None
