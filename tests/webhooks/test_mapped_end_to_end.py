"""A Standard Webhooks sender's own ``door.access.granted`` payload, mapped with ``fields:``,
clocks the right person in the right direction: webhook server, queue on Redis, worker and
WebWork sandbox all real, over loopback."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml
from pydantic import SecretStr

from tests.pipeline.helpers import wait_for_outcomes
from tests.webhooks.mapped_helpers import SECRETS, SOURCES_YAML, std_event, std_headers
from worker.models import Result
from worker.pipeline.runtime import build_pipeline
from worker.rules.load import load_ruleset
from worker.sandbox.server import serve_in_thread
from worker.store import connect
from worker.webhooks.app import create_app

DANA, SAM = 42, 43


def write_rules(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    people = [
        {"email": "dana.ruiz@example.com", "user_id": DANA, "contract_id": 20},
        {"email": "sam.lee@example.com", "user_id": SAM, "contract_id": 21},
    ]
    (directory / "people.yaml").write_text(yaml.safe_dump({"people": people}))
    rules = {
        "policy": {"max_delay": "2h"},
        "rules": [
            {"name": "badge-in", "on": {"kind": "badge_in"}, "do": {"action": "start"}},
            {"name": "badge-out", "on": {"kind": "badge_out"}, "do": {"action": "stop"}},
        ],
    }
    (directory / "rules.yaml").write_text(yaml.safe_dump(rules))
    (directory / "sources.yaml").write_text(SOURCES_YAML)
    return directory


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_door_access_granted_clocks_the_right_person_in_the_right_direction(
    sandbox, settings, tmp_path
):
    """Dana is tracking; her first scan of the day says "out": the sender's direction wins
    over the door's first-scan-is-in rule, so her tracker stops. Then "in" starts it again.
    A replay is a duplicate; Sam, at the same door, is never touched."""
    sandbox.control.set_tracker(DANA, source="api")
    rules = write_rules(tmp_path / "rules")
    configured = settings.model_copy(
        update={
            "webwork_base_url": sandbox.api_url,
            "webwork_token": SecretStr(sandbox.owner_token),
            "webwork_workspace_id": 1,
            "rules_dir": rules,
            "webwork_rpm": 10_000,
        }
    )
    handle = connect(configured)
    ruleset = load_ruleset(rules, default_timezone=configured.timezone)
    pipeline = build_pipeline(configured, handle, ruleset)
    pipeline.start(2)
    app = create_app(
        configured,
        client=handle.client,
        keys=pipeline.context.keys,
        sources=ruleset.sources,
        directory=ruleset.directory,
        queue=pipeline.queue,
        secrets=lambda source: [SECRETS[source]] if source == "std-doors" else [],
    )
    secret = SECRETS["std-doors"]
    now = datetime.now(UTC)
    leaving = std_event(
        email="Dana.Ruiz@example.com", direction="out", at=iso(now - timedelta(minutes=5))
    )
    coming = std_event(email="dana.ruiz@example.com", direction="in", at=iso(now))
    try:
        with serve_in_thread(app) as server:
            url = f"{server.url}/hooks/std-doors"
            out = httpx.post(
                url, content=leaving, headers=std_headers(leaving, secret, msg_id="m-out")
            )
            stopped = wait_for_outcomes(pipeline.context.outcomes, 1)
            back = httpx.post(
                url, content=coming, headers=std_headers(coming, secret, msg_id="m-in")
            )
            replay = httpx.post(
                url, content=coming, headers=std_headers(coming, secret, msg_id="m-in")
            )
            outcomes = wait_for_outcomes(pipeline.context.outcomes, 2)
            time.sleep(0.5)  # a third, wrong effect would show up here
            outcomes = pipeline.context.outcomes.all()
    finally:
        pipeline.stop(timeout_ms=5_000)
        handle.close()

    assert (out.status_code, back.status_code, replay.status_code) == (202, 202, 200)
    assert out.json()["kind"] == "badge_out"
    assert back.json()["kind"] == "badge_in"
    assert replay.json()["status"] == "duplicate"
    assert [o.result for o in stopped] == [Result.STOPPED]
    assert [(o.result, o.person, o.rule) for o in outcomes] == [
        (Result.STOPPED, "dana.ruiz@example.com", "badge-out"),
        (Result.STARTED, "dana.ruiz@example.com", "badge-in"),
    ]
    assert all(o.source == "webhook:std-doors" for o in outcomes)
    assert sandbox.control.tracking(DANA) is not None
    assert sandbox.control.tracking(SAM) is None
