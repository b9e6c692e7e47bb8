"""The ``autoclock`` command.

Each module in this package contributes its commands through a module-level ``COMMANDS``
list; :func:`main` gathers them, so every area (sandbox, pipeline, rules, webhooks,
scheduler) owns its own file.

Exit codes, for scripts:

====  ==========================================================
0     success
1     the command ran and found problems (``rules check``, a failed demo)
2     usage error (unknown option, bad argument) — click's own
3     invalid configuration (settings or rules); nothing was started
4     a dependency is unavailable (Redis, the WebWork API)
====  ==========================================================
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import PackageNotFoundError, version

import click

__all__ = ["EXIT_CONFIG", "EXIT_PROBLEMS", "EXIT_UNAVAILABLE", "main"]

EXIT_PROBLEMS = 1
EXIT_CONFIG = 3
EXIT_UNAVAILABLE = 4


def _version() -> str:
    try:
        return version("autoclock")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), prog_name="autoclock")
def main() -> None:
    """autoclock: clock people in and out of WebWork Tracker from calendars, badges, schedules."""


def _register() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            main.add_command(command)


_register()
