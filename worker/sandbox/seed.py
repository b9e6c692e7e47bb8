"""The sandbox's world: workspaces, members with roles, tokens, projects, contracts, tasks, leaves.

A :class:`Seed` is a pydantic model, loaded from YAML (:meth:`Seed.from_file`), with the shipped
sample (:meth:`Seed.sample`, ``worker/sandbox/seed.yaml``) and a generated one for load tests
(:meth:`Seed.synthetic`). Cross references (a contract's user and project, a token's user, ...)
are checked on load; problems name the entry.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from worker.errors import ConfigError

__all__ = [
    "SAMPLE_SEED_PATH",
    "Seed",
    "SeedContract",
    "SeedLeave",
    "SeedMember",
    "SeedProject",
    "SeedTask",
    "SeedToken",
    "SeedWorkspace",
]

#: The sample seed that ships with autoclock.
SAMPLE_SEED_PATH = Path(__file__).with_name("seed.yaml")

Role = Literal["owner", "executive_manager", "manager", "user"]

#: Roles whose tokens may call the API (WebWork: owners and executive managers only).
PRIVILEGED_ROLES: frozenset[str] = frozenset({"owner", "executive_manager"})


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeedWorkspace(_Entry):
    id: int
    name: str
    status: Literal["active", "suspended"] = "active"


class SeedMember(_Entry):
    """A user's membership of one workspace (a person in two workspaces has two entries)."""

    id: int
    workspace_id: int
    email: str
    firstname: str = ""
    lastname: str = ""
    role: Role = "user"
    status: Literal["active", "inactive", "left", "unknown"] = "active"
    timezone: str = "UTC"
    team_name: str | None = None
    title: str | None = None


class SeedToken(_Entry):
    """A bearer token and the user it belongs to (its role comes from the membership)."""

    token: str = Field(min_length=4)
    user_id: int
    expired: bool = False


class SeedProject(_Entry):
    id: int
    workspace_id: int
    name: str


class SeedContract(_Entry):
    id: int
    user_id: int
    project_id: int
    status: Literal["active", "paused"] = "active"
    weekly_hours_limit: float | None = None


class SeedTask(_Entry):
    id: int
    project_id: int
    title: str
    status: int = 0
    priority: int = 30
    assignees: list[int] = []


class SeedLeave(_Entry):
    id: str
    workspace_id: int
    user_id: int
    status: Literal["pending", "approved", "rejected"]
    start_date: dt.date
    end_date: dt.date
    leave_period: Literal[0, 1, 2] = 0
    is_paid: Literal["yes", "no"] = "yes"
    note: str | None = None
    approved_by: int | None = None


class Seed(BaseModel):
    """Everything the sandbox knows at start (and returns to on reset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workspaces: list[SeedWorkspace]
    members: list[SeedMember]
    tokens: list[SeedToken] = []
    projects: list[SeedProject] = []
    contracts: list[SeedContract] = []
    tasks: list[SeedTask] = []
    leaves: list[SeedLeave] = []

    @model_validator(mode="after")
    def _references(self) -> Self:
        problems: list[str] = []
        spaces = {w.id for w in self.workspaces}
        if len(spaces) != len(self.workspaces):
            problems.append("workspaces: duplicate id")
        seen: set[tuple[int, int]] = set()
        for m in self.members:
            if m.workspace_id not in spaces:
                problems.append(f"member {m.id}: unknown workspace {m.workspace_id}")
            if (m.workspace_id, m.id) in seen:
                problems.append(f"member {m.id}: listed twice in workspace {m.workspace_id}")
            seen.add((m.workspace_id, m.id))
        users = {m.id for m in self.members}
        tokens = [t.token for t in self.tokens]
        if len(set(tokens)) != len(tokens):
            problems.append("tokens: duplicate token")
        for t in self.tokens:
            if t.user_id not in users:
                problems.append(f"token of user {t.user_id}: no such member")
        projects = {p.id: p for p in self.projects}
        for p in self.projects:
            if p.workspace_id not in spaces:
                problems.append(f"project {p.id}: unknown workspace {p.workspace_id}")
        contract_ids: set[int] = set()
        for c in self.contracts:
            if c.id in contract_ids:
                problems.append(f"contract {c.id}: duplicate id")
            contract_ids.add(c.id)
            project = projects.get(c.project_id)
            if project is None:
                problems.append(f"contract {c.id}: unknown project {c.project_id}")
            elif (project.workspace_id, c.user_id) not in seen:
                problems.append(
                    f"contract {c.id}: user {c.user_id} is not a member of workspace "
                    f"{project.workspace_id}"
                )
        for task in self.tasks:
            if task.project_id not in projects:
                problems.append(f"task {task.id}: unknown project {task.project_id}")
        for leave in self.leaves:
            if (leave.workspace_id, leave.user_id) not in seen:
                problems.append(f"leave {leave.id}: user {leave.user_id} is not a member")
            if leave.end_date < leave.start_date:
                problems.append(f"leave {leave.id}: end_date before start_date")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- constructors ----------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path) -> Seed:
        """Load a seed from YAML; raises ConfigError naming the file and every problem."""
        path = Path(path)
        try:
            raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read seed: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: a seed must be a mapping with workspaces and members")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            lines = [
                f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
                for err in exc.errors()
            ]
            raise ConfigError(f"{path}: invalid seed:\n  " + "\n  ".join(lines)) from None

    @classmethod
    def sample(cls) -> Seed:
        """The sample seed shipped as ``worker/sandbox/seed.yaml``."""
        return cls.from_file(SAMPLE_SEED_PATH)

    @classmethod
    def synthetic(cls, n_users: int, *, start_user_id: int = 1000) -> Seed:
        """The sample's workspace, owner/exec/regular tokens, projects and tasks, plus
        ``n_users`` regular users ``user{i}@example.com`` (id ``start_user_id + i``), each with
        one active contract (id ``user id + 1_000_000``) on project 10, all in workspace 1."""
        if n_users < 0:
            raise ValueError("n_users must be >= 0")
        sample = cls.sample()
        keep = {1, 2, 43}
        ids = range(start_user_id, start_user_id + n_users)
        if keep & set(ids):
            raise ValueError(f"start_user_id {start_user_id} collides with users {sorted(keep)}")
        members = [m for m in sample.members if m.id in keep]
        members += [
            SeedMember(
                id=uid,
                workspace_id=1,
                email=f"user{i}@example.com",
                firstname="User",
                lastname=str(i),
            )
            for i, uid in enumerate(ids)
        ]
        contracts = [c for c in sample.contracts if c.user_id in keep]
        contracts += [
            SeedContract(id=uid + 1_000_000, user_id=uid, project_id=10, status="active")
            for uid in ids
        ]
        return cls(
            workspaces=sample.workspaces,
            members=members,
            tokens=sample.tokens,
            projects=sample.projects,
            contracts=contracts,
            tasks=sample.tasks,
            leaves=[],
        )

    # -- lookups ---------------------------------------------------------------------------

    def token_for_role(self, role: Role, workspace_id: int | None = None) -> str:
        """The first usable token whose user has ``role`` (in ``workspace_id``, if given)."""
        for token in self.tokens:
            if token.expired:
                continue
            for m in self.members:
                if (
                    m.id == token.user_id
                    and m.role == role
                    and (workspace_id is None or m.workspace_id == workspace_id)
                ):
                    return token.token
        raise LookupError(f"the seed has no token of a {role}")
