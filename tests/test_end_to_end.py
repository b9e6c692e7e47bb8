"""From the door to the tracker: a signed Kisi webhook, the webhook server, the queue on Redis,
the worker, the WebWork sandbox — every part real, talking over loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from tests.pipeline.helpers import wait_for_outcomes
from worker.models import Result
from worker.pipeline.runtime import build_pipeline
from worker.rules.load import load_ruleset
from worker.sandbox.server import serve_in_thread
from worker.store import connect
from worker.webhooks.app import create_app

RULES = Path(__file__).resolve().parents[1] / "rules"
SECRET = "kisi-signing-key-for-tests"
DANA = 42


def _kisi_exit(event_id: str) -> bytes:
    return json.dumps(
        {
            "uuid": event_id,
            "actor_type": "User",
            "actor_id": 482913,
            "actor_name": "Dana Ruiz",
            "object_type": "Lock",
            "object_id": 31878,
            "object_name": "Back Exit",
            "organization_id": 5521,
            "place_id": 10442,
            "success": True,
            "type": "lock.unlock",
            "error_code": None,
            "error_message": None,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ).encode()


def test_a_signed_badge_out_stops_the_tracker_once(sandbox, settings):
    """Dana leaves by the back exit: her tracker stops, a redelivery of the same webhook is
    acknowledged without a second stop, and the history says why."""
    sandbox.control.set_tracker(DANA, source="api")
    configured = settings.model_copy(
        update={
            "webwork_base_url": sandbox.api_url,
            "webwork_token": SecretStr(sandbox.owner_token),
            "webwork_workspace_id": 1,
            "rules_dir": RULES,
            "webwork_rpm": 10_000,
        }
    )
    handle = connect(configured)
    ruleset = load_ruleset(RULES, default_timezone=configured.timezone)
    pipeline = build_pipeline(configured, handle, ruleset)
    pipeline.start(4)
    app = create_app(
        configured,
        client=handle.client,
        keys=pipeline.context.keys,
        sources=ruleset.sources,
        directory=ruleset.directory,
        queue=pipeline.queue,
        secrets=lambda source: [SECRET] if source == "kisi-hq" else [],
    )
    body = _kisi_exit(str(uuid.uuid4()))
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-Signature": signature, "Content-Type": "application/json"}
    try:
        with serve_in_thread(app) as server:
            first = httpx.post(f"{server.url}/hooks/kisi-hq", content=body, headers=headers)
            again = httpx.post(f"{server.url}/hooks/kisi-hq", content=body, headers=headers)
            forged = httpx.post(
                f"{server.url}/hooks/kisi-hq",
                content=body,
                headers={**headers, "X-Signature": "0" * 64},
            )
            outcomes = wait_for_outcomes(pipeline.context.outcomes, 1)
            time.sleep(0.5)  # a second, wrong effect would show up here
            outcomes = pipeline.context.outcomes.all()
    finally:
        pipeline.stop(timeout_ms=5_000)
        handle.close()

    assert first.status_code == 202
    assert again.status_code in (200, 202)
    assert forged.status_code == 401
    assert len(outcomes) == 1
    outcome = outcomes[0]
    assert outcome.result is Result.STOPPED
    assert outcome.source == "webhook:kisi-hq"
    assert outcome.person == "dana.ruiz@example.com"
    assert outcome.rule == "badge-out"
    assert not sandbox.control.tracking(DANA)
    stops = [c for c in sandbox.control.calls() if c.path.endswith("/time-tracking/stop")]
    assert len(stops) == 1
