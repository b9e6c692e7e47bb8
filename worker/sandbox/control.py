"""``SandboxControl``: a typed client of the sandbox's control API (``/_sandbox/...``).

For tests, the demo and benchmarks: read who is tracking and every call received, change
faults and configuration at run time, set a tracker behind the API's back, reset.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Literal, Self

import httpx

from worker.sandbox.models import (
    CallRecord,
    FaultsUpdate,
    FaultsView,
    SandboxConfig,
    SandboxStateView,
    TrackerSet,
    TrackerView,
)

__all__ = ["SandboxControl"]


class SandboxControl:
    """Control client; ``base_url`` is the sandbox root (a trailing ``/api/v2`` is dropped)."""

    def __init__(self, base_url: str, *, timeout_s: float = 10.0) -> None:
        root = base_url.rstrip("/")
        root = root.removesuffix("/api/v2")
        self.base_url = root
        self._http = httpx.Client(base_url=root, timeout=timeout_s)

    def __repr__(self) -> str:
        return f"SandboxControl({self.base_url!r})"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ValueError(f"sandbox {method} {path} → {response.status_code}: {response.text}")
        return response.json()

    def state(self) -> SandboxStateView:
        """Running trackers, configuration, faults and the number of calls received."""
        return SandboxStateView.model_validate(self._call("GET", "/_sandbox/state"))

    def trackers(self) -> dict[int, TrackerView]:
        """Running trackers by user id."""
        return {t.user_id: t for t in self.state().trackers}

    def tracking(self, user_id: int) -> TrackerView | None:
        """``user_id``'s running tracker, or None."""
        return self.trackers().get(user_id)

    def calls(self, since: int = 0, limit: int = 100_000) -> list[CallRecord]:
        """The ``/api/v2`` calls received after sequence number ``since``, in order."""
        data = self._call("GET", "/_sandbox/calls", params={"since": since, "limit": limit})
        return [CallRecord.model_validate(row) for row in data["calls"]]

    def set_faults(self, **changes: Any) -> FaultsView:
        """Change faults (fields of :class:`FaultsUpdate`: latency_ms, error_rate, error_status,
        hang_rate, hang_s, rng_seed, outage_s, outage)."""
        update = FaultsUpdate.model_validate(changes)
        payload = update.model_dump(exclude_none=True)
        return FaultsView.model_validate(self._call("POST", "/_sandbox/faults", json=payload))

    def faults(self) -> FaultsView:
        return FaultsView.model_validate(self._call("GET", "/_sandbox/faults"))

    def set_config(self, **changes: Any) -> SandboxConfig:
        """Change configuration (fields of :class:`SandboxConfig`), keeping the rest."""
        return SandboxConfig.model_validate(self._call("POST", "/_sandbox/config", json=changes))

    def config(self) -> SandboxConfig:
        return SandboxConfig.model_validate(self._call("GET", "/_sandbox/config"))

    def set_tracker(
        self,
        user_id: int,
        *,
        running: bool = True,
        workspace_id: int = 1,
        contract_id: int | None = None,
        task_id: int | None = None,
        source: Literal["api", "browser", "desktop", "mobile"] = "desktop",
    ) -> TrackerView | None:
        """Start (or with ``running=False`` clear) a tracker without an API call."""
        body = TrackerSet(
            workspace_id=workspace_id,
            user_id=user_id,
            running=running,
            contract_id=contract_id,
            task_id=task_id,
            source=source,
        ).model_dump(mode="json")
        tracker = self._call("POST", "/_sandbox/tracker", json=body)["tracker"]
        return TrackerView.model_validate(tracker) if tracker else None

    def reset(self) -> SandboxStateView:
        """Back to the seed, initial config and faults; trackers and calls cleared."""
        return SandboxStateView.model_validate(self._call("POST", "/_sandbox/reset"))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
