"""Who a person is in WebWork: the workspace id and each person's user id.

Both are asked of WebWork at most once and then remembered: the workspace id for the life of
the process, a user id in the known state (so every process shares it). A directory that
names the ids asks nothing. Kept apart from :class:`~worker.pipeline.context.Context`, which
holds the stores, so the actors, the leave lookup and the console's probe share one answer.
"""

from __future__ import annotations

from worker.errors import ConfigError
from worker.pipeline.state import TrackerState
from worker.rules.directory import Person
from worker.settings import Settings
from worker.webwork.client import WebWorkClient

__all__ = ["Identity"]


class Identity:
    """The WebWork ids behind the settings and the directory, asked once."""

    def __init__(self, settings: Settings, client: WebWorkClient, state: TrackerState) -> None:
        self.settings = settings
        self.client = client
        self.state = state
        self._workspace_id: int | None = None

    def workspace_id(self) -> int:
        """``WEBWORK_WORKSPACE_ID``, or the token's only workspace (asked once)."""
        if self._workspace_id is None:
            if self.settings.webwork_workspace_id is not None:
                self._workspace_id = self.settings.webwork_workspace_id
            else:
                spaces = self.client.workspaces()
                if len(spaces) != 1:
                    raise ConfigError(
                        f"the token sees {len(spaces)} workspaces: set WEBWORK_WORKSPACE_ID"
                    )
                self._workspace_id = spaces[0].id
        return self._workspace_id

    def user_id(self, person: Person) -> int | None:
        """The person's WebWork user id: from the directory, the cache, or GET /members once."""
        if person.user_id is not None:
            return person.user_id
        cached = self.state.user_id(person.email)
        if cached is not None:
            return cached
        member = self.client.find_member(workspace_id=self.workspace_id(), email=person.email)
        if member is None:
            return None
        self.state.remember_user_id(person.email, member.id)
        return member.id
