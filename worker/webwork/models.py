"""Typed views of WebWork API V2 responses, parsed tolerantly.

Every model ignores fields it does not know (the docs' generations disagree and the API may
add fields); only the fields autoclock uses are typed. Strictness lives in
:mod:`worker.webwork.envelope`: ``success``, ``start_time`` and ``stopped_at``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "CallResult",
    "Contract",
    "CurrentTracker",
    "Leave",
    "Member",
    "Task",
    "TimeEntry",
    "Workspace",
]


class _ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CallResult(_ApiModel):
    """The result of a successful start or stop.

    ``status`` is the HTTP status, ``latency_ms`` the round trip in milliseconds, ``message``
    the API's message (top level or inside ``data``; informative only) and ``at`` the
    ``data.start_time`` of a start or ``data.stopped_at`` of a stop (timezone-aware).
    """

    status: int
    latency_ms: float
    message: str | None = None
    at: dt.datetime | None = None


class CurrentTracker(_ApiModel):
    """``GET /time-tracking/current-data`` while a tracker runs (API/browser trackers only)."""

    user_id: int | None = None
    contract_id: int | None = None
    task_id: int | None = None
    task_title: str | None = None
    activity_description: str | None = None
    total_minutes: int | None = None
    total_seconds: int | None = None
    date: dt.date | None = None


class Workspace(_ApiModel):
    """One of the caller's workspaces; ``id`` is the ``workspace_id``."""

    id: int
    workspace_name: str | None = None
    role: str | None = None
    status: str | None = None
    owner_id: int | None = None


class Member(_ApiModel):
    """A workspace member; ``id`` is the WebWork ``user_id``."""

    id: int
    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    current_role: str | None = None
    timezone: str | None = None
    status: str | None = None
    team_name: str | None = None
    title: str | None = None

    @property
    def user_id(self) -> int:
        """The WebWork user id (the member's ``id``)."""
        return self.id


class Contract(_ApiModel):
    """A project-member assignment; ``id`` is the ``contract_id``; ``status`` active|paused."""

    id: int
    project_id: int | None = None
    project_name: str | None = None
    user_id: int | None = None
    user_email: str | None = None
    user_role: str | None = None
    weekly_hours_limit: float | None = None
    screenshots: Any = None
    status: str | None = None


class Task(_ApiModel):
    """A task of a project. ``status``: 0 incomplete, 10 doing, 20 done, 30 completed."""

    id: int
    title: str | None = None
    project_id: int | None = None
    status: int | None = None
    priority: int | None = None
    assignees: list[Any] = []


class Leave(_ApiModel):
    """A leave request; ``leave_period`` 0 full day, 1 first half, 2 second half (None: unknown)."""

    id: str
    user_id: int | None = None
    status: str | None = None
    note: str | None = None
    is_paid: Any = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    approved_by: Any = None
    leave_period: int | None = None


class TimeEntry(_ApiModel):
    """A time entry; ``end_time`` None may mean it is still running (unverified upstream)."""

    id: str
    user_id: int | None = None
    contract_id: int | None = None
    project_id: int | None = None
    task_id: int | None = None
    activity_description: str | None = None
    date: dt.date | None = None
    start_time: str | None = None
    end_time: str | None = None
    duration_minutes: float | None = None
    method: str | None = None
