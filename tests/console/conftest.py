"""A console on the test Redis namespace with the example rules and a recorded demo-like day."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from tests.console.helpers import outcome
from worker.console.app import create_console_app
from worker.console.core import Console
from worker.models import Result, TriggerKind
from worker.pipeline.outcomes import OutcomeLog
from worker.rules.load import load_ruleset
from worker.settings import Settings
from worker.store import Keys

RULES = Path(__file__).resolve().parents[2] / "rules"
DANA = "dana.ruiz@example.com"
SAM = "sam.lee@example.com"


def record_demo_day(client: redis.Redis, namespace: str) -> None:
    """The outcomes ``autoclock demo`` leaves for Dana and Sam on 2026-12-02."""
    log = OutcomeLog(client, Keys(namespace))
    K, R = TriggerKind, Result
    for o in [
        outcome("08:55", K.SHIFT_START, R.STARTED, email=DANA, reason="rule 'shift-start'"),
        outcome("08:58", K.BADGE_IN, R.NO_RULE, email=DANA, reason="badge-in skipped: tracking"),
        outcome("09:02", K.BADGE_IN, R.ALREADY_TRACKING, email=SAM, reason="already tracking"),
        outcome("17:31", K.BADGE_OUT, R.STOPPED, email=DANA, reason="rule 'badge-out'"),
        outcome("19:00", K.TICK, R.STOPPED, email=SAM, reason="rule 'end-of-day'"),
        outcome("19:00", K.TICK, R.NO_RULE, email=DANA, reason="end-of-day skipped"),
    ]:
        assert log.record(o)


@pytest.fixture
def console_factory(
    settings: Settings, redis_client: redis.Redis
) -> Iterator[Callable[..., TestClient]]:
    made: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        configured = settings.model_copy(update={"rules_dir": RULES, **overrides})
        ruleset = load_ruleset(RULES, default_timezone=configured.timezone)
        console = Console(configured, redis_client, ruleset)
        client = TestClient(create_console_app(console), base_url="http://127.0.0.1:8081")
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
