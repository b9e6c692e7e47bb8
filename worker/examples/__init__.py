"""The example site shipped inside the package: ``rules/`` and a starter ``.env``.

``autoclock demo`` plays its day on these rules (from any directory), and ``autoclock init``
copies them into a new site. The repository's top-level ``rules`` is a link to
:func:`rules_dir`, so the example a reader sees is the one the package ships.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["dotenv_template", "rules_dir"]

_HERE = Path(__file__).resolve().parent


def rules_dir() -> Path:
    """The example rules directory (people, sources, rules, a calendar)."""
    return _HERE / "rules"


def dotenv_template() -> str:
    """The starter ``.env`` of ``autoclock init``: every secret empty, nothing usable."""
    return (_HERE / "dotenv.example").read_text(encoding="utf-8")
