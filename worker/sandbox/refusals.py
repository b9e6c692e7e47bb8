"""How the sandbox answers a refused start/stop, in the style chosen for the run.

WebWork documents that a start while a tracker runs, and a stop with none running, are
rejected, but not with which status or words; nor how it refuses a member who has left or a
paused contract. Real answers may differ from the docs, so the sandbox can answer every
refusal in one of four styles (``SandboxConfig.conflicts``, ``autoclock sandbox --conflicts``):

==============  =====================================================================
style           answer
==============  =====================================================================
``documented``  the documented error envelope; conflicts use ``reject_status`` and the
                configured messages (default 400 with the docs' wording), every other
                refusal 400 with a plain reason
``409``         409 and the error envelope, in wording no default pattern knows
``422``         422 and a Laravel validation envelope ``{message, errors}`` (no ``success``)
``opaque``      400 and the error envelope whose message says nothing
==============  =====================================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from worker.sandbox.models import SandboxConfig

__all__ = ["OPAQUE_MESSAGE", "Refusal", "refusal"]

Refusal = Literal[
    "already_tracking", "not_tracking", "member_left", "contract_paused", "workspace_suspended"
]

#: The ``documented`` style's reason for refusals other than the two conflicts.
_DOCUMENTED: dict[Refusal, str] = {
    "member_left": "The user is not an active member of the specified workspace.",
    "contract_paused": "The contract is paused; time cannot be tracked on it.",
    "workspace_suspended": "Time tracking is disabled: the workspace is suspended.",
}

#: ``409``: other wording (none of it matches autoclock's default patterns).
_CONFLICT_409: dict[Refusal, str] = {
    "already_tracking": "Conflict: a time entry is already open for this member.",
    "not_tracking": "Conflict: there is no open time entry for this member.",
    "member_left": "Conflict: the member is archived.",
    "contract_paused": "Conflict: the contract is on hold.",
    "workspace_suspended": "Conflict: the workspace is on hold.",
}

#: ``422``: the field and the problem of a Laravel validation error.
_LARAVEL_422: dict[Refusal, tuple[str, str]] = {
    "already_tracking": ("user_id", "The member has a timer in progress."),
    "not_tracking": ("user_id", "The member has no timer in progress."),
    "member_left": ("user_id", "The selected user id is invalid."),
    "contract_paused": ("contract_id", "The selected contract id is invalid."),
    "workspace_suspended": ("workspace_id", "The selected workspace id is invalid."),
}

#: ``opaque``: a message that says nothing about why.
OPAQUE_MESSAGE = "The request could not be processed."


def refusal(
    config: SandboxConfig, kind: Refusal, meta: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """The status and body of refusal ``kind`` in the configured style."""
    style = config.conflicts
    if style == "422":
        field, problem = _LARAVEL_422[kind]
        return 422, {"message": "The given data was invalid.", "errors": {field: [problem]}}
    if style == "409":
        return 409, _envelope(_CONFLICT_409[kind], None, meta)
    if style == "opaque":
        return 400, _envelope(OPAQUE_MESSAGE, None, meta)
    if kind == "already_tracking":
        return config.reject_status, _envelope(
            config.already_tracking_message, config.reject_error, meta
        )
    if kind == "not_tracking":
        return config.reject_status, _envelope(
            config.not_tracking_message, config.reject_error, meta
        )
    return 400, _envelope(_DOCUMENTED[kind], None, meta)


def _envelope(message: str, error: str | None, meta: dict[str, Any]) -> dict[str, Any]:
    return {"success": False, "message": message, "error": error, "meta": meta}
