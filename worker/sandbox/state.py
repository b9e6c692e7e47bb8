"""The sandbox's mutable world: seed indexes, running trackers, time entries, the per-token
rate limiter, the call log, configuration, faults and the seeded RNG.

All methods are synchronous and the app calls them from one event loop without awaiting in
between, so a check-then-act (e.g. "no tracker runs, start one") is atomic.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from worker.sandbox.models import (
    CallRecord,
    Faults,
    FaultsUpdate,
    FaultsView,
    SandboxConfig,
    SandboxStateView,
    TrackerView,
)
from worker.sandbox.seed import (
    PRIVILEGED_ROLES,
    Seed,
    SeedContract,
    SeedMember,
    SeedProject,
    SeedTask,
    SeedToken,
)

__all__ = ["CALL_LOG_MAX", "RateDecision", "SandboxState", "TimeEntryRecord", "now_utc"]

#: The call log keeps this many most recent calls (``seq`` keeps counting).
CALL_LOG_MAX = 200_000

RATE_WINDOW_S = 60.0


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class TimeEntryRecord:
    """A finished tracker interval, served by ``GET /time-entries``."""

    id: str
    workspace_id: int
    user_id: int
    contract_id: int | None
    project_id: int | None
    task_id: int | None
    activity_description: str | None
    start: datetime
    end: datetime | None
    method: str = "Web tracker"


@dataclass(frozen=True)
class RateDecision:
    """Whether a request fits the token's budget; ``retry_after_s`` when it does not."""

    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int = 0


