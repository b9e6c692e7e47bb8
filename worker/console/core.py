"""What every console view needs: the settings, Redis, the rules, the templates, a clock."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from worker.clock import Clock, utcnow
from worker.console.day import Planned
from worker.errors import ConfigError
from worker.pipeline.probe import TrackerProbe
from worker.rules.load import check_ruleset
from worker.rules.ruleset import Ruleset
from worker.scheduler.planned import planned_fires
from worker.settings import Settings
from worker.store import Keys

__all__ = ["HERE", "Console"]

HERE = Path(__file__).parent
#: How long the Now page reuses the computed planned fires.
UPCOMING_TTL = timedelta(minutes=1)


def _ago(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file under the rules directory with its size and modification time."""
    found = []
    for path in sorted(root.rglob("*")):
        try:
            stat = path.stat()
        except OSError:
            continue
        if path.is_file():
            found.append((str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def _age(seconds: float) -> str:
    """How long ago (positive) or ahead (negative: a clock ahead, e.g. the demo's day)."""
    return f"{_ago(seconds)} ago" if seconds >= 0 else f"{_ago(seconds)} ahead of this clock"


@dataclass
class Console:
    settings: Settings
    client: redis.Redis
    ruleset: Ruleset
    clock: Clock = utcnow
    loaded_at: datetime = field(default_factory=utcnow)
    """When the rules shown were read: compared with the files' modification times, which the
    filesystem stamps by the system clock, so it is read from that clock, not ``clock``."""
    keys: Keys = field(init=False)
    env: Environment = field(init=False)
    _probe: TrackerProbe | None = field(default=None, init=False)
    _probe_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _upcoming: tuple[datetime, dict[str, list[Planned]]] | None = field(default=None, init=False)
    _refreshing: bool = field(default=False, init=False)
    _checked: tuple[tuple[tuple[str, int, int], ...], list[str]] | None = field(
        default=None, init=False
    )

    def __post_init__(self) -> None:
        self.keys = Keys(self.settings.namespace)
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html", "svg"], default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["ago"] = _ago
        self.env.filters["age"] = _age

    def render(
        self, request: Request, name: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """Render template ``name`` with the page basics (base path, CSRF token, clock)."""
        html = self.env.get_template(name).render(
            base=request.scope.get("root_path", "").rstrip("/"),
            csrf=request.state.csrf,
            actions=self.settings.console_actions,
            can_ask=self.settings.webwork_token is not None,
            now=self.clock(),
            request=request,
            page=name,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def error(self, request: Request, status: int, message: str) -> HTMLResponse:
        return self.render(request, "error.html", status=status, message=message)

    def refresh(self) -> None:
        """Follow edits of the rules files (hot reload, as the roles do): when a file changed,
        check the directory again; a valid edit replaces the rules shown, an invalid one
        leaves them and is listed on the Rules page."""
        signature = _signature(self.ruleset.root)
        with self._probe_lock:
            if self._checked is not None and self._checked[0] == signature:
                return
        ruleset, found = check_ruleset(self.ruleset.root, default_timezone=self.settings.timezone)
        with self._probe_lock:
            self._checked = (signature, list(found))
            if ruleset is not None:
                self.ruleset = ruleset
                self.loaded_at = utcnow()
                self._upcoming = None

    def problems(self) -> list[str]:
        """Problems of the rules files on disk now (re-checked only when a file changed)."""
        self.refresh()
        with self._probe_lock:
            return list(self._checked[1]) if self._checked else []

    def upcoming(self, now: datetime, lookahead: timedelta) -> dict[str, list[Planned]]:
        """Planned fires of everyone from ``now`` on, for the Now page.

        Computed once, then refreshed in the background once a minute (the window is two
        minutes longer than ``lookahead``, and fires before ``now`` are dropped on every read),
        so a page never waits for the whole directory's schedules but the first one.
        """
        with self._probe_lock:
            cached = self._upcoming
            stale = cached is None or not (cached[0] <= now < cached[0] + UPCOMING_TTL)
            if stale and cached is not None and not self._refreshing:
                self._refreshing = True
                threading.Thread(
                    target=self._refresh_upcoming, args=(now, lookahead), daemon=True
                ).start()
        if cached is None:
            cached = self._refresh_upcoming(now, lookahead)
        return {email: [f for f in found if f.at > now] for email, found in cached[1].items()}

    def _refresh_upcoming(
        self, now: datetime, lookahead: timedelta
    ) -> tuple[datetime, dict[str, list[Planned]]]:
        try:
            fires = planned_fires(
                self.client, self.keys, self.ruleset, now, now + lookahead + 2 * UPCOMING_TTL
            )
            fresh = (now, fires)
            with self._probe_lock:
                self._upcoming = fresh
            return fresh
        finally:
            with self._probe_lock:
                self._refreshing = False

    def probe(self) -> TrackerProbe:
        """The "ask WebWork" probe, built on first use (raises ConfigError without a token)."""
        with self._probe_lock:
            if self._probe is None:
                if self.settings.webwork_token is None:
                    raise ConfigError("WEBWORK_TOKEN is not set: the console cannot ask WebWork")
                self._probe = TrackerProbe(
                    self.settings, self.client, self.ruleset, clock=self.clock
                )
            return self._probe

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
