"""Dramatiq middleware of the actors: every log line of a message carries its context.

As Dramatiq's ``CurrentMessage`` makes the message known to the code it runs, :class:`LogContext`
binds the actor, the message id, its retries, the trigger and (for an action) the person and
verb to structlog's context while the message is processed, and unbinds them after — so the
actors carry no logging plumbing.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import structlog
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware

from worker.pipeline.broker import APPLY_ACTION

__all__ = ["LogContext", "message_fields"]

_FIELDS = ("actor", "message_id", "retries", "trigger_id", "person", "verb")


def message_fields(message: dramatiq.Message[Any] | MessageProxy) -> dict[str, Any]:
    """The log context of ``message`` (fields its payload lacks are left out)."""
    payload = message.args[0] if message.args and isinstance(message.args[0], dict) else {}
    fields: dict[str, Any] = {
        "actor": message.actor_name,
        "message_id": str(message.message_id),
        "retries": int(message.options.get("retries", 0)),
    }
    if message.actor_name == APPLY_ACTION:
        trigger = payload.get("trigger")
        fields["trigger_id"] = trigger.get("id") if isinstance(trigger, dict) else None
        fields["person"] = payload.get("person")
        fields["verb"] = payload.get("verb")
    else:
        fields["trigger_id"] = payload.get("id")
    return {k: v for k, v in fields.items() if v is not None}


class LogContext(Middleware):
    """Binds :func:`message_fields` for the processing of each message."""

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        structlog.contextvars.bind_contextvars(**message_fields(message))

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        structlog.contextvars.unbind_contextvars(*_FIELDS)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        structlog.contextvars.unbind_contextvars(*_FIELDS)
