"""The start-up check of WebWork: one authenticated call before ``worker`` or ``run`` starts.

=====================================  ====================================================
WebWork answers                        what happens
=====================================  ====================================================
2xx                                    ready
401 / 403                              :class:`ConfigError` "WebWork refused WEBWORK_TOKEN
                                       at <url>" (the process exits 3)
404 (or another 4xx, a redirect)       :class:`ConfigError` "check WEBWORK_BASE_URL"
no answer, 5xx, 429                    start anyway, not ready: the check retries in the
                                       background and warns until WebWork answers
=====================================  ====================================================

The call (``GET /workspaces``) is made outside the shared API budget: one per process start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from worker.errors import ConfigError, Forbidden, Rejected, Unauthorized, WebWorkError
from worker.logs import get_logger
from worker.settings import Settings
from worker.webwork.client import WebWorkClient

__all__ = ["RETRY_S", "WebWorkCheck"]

log = get_logger(__name__)

#: Seconds between checks while WebWork does not answer.
RETRY_S = 5.0


class WebWorkCheck:
    """Checks WebWork once at start; :meth:`reason` says why the process is not ready yet."""

    def __init__(
        self,
        settings: Settings,
        *,
        client_factory: Callable[[Settings], WebWorkClient] = WebWorkClient.from_settings,
        retry_s: float = RETRY_S,
    ) -> None:
        self.settings = settings
        self.url = settings.webwork_base_url
        self._factory = client_factory
        self._retry_s = retry_s
        self._reason: str | None = "WebWork not checked yet"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def reason(self) -> str | None:
        """None once WebWork answered; else why this process is not ready."""
        return self._reason

    def start(self) -> None:
        """Check now: raises :class:`ConfigError` when the token or the URL is wrong; when
        WebWork does not answer, warns and keeps checking in a background thread."""
        if self._check_once():
            return
        log.warning("webwork_unreachable", url=self.url, reason=self._reason)
        self._thread = threading.Thread(target=self._retry, name="webwork-check", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _retry(self) -> None:
        while not self._stop.wait(self._retry_s):
            try:
                if self._check_once():
                    log.info("webwork_reachable", url=self.url)
                    return
            except ConfigError as exc:
                self._reason = str(exc)
                log.critical("webwork_refused", url=self.url, reason=str(exc))
                return
            log.warning("webwork_unreachable", url=self.url, reason=self._reason)

    def _check_once(self) -> bool:
        """True when WebWork answered; False when it did not (``reason`` says why)."""
        try:
            client = self._factory(self.settings)
        except ConfigError:
            raise
        try:
            client.workspaces()
        except (Unauthorized, Forbidden) as exc:
            raise ConfigError(
                f"WebWork refused WEBWORK_TOKEN at {self.url} ({exc.status}); "
                "set a valid token of an owner or executive manager"
            ) from None
        except Rejected as exc:
            raise ConfigError(
                f"WebWork at {self.url} answered {exc.status} to GET /workspaces: check "
                "WEBWORK_BASE_URL (it ends in /api/v2, e.g. https://api.webwork-tracker.com/api/v2)"
            ) from None
        except WebWorkError as exc:  # Transient, RateLimited: no usable answer yet
            self._reason = f"WebWork at {self.url} does not answer yet ({exc})"
            return False
        finally:
            client.close()
        self._reason = None
        return True
