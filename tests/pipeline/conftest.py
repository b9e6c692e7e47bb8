"""Fixtures for the trigger path: a real pipeline (Redis broker, in-process worker threads,
the real WebWork client) against a running sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tests.pipeline.helpers import write_rules
from worker.pipeline.runtime import Pipeline, build_pipeline
from worker.rules.load import load_ruleset
from worker.settings import Settings
from worker.store import connect

PipelineFactory = Callable[..., Pipeline]


@pytest.fixture
def pipeline_factory(settings: Settings, tmp_path: Path) -> Iterator[PipelineFactory]:
    """Build and start pipelines; every one is stopped at teardown."""
    started: list[Pipeline] = []

    def build(
        api_url: str,
        token: str,
        *,
        people: int = 0,
        rules_dir: Path | None = None,
        threads: int = 8,
        start: bool = True,
        **overrides: Any,
    ) -> Pipeline:
        if rules_dir is None:
            rules_dir = write_rules(tmp_path / f"rules-{len(started)}", people)
        configured = settings.model_copy(
            update={
                "webwork_base_url": api_url,
                "webwork_token": SecretStr(token),
                "webwork_workspace_id": 1,
                "rules_dir": rules_dir,
                "webwork_rpm": 100_000,
                **overrides,
            }
        )
        handle = connect(configured)
        ruleset = load_ruleset(rules_dir, default_timezone=configured.timezone)
        pipeline = build_pipeline(configured, handle, ruleset)
        if start:
            pipeline.start(threads)
        started.append(pipeline)
        return pipeline

    yield build
    for pipeline in started:
        pipeline.stop(timeout_ms=5_000)
