"""The one error hierarchy of autoclock.

Every exception autoclock raises on purpose derives from :class:`AutoclockError`.
The tree, and what the actors do with each branch::

    AutoclockError
    ├── ConfigError                 invalid settings; the process refuses to start
    ├── RulesError                  invalid files under rules/ (carries every problem)
    ├── QueueUnavailable            Redis/the broker cannot take a message (webhooks answer 503)
    ├── Backpressure                no API budget yet; the message is re-enqueued with a delay
    ├── NotifyError                 a notification channel did not take a message (retried,
    │                               bounded; never touches a clock action's outcome)
    └── WebWorkError                anything the WebWork API said or failed to say
        ├── AlreadyTracking     start rejected: a tracker runs already   (final, success)
        ├── NotTracking         stop rejected: no tracker runs           (final, success)
        ├── Unauthorized        401: token expired or revoked            (final, loud)
        ├── Forbidden           403: not owner/executive manager         (final, loud)
        ├── RateLimited         429, carries ``retry_after_s``           (pause everyone, retry)
        ├── Transient           network error, timeout, 5xx              (retry until the deadline)
        └── Rejected            any other 4xx, with the API's message    (final, dead-lettered)
            └── Unconfirmed     start/stop refused in words no pattern knows: the caller
                                decides from current-data (already/not tracking, or Rejected)

Messages never contain the WebWork token or webhook secrets.
"""

from __future__ import annotations

__all__ = [
    "AlreadyTracking",
    "AutoclockError",
    "Backpressure",
    "ConfigError",
    "Forbidden",
    "NotTracking",
    "NotifyError",
    "QueueUnavailable",
    "RateLimited",
    "Rejected",
    "RulesError",
    "Transient",
    "Unauthorized",
    "Unconfirmed",
    "WebWorkError",
]


class AutoclockError(Exception):
    """Base of every error autoclock raises deliberately."""


class ConfigError(AutoclockError):
    """The settings (environment or .env) are invalid; the message is one line, and
    ``problems`` lists each problem as ``VARIABLE: reason``."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems) if problems is not None else [message]
        super().__init__(message)


class RulesError(AutoclockError):
    """The files under rules/ are invalid; ``problems`` lists each as ``file:line: reason``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems) if self.problems else "invalid rules")


class QueueUnavailable(AutoclockError):
    """A trigger could not be enqueued because Redis is unreachable."""


class Backpressure(AutoclockError):
    """The shared API budget has no slot now; try again after ``delay_ms``."""

    def __init__(self, delay_ms: int) -> None:
        self.delay_ms = max(1, int(delay_ms))
        super().__init__(f"API budget exhausted; next slot in {self.delay_ms} ms")


class NotifyError(AutoclockError):
    """A notification channel did not accept a message. The message names the channel,
    never its URL (which may hold a token or a password)."""


class WebWorkError(AutoclockError):
    """An error from, or while talking to, the WebWork API.

    ``status`` is the HTTP status (``None`` when no response arrived) and ``api_message``
    the API's own ``message`` (and ``error``) text, if any.
    """

    def __init__(
        self,
        description: str,
        *,
        status: int | None = None,
        api_message: str | None = None,
        latency_ms: float | None = None,
    ) -> None:
        self.status = status
        self.api_message = api_message
        self.latency_ms = latency_ms
        super().__init__(description)


class AlreadyTracking(WebWorkError):
    """Start rejected because the user already has an active tracker (an idempotent success)."""


class NotTracking(WebWorkError):
    """Stop rejected because the user has no active tracker (an idempotent success)."""


class Unauthorized(WebWorkError):
    """401: the token is missing, expired or revoked. Never retried."""


class Forbidden(WebWorkError):
    """403: the token's account may not do this. Never retried."""


class RateLimited(WebWorkError):
    """429: the per-token budget is spent; ``retry_after_s`` says for how long."""

    def __init__(
        self,
        description: str,
        *,
        retry_after_s: float,
        status: int | None = 429,
        api_message: str | None = None,
        latency_ms: float | None = None,
    ) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(description, status=status, api_message=api_message, latency_ms=latency_ms)


class Transient(WebWorkError):
    """A network error, a timeout or a 5xx: worth retrying.

    ``maybe_applied`` is False only when the failure proves the request had no effect: the
    connection was never made (refused, connect or pool timeout), or a 503, which maintenance
    mode and load balancers answer before the application runs. Otherwise (a timeout after
    sending, a dropped connection, 500/502/504) the request may have taken effect.
    """

    def __init__(
        self,
        description: str,
        *,
        status: int | None = None,
        api_message: str | None = None,
        latency_ms: float | None = None,
        maybe_applied: bool = True,
    ) -> None:
        self.maybe_applied = maybe_applied
        super().__init__(description, status=status, api_message=api_message, latency_ms=latency_ms)


class Rejected(WebWorkError):
    """Any other 4xx: the API refused the request for a reason retrying won't fix."""


class Unconfirmed(Rejected):
    """A start/stop refused with a conflict status in words no pattern matches, raised when
    the caller asked to confirm the cause itself (``confirm=False``): whether a tracker runs
    decides between already/not tracking and a real rejection. Nothing was applied."""
