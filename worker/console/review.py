"""Review flags: what a payroll clerk should look at in one person's day.

The flags are computed in :mod:`worker.rules.review` (pure, below both the console and
notify, which share them); this module keeps the console's names.
"""

from __future__ import annotations

from worker.rules.review import BADGE_OUT_GAP, EVIDENCE_WINDOW, Flag, review

__all__ = ["BADGE_OUT_GAP", "EVIDENCE_WINDOW", "Flag", "review"]
