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
    "SeedTracker",
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


class SeedTracker(_Entry):
    """A tracker already running when the sandbox starts (and after every reset).

    ``source`` ``desktop``/``mobile`` trackers are invisible to current-data, as WebWork's docs
    warn, yet block a start through the API.
    """

    user_id: int
    workspace_id: int = 1
    contract_id: int | None = None
    source: Literal["api", "browser", "desktop", "mobile"] = "desktop"


#: Edge cases added by :meth:`Seed.with_edge_cases` (ids clear of the sample's and of
#: :meth:`Seed.synthetic`'s default range).
LEFT_MEMBER_ID = 47
DESKTOP_MEMBER_ID = 48


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
    trackers: list[SeedTracker] = []

    @model_validator(mode="after")
    def _references(self) -> Self:
        problems: list[str] = []
        members = self._member_problems(problems)
        problems.extend(self._token_problems())
        problems.extend(self._project_problems(members))
        problems.extend(self._leave_problems(members))
        problems.extend(self._tracker_problems(members))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _member_problems(self, problems: list[str]) -> set[tuple[int, int]]:
        """Append workspace and member problems; return the (workspace, member) pairs."""
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
        return seen

    def _token_problems(self) -> list[str]:
        problems: list[str] = []
        users = {m.id for m in self.members}
        tokens = [t.token for t in self.tokens]
        if len(set(tokens)) != len(tokens):
            problems.append("tokens: duplicate token")
        for t in self.tokens:
            if t.user_id not in users:
                problems.append(f"token of user {t.user_id}: no such member")
        return problems

    def _project_problems(self, members: set[tuple[int, int]]) -> list[str]:
        """Projects, their contracts and their tasks."""
        problems: list[str] = []
        spaces = {w.id for w in self.workspaces}
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
            elif (project.workspace_id, c.user_id) not in members:
                problems.append(
                    f"contract {c.id}: user {c.user_id} is not a member of workspace "
                    f"{project.workspace_id}"
                )
        for task in self.tasks:
            if task.project_id not in projects:
                problems.append(f"task {task.id}: unknown project {task.project_id}")
        return problems

    def _leave_problems(self, members: set[tuple[int, int]]) -> list[str]:
        problems: list[str] = []
        for leave in self.leaves:
            if (leave.workspace_id, leave.user_id) not in members:
                problems.append(f"leave {leave.id}: user {leave.user_id} is not a member")
            if leave.end_date < leave.start_date:
                problems.append(f"leave {leave.id}: end_date before start_date")
        return problems

    def _tracker_problems(self, members: set[tuple[int, int]]) -> list[str]:
        problems: list[str] = []
        contracts = {c.id: c for c in self.contracts}
        users = [t.user_id for t in self.trackers]
        if len(set(users)) != len(users):
            problems.append("trackers: at most one running tracker per user")
        for t in self.trackers:
            if (t.workspace_id, t.user_id) not in members:
                problems.append(f"tracker of user {t.user_id}: not a member of {t.workspace_id}")
            contract = contracts.get(t.contract_id) if t.contract_id is not None else None
            if t.contract_id is not None and (contract is None or contract.user_id != t.user_id):
                problems.append(f"tracker of user {t.user_id}: contract {t.contract_id} not theirs")
        return problems

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

    def with_edge_cases(self) -> Seed:
        """This seed plus the people WebWork refuses in ways the docs leave open:

        - ``lee.left@example.com`` (id 47): a member who has **left** (start is refused);
        - ``dee.desk@example.com`` (id 48): a tracker running **in the desktop app**, which
          blocks a start but is invisible to current-data;
        - a **paused contract** (id 25, Sam Lee's on project 11) is in the sample already and
          kept by :meth:`synthetic`; it is added here when missing.
        """
        workspace = self.workspaces[0].id
        project = next((p.id for p in self.projects if p.workspace_id == workspace), None)
        if project is None:
            raise ConfigError(f"edge cases need a project in workspace {workspace}")
        members = [
            SeedMember(
                id=LEFT_MEMBER_ID,
                workspace_id=workspace,
                email="lee.left@example.com",
                firstname="Lee",
                lastname="Left",
                status="left",
            ),
            SeedMember(
                id=DESKTOP_MEMBER_ID,
                workspace_id=workspace,
                email="dee.desk@example.com",
                firstname="Dee",
                lastname="Desk",
            ),
        ]
        contracts = [
            SeedContract(id=26, user_id=LEFT_MEMBER_ID, project_id=project),
            SeedContract(id=27, user_id=DESKTOP_MEMBER_ID, project_id=project),
        ]
        if not any(c.status == "paused" for c in self.contracts):
            contracts.append(
                SeedContract(id=28, user_id=DESKTOP_MEMBER_ID, project_id=project, status="paused")
            )
        tracker = SeedTracker(user_id=DESKTOP_MEMBER_ID, workspace_id=workspace, contract_id=27)
        taken = {m.id for m in self.members} & {LEFT_MEMBER_ID, DESKTOP_MEMBER_ID}
        taken |= {c.id for c in self.contracts} & {c.id for c in contracts}
        if taken:
            raise ConfigError("edge cases need member ids 47-48 and contract ids 26-28 free")
        return self.model_copy(
            update={
                "members": [*self.members, *members],
                "contracts": [*self.contracts, *contracts],
                "trackers": [*self.trackers, tracker],
            }
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