@dataclass
class SandboxState:
    """Everything the sandbox remembers between requests."""

    seed: Seed
    initial_config: SandboxConfig
    initial_faults: Faults
    config: SandboxConfig = field(init=False)
    faults: Faults = field(init=False)
    rng: random.Random = field(init=False)
    trackers: dict[int, TrackerView] = field(init=False)
    entries: list[TimeEntryRecord] = field(init=False)
    calls: deque[CallRecord] = field(init=False)
    seq: int = field(init=False)
    outage_forever: bool = field(init=False)
    outage_until: float | None = field(init=False)
    _windows: dict[str, deque[float]] = field(init=False)

    def __post_init__(self) -> None:
        s = self.seed
        self.tokens: dict[str, SeedToken] = {t.token: t for t in s.tokens}
        self.memberships: dict[tuple[int, int], SeedMember] = {
            (m.workspace_id, m.id): m for m in s.members
        }
        self.workspaces = {w.id: w for w in s.workspaces}
        self.projects: dict[int, SeedProject] = {p.id: p for p in s.projects}
        self.contracts: dict[int, SeedContract] = {c.id: c for c in s.contracts}
        self.tasks: dict[int, SeedTask] = {t.id: t for t in s.tasks}
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seed: no trackers, entries or calls; initial config and faults."""
        self.config = self.initial_config.model_copy()
        self.faults = self.initial_faults.model_copy()
        self.rng = random.Random(self.faults.rng_seed)  # noqa: S311 - fault draws, not crypto
        self.trackers = {}
        for seeded in self.seed.trackers:
            member = self.memberships[(seeded.workspace_id, seeded.user_id)]
            contract = self.contracts.get(seeded.contract_id) if seeded.contract_id else None
            self.trackers[seeded.user_id] = TrackerView(
                workspace_id=seeded.workspace_id,
                user_id=seeded.user_id,
                email=member.email,
                contract_id=seeded.contract_id,
                project_id=contract.project_id if contract else None,
                source=seeded.source,
                since=now_utc().replace(microsecond=0),
            )
        self.entries = []
        self.calls = deque(maxlen=CALL_LOG_MAX)
        self.seq = 0
        self.outage_forever = False
        self.outage_until = None
        self._windows = {}

    # -- faults ----------------------------------------------------------------------------

    def update_faults(self, update: FaultsUpdate) -> FaultsView:
        """Apply a partial fault change; a new ``rng_seed`` reseeds the RNG."""
        changes = update.model_dump(exclude_none=True, exclude={"outage", "outage_s"})
        self.faults = self.faults.model_copy(update=changes)
        Faults.model_validate(self.faults.model_dump())
        if update.rng_seed is not None:
            self.rng = random.Random(update.rng_seed)  # noqa: S311
        if update.outage is False:
            self.outage_forever, self.outage_until = False, None
        if update.outage is True:
            self.outage_forever, self.outage_until = True, None
        if update.outage_s is not None:
            self.outage_forever = False
            self.outage_until = time.monotonic() + update.outage_s
        return self.faults_view()

    def in_outage(self) -> bool:
        if self.outage_forever:
            return True
        if self.outage_until is not None:
            if time.monotonic() < self.outage_until:
                return True
            self.outage_until = None
        return False

    def faults_view(self) -> FaultsView:
        active = self.in_outage()
        remaining = None
        if active and not self.outage_forever and self.outage_until is not None:
            remaining = round(self.outage_until - time.monotonic(), 3)
        return FaultsView(**self.faults.model_dump(), outage=active, outage_remaining_s=remaining)

    def draw(self, rate: float) -> bool:
        """True with probability ``rate`` (no draw at all when the rate is 0)."""
        return rate > 0 and self.rng.random() < rate

    # -- rate limit ------------------------------------------------------------------------

    def take(self, token: str) -> RateDecision | None:
        """Count one request against ``token``'s sliding 60 s window (None when rpm is 0).

        Refused requests are not counted, as Laravel's throttle does.
        """
        limit = self.config.rpm
        if limit <= 0:
            return None
        now = time.monotonic()
        window = self._windows.setdefault(token, deque())
        while window and window[0] <= now - RATE_WINDOW_S:
            window.popleft()
        if len(window) >= limit:
            wait = max(1, math.ceil(window[0] + RATE_WINDOW_S - now))
            return RateDecision(False, limit, 0, wait)
        window.append(now)
        return RateDecision(True, limit, limit - len(window))

    # -- call log --------------------------------------------------------------------------

    def record(self, method: str, path: str, user_id: int | None) -> CallRecord:
        """Log a received call (status filled in when it is answered)."""
        self.seq += 1
        call = CallRecord(seq=self.seq, at=now_utc(), method=method, path=path, user_id=user_id)
        self.calls.append(call)
        return call

    # -- lookups ---------------------------------------------------------------------------

    def role(self, workspace_id: int, user_id: int) -> str | None:
        member = self.memberships.get((workspace_id, user_id))
        return member.role if member is not None and member.status == "active" else None

    def privileged(self, workspace_id: int, user_id: int) -> bool:
        return self.role(workspace_id, user_id) in PRIVILEGED_ROLES

    def member(self, workspace_id: int, user_id: int) -> SeedMember | None:
        return self.memberships.get((workspace_id, user_id))

    def contract_workspace(self, contract: SeedContract) -> int:
        return self.projects[contract.project_id].workspace_id

    def view(self) -> SandboxStateView:
        trackers = sorted(self.trackers.values(), key=lambda t: (t.since, t.user_id))
        return SandboxStateView(
            trackers=trackers,
            config=self.config,
            faults=self.faults_view(),
            calls_total=self.seq,
        )

    def stop_tracker(self, user_id: int, at: datetime) -> TrackerView | None:
        """End ``user_id``'s tracker, keeping it as a time entry; the tracker, or None."""
        tracker = self.trackers.pop(user_id, None)
        if tracker is not None:
            self.entries.append(
                TimeEntryRecord(
                    id=str(uuid.uuid4()),
                    workspace_id=tracker.workspace_id,
                    user_id=tracker.user_id,
                    contract_id=tracker.contract_id,
                    project_id=tracker.project_id,
                    task_id=tracker.task_id,
                    activity_description=tracker.activity_description,
                    start=tracker.since,
                    end=at,
                    method={"api": "Web tracker", "browser": "Web tracker"}.get(
                        tracker.source, f"{tracker.source.capitalize()} tracker"
                    ),
                )
            )
        return tracker
