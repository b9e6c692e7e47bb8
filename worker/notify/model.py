"""What flows through notify: one :class:`Notice` per message to send, one
:class:`NoticeRecord` per delivery attempt that ended."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from worker.clock import utcnow
from worker.models import Result

__all__ = ["Notice", "NoticeRecord", "NoticeResult", "notice_id"]


class NoticeResult(StrEnum):
    """How one delivery attempt of a notification ended."""

    SENT = "sent"
    RETRYING = "retrying"  # the channel failed; another attempt is scheduled
    FAILED = "failed"  # the last attempt failed
    HELD = "held"  # the recipient is in quiet hours: it goes in the next digest


def notice_id(about: str, channel: str, address: str | None) -> str:
    """The dedupe key: one notification per outcome (or flag) and per recipient address."""
    raw = f"{about}\x1f{channel}\x1f{address or ''}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class Notice(BaseModel):
    """One message to one channel (and, for channels that address people, one address).

    Carries the channel's *name*, never its URL: the URL is a secret read from the settings
    where it is sent.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    about: str
    """What it reports: ``outcome:<delivery id>`` or ``flag:<code>:<person>:<time>``."""
    channel: str
    address: str | None = None
    recipient: str
    """Who it is for, as the rules name them: ``person``, ``manager``, ``group:x``,
    ``channel:x``."""
    person: str | None = None
    """The person the outcome is about."""
    zone: str = "UTC"
    """The recipient's time zone (quiet hours and digests)."""
    result: Result | None = None
    title: str
    body: str
    created_at: AwareDatetime = Field(default_factory=utcnow)


class NoticeRecord(BaseModel):
    """A notification's own outcome, one per attempt that ended (``history --notifications``)."""

    model_config = ConfigDict(frozen=True)

    id: str
    about: str
    channel: str
    recipient: str
    address: str | None = None
    person: str | None = None
    result: NoticeResult
    reason: str
    attempts: int = 1
    title: str = ""
    recorded_at: AwareDatetime = Field(default_factory=utcnow)

    @classmethod
    def of(cls, notice: Notice, result: NoticeResult, reason: str, attempts: int) -> NoticeRecord:
        return cls(
            id=notice.id,
            about=notice.about,
            channel=notice.channel,
            recipient=notice.recipient,
            address=notice.address,
            person=notice.person,
            result=result,
            reason=reason,
            attempts=attempts,
            title=notice.title,
        )
