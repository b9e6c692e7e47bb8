"""Hot reload reaches the webhook receiver: a source added to sources.yaml is served, one
removed answers 404, and the people directory follows."""

from __future__ import annotations

from pathlib import Path

import httpx
import redis
import yaml

from tests.webhooks.helpers import serve
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.rules.live import LiveRules
from worker.rules.load import load_ruleset
from worker.settings import Settings
from worker.store import Keys
from worker.webhooks.app import create_app


def _write(rules: Path, webhooks: list[dict[str, object]]) -> None:
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "people.yaml").write_text(
        yaml.safe_dump({"people": [{"email": "a@example.com", "badges": ["0042"]}]})
    )
    (rules / "sources.yaml").write_text(yaml.safe_dump({"webhooks": webhooks}))
    (rules / "rules.yaml").write_text(yaml.safe_dump({"rules": []}))


def test_a_source_added_or_removed_by_a_reload_is_served_or_refused(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    _write(rules, [{"name": "old-door", "vendor": "kisi"}])
    live = LiveRules(load_ruleset(rules))
    keys = Keys(settings.namespace)
    app = create_app(
        settings,
        client=redis_client,
        keys=keys,
        sources=live.current.sources,
        directory=live.current.directory,
        queue=TriggerQueue(make_broker(redis_client, keys)),
        secrets=lambda name: ["s3cret-value-123"],
    )
    live.subscribe(lambda rs: app.state.receiver.use_rules(rs.sources, rs.directory))
    headers = {"content-type": "application/json"}
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        assert http.post("/hooks/new-door", content=b"{}", headers=headers).status_code == 404
        assert http.post("/hooks/old-door", content=b"{}", headers=headers).status_code != 404
        _write(rules, [{"name": "new-door", "vendor": "kisi"}])
        assert live.reload("test")
        assert http.post("/hooks/new-door", content=b"{}", headers=headers).status_code != 404
        assert http.post("/hooks/old-door", content=b"{}", headers=headers).status_code == 404
    assert app.state.receiver.directory is live.current.directory
