"""Wire models of the sandbox's control API (``/_sandbox/...``), shared by the app and
:class:`worker.sandbox.control.SandboxControl`."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CONFLICT_STYLES",
    "DEFAULT_ALREADY_TRACKING_MESSAGE",
    "DEFAULT_NOT_TRACKING_MESSAGE",
    "CallRecord",
    "ConflictStyle",
    "Faults",
    "FaultsUpdate",
    "FaultsView",
    "SandboxConfig",
    "SandboxStateView",
    "TrackerSet",
    "TrackerView",
]

DEFAULT_ALREADY_TRACKING_MESSAGE = (
    "User already has an active tracker. Stop the current tracker before starting a new one."
)
DEFAULT_NOT_TRACKING_MESSAGE = "No active tracker to stop for this user."

ConflictStyle = Literal["documented", "409", "422", "opaque"]
#: How the sandbox answers conflicts and rule rejections (see :mod:`worker.sandbox.refusals`).
CONFLICT_STYLES: tuple[ConflictStyle, ...] = ("documented", "409", "422", "opaque")


class SandboxConfig(BaseModel):
    """How the sandbox behaves where WebWork's docs are silent or disagree.

    ``rpm``: requests per minute per token (sliding 60 s window), 0 = no limit.
    ``reject_status`` / ``*_message`` / ``reject_error``: the status, ``message`` and ``error``
    of the already-tracking and not-tracking rejections. ``message_placement``: where start/stop
    put ``message`` (``both`` as the newer docs' example, ``top`` as the older, ``data``).
    ``pagination_placement``: ``documented`` (top level for contracts, ``meta`` elsewhere),
    ``meta`` or ``top`` everywhere. ``require_contract``: the older docs' required contract_id.
    ``current_data``: whether ``GET /time-tracking/current-data`` exists (older docs: no).
    ``conflicts``: how start/stop refusals (already tracking, nothing running, a member who
    left, a paused contract, a suspended workspace) are answered: ``documented`` (the error
    envelope with ``reject_status`` and the messages above for conflicts, 400 for the rest),
    ``409`` (409 with other wording), ``422`` (a Laravel ``{message, errors}`` envelope) or
    ``opaque`` (400 whose message says nothing). See :mod:`worker.sandbox.refusals`.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    rpm: int = Field(default=60, ge=0, le=1_000_000)
    reject_status: Literal[400, 409, 422] = 400
    already_tracking_message: str = Field(default=DEFAULT_ALREADY_TRACKING_MESSAGE, min_length=1)
    not_tracking_message: str = Field(default=DEFAULT_NOT_TRACKING_MESSAGE, min_length=1)
    reject_error: str | None = None
    message_placement: Literal["both", "top", "data"] = "both"
    pagination_placement: Literal["documented", "meta", "top"] = "documented"
    require_contract: bool = False
    current_data: bool = True
    conflicts: ConflictStyle = "documented"


class Faults(BaseModel):
    """Injected faults on ``/api/v2`` requests.

    ``latency_ms`` is added to every request. With probability ``error_rate`` a request
    answers ``error_status`` (5xx) without effect; with probability ``hang_rate`` it waits
    ``hang_s`` seconds and then answers 504 without effect. With probability ``drop_rate`` a
    start/stop that took effect loses its answer: the status line and headers are sent, then
    the connection closes before the body (the caller cannot tell whether it applied).
    ``rng_seed`` seeds the random draws, so a run is reproducible.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: float = Field(default=0.0, ge=0, le=600_000)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    error_status: int = Field(default=500, ge=500, le=599)
    hang_rate: float = Field(default=0.0, ge=0, le=1)
    hang_s: float = Field(default=30.0, ge=0, le=3600)
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    rng_seed: int = 0


class FaultsUpdate(BaseModel):
    """A partial change of the faults (``POST /_sandbox/faults``); absent fields are kept.

    ``outage_s``: every ``/api/v2`` request answers 503 for this many seconds from now;
    ``outage``: ``true`` starts an outage until turned off, ``false`` ends any outage.
    """

    model_config = ConfigDict(extra="forbid")

    latency_ms: float | None = Field(default=None, ge=0, le=600_000)
    error_rate: float | None = Field(default=None, ge=0, le=1)
    error_status: int | None = Field(default=None, ge=500, le=599)
    hang_rate: float | None = Field(default=None, ge=0, le=1)
    hang_s: float | None = Field(default=None, ge=0, le=3600)
    drop_rate: float | None = Field(default=None, ge=0, le=1)
    rng_seed: int | None = None
    outage_s: float | None = Field(default=None, gt=0, le=86_400)
    outage: bool | None = None


class FaultsView(Faults):
    """The faults now, with the outage state (``outage_remaining_s`` None = until turned off)."""

    outage: bool = False
    outage_remaining_s: float | None = None


class CallRecord(BaseModel):
    """One ``/api/v2`` request as the sandbox received it (never the token).

    ``user_id`` is the request's ``user_id`` field/parameter, ``caller_id`` the token's user,
    ``status`` None while the request is still being answered, ``effect`` ``started`` /
    ``stopped`` when it changed a tracker, ``dropped`` when its answer was lost on purpose
    (the ``drop_rate`` fault).
    """

    seq: int
    at: dt.datetime
    method: str
    path: str
    user_id: int | None = None
    caller_id: int | None = None
    status: int | None = None
    effect: Literal["started", "stopped"] | None = None
    dropped: bool = False


class TrackerView(BaseModel):
    """A running tracker. ``source`` ``desktop``/``mobile`` is invisible to current-data."""

    workspace_id: int
    user_id: int
    email: str
    contract_id: int | None = None
    project_id: int | None = None
    task_id: int | None = None
    activity_description: str | None = None
    source: Literal["api", "browser", "desktop", "mobile"] = "api"
    since: dt.datetime


class TrackerSet(BaseModel):
    """``POST /_sandbox/tracker``: start (``running: true``) or clear a tracker behind the
    API's back, e.g. one started in the desktop app."""

    model_config = ConfigDict(extra="forbid")

    workspace_id: int = 1
    user_id: int
    running: bool = True
    contract_id: int | None = None
    task_id: int | None = None
    activity_description: str | None = None
    source: Literal["api", "browser", "desktop", "mobile"] = "desktop"
    since: dt.datetime | None = None


class SandboxStateView(BaseModel):
    """``GET /_sandbox/state``: running trackers, configuration, faults, calls received."""

    trackers: list[TrackerView]
    config: SandboxConfig
    faults: FaultsView
    calls_total: int
