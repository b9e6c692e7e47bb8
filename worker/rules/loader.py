"""Compatibility names: the loader is now :mod:`worker.rules.load` (reading and building),
:mod:`worker.rules.ruleset` (the type), :mod:`worker.rules.checks` and
:mod:`worker.rules.messages`. New code imports from those modules.
"""

from __future__ import annotations

from worker.rules.load import check_ruleset, load_ruleset
from worker.rules.ruleset import PEOPLE_FILE, RULES_FILE, SOURCES_FILE, Ruleset

__all__ = [
    "PEOPLE_FILE",
    "RULES_FILE",
    "SOURCES_FILE",
    "Ruleset",
    "check_ruleset",
    "load_ruleset",
]
