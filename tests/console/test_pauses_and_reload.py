"""Pausing from the console writes the same pauses as ``autoclock pause`` (CSRF, audited,
only with operator actions on); the console follows edits of the rules files like the roles'
hot reload (a valid edit is shown, an invalid one is listed and the old rules stay)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import redis
from starlette.testclient import TestClient

from tests.console.conftest import DANA, RULES
from worker.console.app import create_console_app
from worker.console.core import Console
from worker.models import utcnow
from worker.pipeline.audit import AuditLog
from worker.pipeline.pauses import PauseStore
from worker.rules.load import load_ruleset
from worker.settings import Settings
from worker.store import Keys


def _token(client: TestClient) -> str:
    client.get("/now")
    token = client.cookies.get("autoclock_csrf")
    assert token
    return token


def test_pause_and_resume_a_group_from_the_now_page(
    console_factory, redis_client: redis.Redis, namespace: str
) -> None:
    client = console_factory(console_actions=True)
    token = _token(client)
    answer = client.post(
        "/pauses",
        data={"csrf": token, "scope": "group:office", "until": "8h", "reason": "stocktaking"},
        follow_redirects=True,
    )
    assert answer.status_code == 200
    assert "automation paused for group office" in answer.text
    (pause,) = PauseStore(redis_client, Keys(namespace)).active(utcnow())
    assert pause.scope == "group:office"
    assert timedelta(hours=7, minutes=59) < pause.until - pause.start <= timedelta(hours=8)
    row = answer.text.split(f'data-person="{DANA}"')[1].split("</tr>")[0]
    assert 'class="pill r-expired paused"' in row
    night = answer.text.split('data-person="alex.night@example.com"')[1].split("</tr>")[0]
    assert "paused" not in night

    resumed = client.post(
        "/pauses/resume", data={"csrf": token, "scope": "group:office"}, follow_redirects=True
    )
    assert "resumed group office" in resumed.text
    assert PauseStore(redis_client, Keys(namespace)).active(utcnow()) == []
    actions = [(e.action, e.target) for e in AuditLog(redis_client, Keys(namespace)).tail()]
    assert actions == [("resume", "group:office"), ("pause", "group:office")]


def test_pause_input_is_checked_and_refused_without_actions(console_factory) -> None:
    client = console_factory(console_actions=True)
    token = _token(client)
    for data, status in [
        ({"scope": "group:nobody", "until": "8h", "reason": "x"}, 400),
        ({"scope": f"person:{DANA}", "until": "yesterday", "reason": "x"}, 400),
        ({"scope": "all", "until": "2001-01-01T00:00", "reason": "x"}, 400),
        ({"scope": "all", "until": "8h", "reason": ""}, 400),
        ({"scope": "all", "until": "8h", "reason": "x" * 201}, 400),
    ]:
        assert client.post("/pauses", data={"csrf": token, **data}).status_code == status, data
    assert client.post("/pauses/resume", data={"csrf": token, "scope": "all"}).status_code == 404
    read_only = console_factory()
    token = _token(read_only)
    refused = read_only.post(
        "/pauses", data={"csrf": token, "scope": "all", "until": "8h", "reason": "x"}
    )
    assert refused.status_code == 403
    assert 'id="pause-form"' not in read_only.get("/now").text


def test_the_console_follows_rules_edits_and_keeps_the_old_rules_on_a_broken_one(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    rules = tmp_path / "rules-copy"
    shutil.copytree(RULES, rules)
    configured = settings.model_copy(update={"rules_dir": rules})
    console = Console(configured, redis_client, load_ruleset(rules))
    client = TestClient(create_console_app(console), base_url="http://127.0.0.1")
    assert "rule-list" in client.get("/rules").text
    text = (rules / "rules.yaml").read_text()
    (rules / "rules.yaml").write_text(text.replace("name: end-of-day", "name: closing-time"))
    page = client.get("/rules").text
    assert "<td>closing-time</td>" in page
    assert "None: the files on disk load cleanly." in page
    (rules / "rules.yaml").write_text(
        text.replace("name: end-of-day", "name: end-of-day\n    colour: red")
    )
    page = client.get("/rules").text
    assert "<td>closing-time</td>" in page  # the last valid rules stay
    assert "unknown key" in page
    client.close()
