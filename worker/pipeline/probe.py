"""Ask WebWork whether one person is tracking now (``GET /time-tracking/current-data``),
inside the shared API budget: the console's "ask WebWork" button.

The answer is kept under ``<ns>:asked:<email>`` (with when it was asked) for the console to
show beside the known state. It does not overwrite the known state the actors use: an
action applied while the question was in flight would otherwise be overwritten by an older
answer.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import redis

from worker.clock import Clock, utcnow
from worker.errors import Backpressure, ConfigError, WebWorkError
from worker.pipeline.context import Context
from worker.rules.directory import Person
from worker.rules.ruleset import Ruleset
from worker.settings import Settings
from worker.store import Keys

__all__ = ["Answer", "TrackerProbe", "last_answers"]

#: How long a console answer is kept (it is shown with its age).
ANSWER_TTL_S = 86_400
#: How long the button waits for a budget slot before saying "busy".
MAX_BUDGET_WAIT_S = 5.0


@dataclass(frozen=True)
class Answer:
    tracking: bool | None
    at: datetime
    detail: str


class TrackerProbe:
    """Built once per console; ``ask(person)`` spends one or more budget slots."""

    def __init__(
        self, settings: Settings, client: redis.Redis, ruleset: Ruleset, *, clock: Clock = utcnow
    ) -> None:
        if settings.webwork_token is None:
            raise ConfigError("WEBWORK_TOKEN is not set: the console cannot ask WebWork")
        self.ctx = Context.build(settings, client, ruleset, clock=clock)
        self.lock = threading.Lock()

    def ask(self, person: Person) -> Answer:
        """current-data for ``person``; never raises for an API or budget problem."""
        deadline = time.monotonic() + MAX_BUDGET_WAIT_S
        while True:
            try:
                with self.lock:
                    answer = self._ask(person)
                break
            except Backpressure as exc:
                if time.monotonic() + exc.delay_ms / 1000 > deadline:
                    answer = Answer(
                        None,
                        self.ctx.clock(),
                        f"API budget busy: next slot in {exc.delay_ms / 1000:.1f} s; ask again",
                    )
                    break
                time.sleep(exc.delay_ms / 1000)
            except (WebWorkError, ConfigError) as exc:
                answer = Answer(None, self.ctx.clock(), f"WebWork did not answer: {exc}")
                break
        if answer.tracking is not None:
            value = {
                "tracking": answer.tracking,
                "at": answer.at.isoformat(),
                "detail": answer.detail,
            }
            self.ctx.db.set(
                self.ctx.keys("asked", person.email), json.dumps(value), ex=ANSWER_TTL_S
            )
        return answer

    def _ask(self, person: Person) -> Answer:
        user_id = self.ctx.identity.user_id(person)
        if user_id is None:
            return Answer(None, self.ctx.clock(), "not a member of the workspace (GET /members)")
        current = self.ctx.client.current(
            workspace_id=self.ctx.identity.workspace_id(), user_id=user_id
        )
        if current is None:
            return Answer(False, self.ctx.clock(), "current-data: no tracker running")
        minutes = current.total_minutes
        detail = "current-data: tracking" + (
            f" ({minutes} min today)" if minutes is not None else ""
        )
        return Answer(True, self.ctx.clock(), detail)

    def close(self) -> None:
        self.ctx.client.close()


def last_answers(client: redis.Redis, keys: Keys, people: list[str]) -> dict[str, Answer]:
    """The console's last current-data answers for ``people`` (emails), where kept."""
    if not people:
        return {}
    raw = client.mget([keys("asked", p.lower()) for p in people])
    out: dict[str, Answer] = {}
    for person, value in zip(people, raw, strict=True):
        if value is None:
            continue
        data = json.loads(value)
        out[person] = Answer(
            bool(data["tracking"]), datetime.fromisoformat(data["at"]), str(data["detail"])
        )
    return out
