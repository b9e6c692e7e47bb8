"""The emulated WebWork API V2 endpoints, as synchronous handlers over :class:`SandboxState`.

Each handler takes the state, the caller's token entry, the query parameters and the JSON
body, and returns an :class:`ApiReply` in WebWork's documented envelopes (§2.1/§2.2 of the
reference). Bad input raises :class:`ApiError`, answered with the error envelope.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from worker.sandbox.models import TrackerView
from worker.sandbox.refusals import Refusal, refusal
from worker.sandbox.seed import SeedContract, SeedToken
from worker.sandbox.state import SandboxState, TimeEntryRecord, now_utc

__all__ = [
    "API_VERSION",
    "ENDPOINTS",
    "ApiError",
    "ApiReply",
    "Handler",
    "error_body",
    "stamp",
]

API_VERSION = "2.0.0"

Effect = Literal["started", "stopped"] | None


@dataclass
class ApiReply:
    status: int
    body: dict[str, Any]
    effect: Effect = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An error answered with the documented error envelope."""

    def __init__(self, status: int, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.error = status, message, error


Handler = Callable[[SandboxState, SeedToken, Mapping[str, str], dict[str, Any]], ApiReply]


def meta_stamp() -> str:
    """``meta.timestamp`` form: ``2024-01-15T10:30:00.000000Z``."""
    return now_utc().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stamp(at: datetime) -> str:
    """``data`` timestamp form: ``2024-01-15T10:30:00+00:00``."""
    return at.astimezone(UTC).isoformat(timespec="seconds")


def _meta() -> dict[str, Any]:
    return {"api_version": API_VERSION, "timestamp": meta_stamp()}


def error_body(message: str, error: str | None = None) -> dict[str, Any]:
    """The documented error envelope."""
    return {"success": False, "message": message, "error": error, "meta": _meta()}


def _ok(data: Any, message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "data": data}
    if message is not None:
        body["message"] = message
    body["meta"] = _meta()
    return body


# -- input -----------------------------------------------------------------------------------


def _int(value: object, name: str, *, required: bool) -> int | None:
    if value is None or value == "":
        if required:
            raise ApiError(400, f"The {name.replace('_', ' ')} field is required.")
        return None
    if isinstance(value, bool):
        raise ApiError(400, f"The {name.replace('_', ' ')} must be an integer.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value)
    raise ApiError(400, f"The {name.replace('_', ' ')} must be an integer.")


def _req_int(source: Mapping[str, Any], name: str) -> int:
    value = _int(source.get(name), name, required=True)
    assert value is not None
    return value


def _opt_int(source: Mapping[str, Any], name: str) -> int | None:
    return _int(source.get(name), name, required=False)


def _date(source: Mapping[str, str], name: str, *, required: bool = False) -> date | None:
    value = source.get(name)
    if not value:
        if required:
            raise ApiError(400, f"The {name.replace('_', ' ')} field is required.")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"The {name.replace('_', ' ')} must be a date (YYYY-MM-DD).") from None


def _choice(source: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = source.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise ApiError(400, f"The selected {name} is invalid.", f"allowed: {', '.join(allowed)}")
    return value


def _workspace(state: SandboxState, caller: SeedToken, source: Mapping[str, Any]) -> int:
    """The request's workspace_id, which the caller must own or executive-manage."""
    workspace_id = _req_int(source, "workspace_id")
    if workspace_id not in state.workspaces or not state.privileged(workspace_id, caller.user_id):
        raise ApiError(
            403, "Forbidden", "Only workspace owners and executive managers can use this endpoint"
        )
    return workspace_id


def _member(state: SandboxState, workspace_id: int, user_id: int) -> None:
    if state.member(workspace_id, user_id) is None:
        raise ApiError(400, "The user must be a member of the specified workspace.")


# -- pagination ------------------------------------------------------------------------------


def _paged(
    state: SandboxState,
    rows: list[dict[str, Any]],
    query: Mapping[str, str],
    *,
    max_per_page: int,
    documented: Literal["meta", "top"],
    message: str | None = None,
) -> dict[str, Any]:
    page = _opt_int(query, "page") or 1
    per_page = _opt_int(query, "per_page") or 20
    if page < 1:
        raise ApiError(400, "The page must be at least 1.")
    if not 1 <= per_page <= max_per_page:
        raise ApiError(400, f"The per page must be between 1 and {max_per_page}.")
    total = len(rows)
    last = max(1, -(-total // per_page))
    chunk = rows[(page - 1) * per_page : page * per_page]
    first = (page - 1) * per_page + 1 if chunk else None
    pagination = {
        "total": total,
        "per_page": per_page,
        "current_page": page,
        "last_page": last,
        "from": first,
        "to": first + len(chunk) - 1 if first is not None else None,
    }
    placement = state.config.pagination_placement
    where = documented if placement == "documented" else placement
    body = _ok(chunk, message)
    if where == "meta":
        body["meta"]["pagination"] = pagination
    else:
        body["pagination"] = pagination
    return body


# -- time tracking ---------------------------------------------------------------------------


def _placed(state: SandboxState, data: dict[str, Any], message: str) -> dict[str, Any]:
    placement = state.config.message_placement
    if placement in ("both", "data"):
        data = {"message": message, **data}
    return _ok(data, message if placement in ("both", "top") else None)


class Refused(Exception):
    """A start/stop refused by WebWork's rules, answered in the run's conflict style."""

    def __init__(self, kind: Refusal) -> None:
        super().__init__(kind)
        self.kind = kind


def _refuse(state: SandboxState, kind: Refusal) -> ApiReply:
    status, body = refusal(state.config, kind, _meta())
    return ApiReply(status, body)


def start(
    state: SandboxState, caller: SeedToken, _query: Mapping[str, str], body: dict[str, Any]
) -> ApiReply:
    workspace_id = _workspace(state, caller, body)
    user_id = _req_int(body, "user_id")
    _member(state, workspace_id, user_id)
    try:
        return _start(state, workspace_id, user_id, body)
    except Refused as exc:
        return _refuse(state, exc.kind)


def _start(state: SandboxState, workspace_id: int, user_id: int, body: dict[str, Any]) -> ApiReply:
    member = state.member(workspace_id, user_id)
    assert member is not None
    if member.status != "active":
        raise Refused("member_left")
    if state.workspaces[workspace_id].status != "active":
        raise Refused("workspace_suspended")
    contract_id = _opt_int(body, "contract_id")
    task_id = _opt_int(body, "task_id")
    description = body.get("activity_description")
    if description is not None and not isinstance(description, str):
        raise ApiError(400, "The activity description must be a string.")
    if contract_id is None and state.config.require_contract:
        raise ApiError(400, "The contract id field is required.")
    contract: SeedContract | None = None
    if contract_id is not None:
        contract = state.contracts.get(contract_id)
        if (
            contract is None
            or contract.user_id != user_id
            or state.contract_workspace(contract) != workspace_id
        ):
            raise ApiError(400, "The contract must belong to the user and workspace.")
        if contract.status != "active":
            raise Refused("contract_paused")
    if task_id is not None:
        if contract is None:
            raise ApiError(400, "The task id can only be provided if contract id is also provided.")
        task = state.tasks.get(task_id)
        if task is None or task.project_id != contract.project_id:
            raise ApiError(400, "The task must belong to the project associated with the contract.")
    if user_id in state.trackers:
        raise Refused("already_tracking")
    since = now_utc().replace(microsecond=0)
    state.trackers[user_id] = TrackerView(
        workspace_id=workspace_id,
        user_id=user_id,
        email=member.email,
        contract_id=contract_id,
        project_id=contract.project_id if contract else None,
        task_id=task_id,
        activity_description=description,
        source="api",
        since=since,
    )
    data = {
        "start_time": stamp(since),
        "contract_id": contract_id,
        "project_id": contract.project_id if contract else None,
        "task_id": task_id,
        "activity_description": description,
    }
    return ApiReply(200, _placed(state, data, "Time tracking started successfully"), "started")


def stop(
    state: SandboxState, caller: SeedToken, _query: Mapping[str, str], body: dict[str, Any]
) -> ApiReply:
    workspace_id = _workspace(state, caller, body)
    user_id = _req_int(body, "user_id")
    _member(state, workspace_id, user_id)
    tracker = state.trackers.get(user_id)
    if tracker is None or tracker.workspace_id != workspace_id:
        return _refuse(state, "not_tracking")
    at = now_utc().replace(microsecond=0)
    state.stop_tracker(user_id, at)
    data = {"stopped_at": stamp(at)}
    return ApiReply(200, _placed(state, data, "Time tracking stopped successfully"), "stopped")


def current_data(
    state: SandboxState, caller: SeedToken, query: Mapping[str, str], _body: dict[str, Any]
) -> ApiReply:
    if not state.config.current_data:
        raise ApiError(404, "Not Found")
    workspace_id = _workspace(state, caller, query)
    user_id = _req_int(query, "user_id")
    _member(state, workspace_id, user_id)
    tracker = state.trackers.get(user_id)
    visible = tracker is not None and tracker.workspace_id == workspace_id
    if tracker is None or not visible or tracker.source not in ("api", "browser"):
        return ApiReply(200, _ok(None, "No active tracker"))
    now = now_utc()
    today = now.date()
    done = sum(
        ((e.end or now) - e.start).total_seconds()
        for e in state.entries
        if e.user_id == user_id and e.start.date() == today
    )
    running = (now - tracker.since).total_seconds()
    task = state.tasks.get(tracker.task_id) if tracker.task_id is not None else None
    data = {
        "contract_id": tracker.contract_id,
        "user_id": user_id,
        "activity_description": tracker.activity_description,
        "task_id": tracker.task_id,
        "task_title": task.title if task else None,
        "total_minutes": int((done + running) // 60),
        "total_seconds": int(running % 60),
        "date": today.isoformat(),
    }
    return ApiReply(200, _ok(data, "Current tracker data retrieved successfully"))


# -- lookups ---------------------------------------------------------------------------------


def workspaces(
    state: SandboxState, caller: SeedToken, query: Mapping[str, str], _body: dict[str, Any]
) -> ApiReply:
    rows: list[dict[str, Any]] = []
    for workspace in state.seed.workspaces:
        role = state.role(workspace.id, caller.user_id)
        if role is None:
            continue
        owner = next(
            (
                m.id
                for m in state.seed.members
                if m.workspace_id == workspace.id and m.role == "owner"
            ),
            None,
        )
        rows.append(
            {
                "id": workspace.id,
                "workspace_name": workspace.name,
                "role": role,
                "status": workspace.status,
                "owner_id": owner,
            }
        )
    if not any(state.privileged(r["id"], caller.user_id) for r in rows):
        raise ApiError(
            403, "Forbidden", "Access is restricted to workspace owners and executive managers"
        )
    return ApiReply(200, _paged(state, rows, query, max_per_page=100, documented="meta"))


def _member_row(member: Any) -> dict[str, Any]:
    return {
        "id": member.id,
        "email": member.email,
        "firstname": member.firstname,
        "lastname": member.lastname,
        "current_role": member.role,
        "timezone": member.timezone,
        "status": member.status,
        "team_name": member.team_name,
        "title": member.title,
    }


def members(
    state: SandboxState, caller: SeedToken, query: Mapping[str, str], _body: dict[str, Any]
) -> ApiReply:
    workspace_id = _workspace(state, caller, query)
    email = (query.get("email") or "").strip().casefold()
    status = _choice(query, "status", ("active", "inactive", "left", "unknown"))
    role = query.get("role") or None
    rows = [
        _member_row(m)
        for m in state.seed.members
        if m.workspace_id == workspace_id
        and (not email or m.email.casefold() == email)
        and (status is None or m.status == status)
        and (role is None or m.role == role)
    ]
    return ApiReply(200, _paged(state, rows, query, max_per_page=100, documented="meta"))


def member(
    state: SandboxState, caller: SeedToken, query: Mapping[str, str], _body: dict[str, Any]
) -> ApiReply:
    workspace_id = _workspace(state, caller, query)
    member_id = _req_int(query, "member_id")
    found = state.member(workspace_id, member_id)
    if found is None:
        raise ApiError(404, "Member not found")
    return ApiReply(200, _ok(_member_row(found)))


def contracts(
    state: SandboxState, caller: SeedToken, query: Mapping[str, str], _body: dict[str, Any]
) -> ApiReply:
    workspace_id = _workspace(state, caller, query)
    user_id = _opt_int(query, "user_id")
    project_id = _opt_int(query, "project_id")
    status = _choice(query, "status", ("active", "paused"))
    rows: list[dict[str, Any]] = []
    for c in state.seed.contracts:
        project = state.projects[c.project_id]
        if project.workspace_id != workspace_id:
            continue
        if user_id is not None and c.user_id != user_id:
            continue
        if (project_id is not None and c.project_id != project_id) or (
            status is not None and c.status != status
        ):
            continue
        m = state.member(workspace_id, c.user_id)
        rows.append(
            {
                "id": c.id,
                "project_id": c.project_id,
                "project_name": project.name,
                "user_id": c.user_id,
                "user_email": m.email if m else None,
                "user_role": m.role if m else None,
                "weekly_hours_limit": c.weekly_hours_limit,
                "screenshots": "enabled",
                "status": c.status,
            }
        )
    body = _paged(
        state,
        rows,
        query,
        max_per_page=100,
        documented="top",
        message="Contracts retrieved successfully",
    )
    return ApiReply(200, body)


def tasks(
    state: SandboxState, caller: SeedToken, query: Mapping[str, str], _body: dict[str, Any]
) -> ApiReply:
    workspace_id = _workspace(state, caller, query)
    project_id = _req_int(query, "project_id")
    project = state.projects.get(project_id)
    if project is None or project.workspace_id != workspace_id:
        raise ApiError(404, "Project not found")
    rows = [
        {
            "id": t.id,
            "title": t.title,
            "project_id": t.project_id,
            "status": t.status,
            "priority": t.priority,
            "assignees": [{"id": a} for a in t.assignees],
        }
        for t in state.seed.tasks
        if t.project_id == project_id
    ]
    return ApiReply(200, _paged(state, rows, query, max_per_page=100, documented="meta"))


def leaves(
    state: SandboxState, caller: SeedToken, query: Mapping[str, str], _body: dict[str, Any]
) -> ApiReply:
    workspace_id = _workspace(state, caller, query)
    user_id = _opt_int(query, "user_id")
    status = _choice(query, "status", ("pending", "approved", "rejected"))
    is_paid = _choice(query, "is_paid", ("yes", "no"))
    date_from = _date(query, "date_from")
    date_to = _date(query, "date_to")
    rows = [
        {
            "id": leave.id,
            "user_id": leave.user_id,
            "status": leave.status,
            "note": leave.note,
            "is_paid": leave.is_paid,
            "start_date": leave.start_date.isoformat(),
            "end_date": leave.end_date.isoformat(),
            "approved_by": leave.approved_by,
            "leave_period": leave.leave_period,
        }
        for leave in state.seed.leaves
        if leave.workspace_id == workspace_id
        and (user_id is None or leave.user_id == user_id)
        and (status is None or leave.status == status)
        and (is_paid is None or leave.is_paid == is_paid)
        and (date_from is None or leave.end_date >= date_from)
        and (date_to is None or leave.start_date <= date_to)
    ]
    return ApiReply(200, _paged(state, rows, query, max_per_page=100, documented="meta"))


def _entry_row(entry: TimeEntryRecord, now: datetime) -> dict[str, Any]:
    end = entry.end
    return {
        "id": entry.id,
        "user_id": entry.user_id,
        "contract_id": entry.contract_id,
        "project_id": entry.project_id,
        "task_id": entry.task_id,
        "activity_description": entry.activity_description,
        "date": entry.start.date().isoformat(),
        "start_time": stamp(entry.start),
        "end_time": stamp(end) if end is not None else None,
        "duration_minutes": int(((end or now) - entry.start).total_seconds() // 60),
        "method": entry.method,
    }


def time_entries(
    state: SandboxState, caller: SeedToken, query: Mapping[str, str], _body: dict[str, Any]
) -> ApiReply:
    workspace_id = _workspace(state, caller, query)
    user_id = _req_int(query, "user_id")
    day = _date(query, "date", required=True)
    _member(state, workspace_id, user_id)
    now = now_utc()
    records = [e for e in state.entries if e.workspace_id == workspace_id]
    tracker = state.trackers.get(user_id)
    if tracker is not None and tracker.workspace_id == workspace_id:
        records.append(
            TimeEntryRecord(
                id=f"running-{user_id}",
                workspace_id=workspace_id,
                user_id=user_id,
                contract_id=tracker.contract_id,
                project_id=tracker.project_id,
                task_id=tracker.task_id,
                activity_description=tracker.activity_description,
                start=tracker.since,
                end=None,
            )
        )
    rows = [_entry_row(e, now) for e in records if e.user_id == user_id and e.start.date() == day]
    return ApiReply(200, _paged(state, rows, query, max_per_page=50, documented="meta"))


# -- routes ----------------------------------------------------------------------------------

#: ``(method, path below /api/v2, handler)``, routed by :mod:`worker.sandbox.app` with
#: Starlette. ``{member_id:webwork_id}`` is 1 to 18 digits (a longer id is no endpoint).
ENDPOINTS: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "/time-tracking/start", start),
    ("POST", "/time-tracking/stop", stop),
    ("GET", "/time-tracking/current-data", current_data),
    ("GET", "/workspaces", workspaces),
    ("GET", "/members", members),
    ("GET", "/members/{member_id:webwork_id}", member),
    ("GET", "/contracts", contracts),
    ("GET", "/tasks", tasks),
    ("GET", "/leaves", leaves),
    ("GET", "/time-entries", time_entries),
)
