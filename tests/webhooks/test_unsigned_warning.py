"""A signing vendor's source with ``allow_unsigned: true`` and no secret accepts anyone's
deliveries: that is warned about at start (log, warning level) and on /readyz, every time."""

from __future__ import annotations

import httpx
import redis
from structlog.testing import capture_logs

from tests.webhooks.helpers import admin_for, serve
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.rules.schema import SourcesFile
from worker.settings import Settings
from worker.store import Keys
from worker.webhooks.app import create_app


def test_unsigned_sources_are_warned_at_start_and_on_readyz(
    settings: Settings, redis_client: redis.Redis
) -> None:
    sources = SourcesFile.model_validate(
        {
            "webhooks": [
                {"name": "open-door", "vendor": "kisi", "allow_unsigned": True},
                {"name": "signed-door", "vendor": "kisi"},
                {"name": "legacy", "vendor": "shared_secret", "allow_unsigned": True},
            ]
        }
    )
    keys = Keys(settings.namespace)
    secrets = {"signed-door": ["a-signing-secret-1234"], "legacy": ["a-shared-token-12345"]}
    with capture_logs() as logs:
        app = create_app(
            settings,
            client=redis_client,
            keys=keys,
            sources=sources,
            queue=TriggerQueue(make_broker(redis_client, keys)),
            secrets=lambda name: secrets.get(name, []),
        )
    warned = [e for e in logs if e["event"] == "webhook_source_unsigned"]
    assert len(warned) == 1
    assert warned[0]["log_level"] == "warning"
    assert "'open-door' accepts unsigned deliveries" in warned[0]["warning"]
    with serve(admin_for(app)) as admin:
        ready = httpx.get(f"{admin}/readyz", timeout=5)
    assert ready.status_code == 200  # a warning, not a failure
    warnings = ready.json()["warnings"]
    assert [w for w in warnings if "accepts unsigned deliveries" in w] == [
        w for w in warnings if "'open-door'" in w
    ]
    assert any("'open-door' accepts unsigned deliveries" in w for w in warnings)
