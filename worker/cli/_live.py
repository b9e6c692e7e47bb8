"""Hot reload for the long-running commands: one :class:`LiveRules` per process."""

from __future__ import annotations

import threading

from worker.logs import register_secrets
from worker.rules.live import LiveRules
from worker.rules.ruleset import Ruleset
from worker.settings import Settings

__all__ = ["live_rules"]


def live_rules(settings: Settings, ruleset: Ruleset, stop: threading.Event) -> LiveRules:
    """Watch the rules directory (and SIGHUP) until ``stop``; subscribe the roles to it.

    Call from the main thread (SIGHUP is installed there).
    """
    live = LiveRules(ruleset, default_timezone=settings.timezone)
    live.subscribe(lambda rs: register_secrets([c.url for c in rs.sources.calendars if c.url]))
    live.install_sighup()
    live.watch(stop)
    return live
