"""Hot reload: the rules in force in this process, swapped atomically when the files change.

:class:`LiveRules` holds the current :class:`Ruleset`. :meth:`LiveRules.reload` (on SIGHUP,
or when :meth:`LiveRules.watch` sees one of the files change) validates the whole directory
again and then:

- valid: the new ruleset replaces the old one in one assignment (readers take
  ``live.current`` once per trigger, so a trigger is decided by one version), every
  subscriber is told (the pipeline, the scheduler, the webhook receiver), and
  ``rules reloaded`` is logged with the old and new version;
- invalid: **the old rules stay in force**, every problem is logged at error level
  (``path:line: reason``), and :meth:`LiveRules.warnings` (hence :func:`current_warnings`,
  shown by ``/readyz``) reports them until a valid edit is loaded.
"""

from __future__ import annotations

import signal
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

from worker.logs import get_logger
from worker.rules.load import check_ruleset
from worker.rules.ruleset import PEOPLE_FILE, RULES_FILE, SOURCES_FILE, Ruleset

__all__ = ["LiveRules", "current_warnings"]

log = get_logger(__name__)

#: How often :meth:`LiveRules.watch` looks at the files (seconds).
WATCH_INTERVAL_S = 1.0

_FILES = (PEOPLE_FILE, SOURCES_FILE, RULES_FILE)
_ALL: weakref.WeakSet[LiveRules] = weakref.WeakSet()

Fingerprint = tuple[tuple[str, int, int, int], ...]


def current_warnings() -> list[str]:
    """The reload problems of every :class:`LiveRules` in this process (for ``/readyz``)."""
    out: list[str] = []
    for live in list(_ALL):
        out.extend(w for w in live.warnings() if w not in out)
    return out


def _fingerprint(root: Path) -> Fingerprint:
    parts = []
    for name in _FILES:
        try:
            st = (root / name).stat()
        except OSError:
            parts.append((name, -1, -1, -1))
            continue
        parts.append((name, st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(parts)


class LiveRules:
    """The rules of one process; ``current`` is always a valid, checked ruleset."""

    def __init__(self, ruleset: Ruleset, *, default_timezone: str = "UTC") -> None:
        self._current = ruleset
        self.root = ruleset.root
        self.default_timezone = default_timezone
        self._problems: list[str] = []
        self._listeners: list[Callable[[Ruleset], None]] = []
        self._lock = threading.Lock()
        self._seen = _fingerprint(self.root)
        self._wake = threading.Event()
        _ALL.add(self)

    @property
    def current(self) -> Ruleset:
        """The ruleset in force."""
        return self._current

    def subscribe(self, listener: Callable[[Ruleset], None]) -> None:
        """Call ``listener(new_ruleset)`` after each successful swap."""
        self._listeners.append(listener)

    def problems(self) -> list[str]:
        """The problems of the last reload that failed (empty once a valid edit is loaded)."""
        return list(self._problems)

    def warnings(self) -> list[str]:
        """One line per problem, for ``/readyz`` warnings."""
        if not self._problems:
            return []
        head = (
            f"rules in {self.root} not reloaded: {len(self._problems)} problem(s); still "
            f"using version {self._current.version}"
        )
        return [head, *self._problems[:20]]

    def reload(self, why: str = "requested") -> bool:
        """Validate the directory again and swap it in; False (old rules kept) on problems."""
        with self._lock:
            self._seen = _fingerprint(self.root)
            ruleset, problems = check_ruleset(self.root, default_timezone=self.default_timezone)
            if ruleset is None:
                self._problems = problems
                log.error(
                    "rules reload refused; the previous rules stay in force",
                    trigger=why,
                    version=self._current.version,
                    problems=len(problems),
                )
                for problem in problems:
                    log.error("rules problem", problem=problem)
                return False
            self._problems = []
            previous = self._current
            if ruleset.version == previous.version:
                return True
            self._current = ruleset
            listeners = list(self._listeners)
        for listener in listeners:
            listener(ruleset)
        log.info(
            "rules reloaded",
            trigger=why,
            previous=previous.version,
            version=ruleset.version,
            summary=ruleset.summary(),
        )
        return True

    def changed(self) -> bool:
        """True when a rules file was written, created or removed since the last look."""
        return _fingerprint(self.root) != self._seen

    def request(self) -> None:
        """Ask the watcher to reload now (safe from a signal handler)."""
        self._wake.set()

    def install_sighup(self) -> None:
        """Reload on SIGHUP (call from the main thread; the watcher does the work)."""
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, lambda _signum, _frame: self.request())

    def watch(
        self, stop: threading.Event, interval_s: float = WATCH_INTERVAL_S
    ) -> threading.Thread:
        """Start a daemon thread that reloads on file changes and on :meth:`request`."""

        def loop() -> None:
            while not stop.is_set():
                woken = self._wake.wait(interval_s)
                if stop.is_set():
                    return
                self._wake.clear()
                try:
                    if woken:
                        self.reload("SIGHUP")
                    elif self.changed():
                        self.reload("file changed")
                except Exception:  # a reload bug must not end hot reload for good
                    log.exception("rules reload crashed; the previous rules stay in force")

        thread = threading.Thread(target=loop, name="rules-watch", daemon=True)
        thread.start()
        return thread
