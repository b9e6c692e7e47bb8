"""``deliver_notification``: send one :class:`~worker.notify.model.Notice`, once.

Runs on the notifications' own queue and worker threads, never on the pipeline's, so a
channel that is down cannot hold up a clock action. Each notification is sent at most once
(a ``done`` key per notice id, a claim while one delivery sends it), retried on failure with
a doubling wait up to ``AUTOCLOCK_NOTIFY_MAX_ATTEMPTS`` attempts, and every attempt that
ends is recorded (``sent``, ``retrying``, ``failed``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from worker.errors import NotifyError
from worker.notify import channels
from worker.notify.log import NotificationLog
from worker.notify.model import Notice, NoticeRecord, NoticeResult
from worker.settings import Settings, notify_channel_env

__all__ = ["DELIVER", "NOTIFY_QUEUE", "Deliverer", "declare_notify_actor", "notice_message"]

NOTIFY_QUEUE = "notifications"
DELIVER = "deliver_notification"
#: How long one delivery may hold a notification (longer than Apprise's timeouts).
CLAIM_MS = 120_000
#: Wait before looking again at a notification another delivery is sending.
CLAIMED_RETRY_MS = 5_000
MAX_RETRY_MS = 600_000

_OPTIONS: dict[str, Any] = {
    "max_retries": 10_000,  # the bound is ours (attempts per notice id), see Deliverer
    "retry_when": lambda _retries, exc: isinstance(exc, dramatiq.Retry),
    "time_limit": 300_000,
    "max_age": 2 * 86_400_000,
}

Send = Callable[[str, Any, str | None, str, str], None]


def notice_message(notice: Notice) -> dramatiq.Message[Any]:
    """The Dramatiq message that delivers ``notice``."""
    return dramatiq.Message(
        queue_name=NOTIFY_QUEUE,
        actor_name=DELIVER,
        args=(notice.model_dump(mode="json"),),
        kwargs={},
        options={},
    )


class Deliverer:
    """Sends notices through their channel, once, with bounded retries."""

    def __init__(
        self, settings: Settings, log: NotificationLog, send: Send = channels.send
    ) -> None:
        self.settings = settings
        self.log = log
        self.send = send

    def deliver(self, notice: Notice) -> None:
        if self.log.is_done(notice.id):
            return  # a redelivered message, or the same notice queued twice
        if not self.log.claim(notice.id, CLAIM_MS):
            raise dramatiq.Retry("another delivery is sending it", delay=CLAIMED_RETRY_MS)
        try:
            self._deliver(notice)
        finally:
            self.log.release(notice.id)

    def _deliver(self, notice: Notice) -> None:
        attempt = self.log.attempt(notice.id)
        url = self.settings.notify_channel(notice.channel)
        if url is None:
            self._finish(
                notice,
                NoticeResult.FAILED,
                f"channel {notice.channel!r} is not configured "
                f"({notify_channel_env(notice.channel)} is not set)",
                attempt,
            )
            return
        try:
            self.send(notice.channel, url, notice.address, notice.title, notice.body)
        except NotifyError as exc:
            limit = self.settings.notify_max_attempts
            if attempt >= limit:
                self._finish(
                    notice, NoticeResult.FAILED, f"{exc}; gave up after {attempt} attempts", attempt
                )
                return
            delay = self.retry_ms(attempt)
            self.log.record(
                NoticeRecord.of(
                    notice,
                    NoticeResult.RETRYING,
                    f"{exc}; attempt {attempt} of {limit}, next in {delay / 1000:g} s",
                    attempt,
                )
            )
            raise dramatiq.Retry(str(exc), delay=delay) from None
        self._finish(notice, NoticeResult.SENT, f"sent through channel {notice.channel!r}", attempt)

    def retry_ms(self, attempt: int) -> int:
        """The wait after failed attempt number ``attempt``: doubling, at most 10 minutes."""
        return int(min(self.settings.notify_retry_s * 1000 * 2 ** (attempt - 1), MAX_RETRY_MS))

    def _finish(self, notice: Notice, result: NoticeResult, reason: str, attempt: int) -> None:
        self.log.mark_done(notice.id, result)
        self.log.record(NoticeRecord.of(notice, result, reason, attempt))


def declare_notify_actor(
    broker: RedisBroker, deliverer: Deliverer
) -> dramatiq.Actor[[dict[str, Any]], None]:
    """Declare ``deliver_notification`` on ``broker`` (its queue: :data:`NOTIFY_QUEUE`)."""

    def deliver_notification(payload: dict[str, Any]) -> None:
        deliverer.deliver(Notice.model_validate(payload))

    return dramatiq.Actor(
        deliver_notification,
        broker=broker,
        actor_name=DELIVER,
        queue_name=NOTIFY_QUEUE,
        priority=0,
        options=dict(_OPTIONS),
    )
