"""The :class:`Ruleset` type: a loaded, checked rules directory (no file reading here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from worker.rules.directory import Directory
from worker.rules.schema import (
    CalendarSource,
    Closure,
    NotifyPolicy,
    Policy,
    RuleSpec,
    ScheduleSource,
    SourcesFile,
)

__all__ = ["PEOPLE_FILE", "RULES_FILE", "SOURCES_FILE", "Ruleset"]

PEOPLE_FILE = "people.yaml"
SOURCES_FILE = "sources.yaml"
RULES_FILE = "rules.yaml"


@dataclass(frozen=True)
class Ruleset:
    """A loaded, checked ruleset: the directory, the rules in file order, policy, sources."""

    directory: Directory
    rules: tuple[RuleSpec, ...]
    policy: Policy
    sources: SourcesFile
    root: Path
    groups: tuple[str, ...] = ()
    closures: tuple[Closure, ...] = ()
    notify: NotifyPolicy = field(default_factory=NotifyPolicy)
    """``notify:`` in rules.yaml: default recipients per outcome class, quiet hours."""
    version: str = ""
    """A content hash of the rules files: outcomes record the version that decided them."""

    def calendar(self, name: str) -> CalendarSource | None:
        """The calendar source called ``name``, or ``None``."""
        return next((c for c in self.sources.calendars if c.name == name), None)

    def schedule(self, name: str) -> ScheduleSource | None:
        """The schedule called ``name``, or ``None``."""
        return next((s for s in self.sources.schedules if s.name == name), None)

    def summary(self) -> str:
        """One line: how many people, groups, sources and rules."""
        s = self.sources
        return (
            f"{len(self.directory)} people, {len(self.groups)} groups, "
            f"{len(s.webhooks)} webhook sources, {len(s.calendars)} calendars, "
            f"{len(s.schedules)} schedules, {len(self.rules)} rules"
            + (f", {len(self.closures)} closures" if self.closures else "")
            + (f"; version {self.version}" if self.version else "")
        )
