"""The Now page's "ask WebWork" button: current-data through the shared API budget, against
the real sandbox; the answer is shown and kept, but never overwrites the known state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from pydantic import SecretStr

from tests.console.conftest import SAM
from worker.pipeline.state import TrackerState
from worker.sandbox.app import create_app
from worker.sandbox.models import SandboxConfig
from worker.sandbox.seed import Seed
from worker.sandbox.server import serve_in_thread
from worker.store import Keys
from worker.webwork.client import WebWorkClient

OWNER = "sandbox-owner-token"


@pytest.fixture
def sandbox() -> Iterator[str]:
    with serve_in_thread(create_app(Seed.sample(), SandboxConfig(rpm=1000))) as server:
        yield server.api_url


def _ask(client, email: str) -> str:
    client.get("/now")
    token = client.cookies.get("autoclock_csrf")
    answer = client.post(f"/people/{email}/ask", data={"csrf": token})
    assert answer.status_code == 200
    return answer.text


def test_ask_shows_what_current_data_says_and_keeps_the_known_state(
    console_factory, sandbox: str, redis_client: redis.Redis, namespace: str
) -> None:
    console = console_factory(
        webwork_base_url=sandbox,
        webwork_token=SecretStr(OWNER),
        webwork_workspace_id=1,
        webwork_rpm=600,
    )
    assert "not tracking" in _ask(console, SAM)
    with WebWorkClient(base_url=sandbox, token=SecretStr(OWNER)) as app:
        app.start(workspace_id=1, user_id=43, contract_id=21, description="from the app")
    assert "current-data: tracking" in _ask(console, SAM)
    # shown on the Now page as WebWork's answer; the actors' known state is untouched
    row = console.get("/now").text.split(f'data-person="{SAM}"')[1].split("</tr>")[0]
    assert "t-yes" in row
    assert "WebWork said" in row
    assert TrackerState(redis_client, Keys(namespace), ttl_s=900).get(SAM) is None


def test_ask_waits_for_the_shared_budget_and_says_so(console_factory, sandbox: str) -> None:
    console = console_factory(
        webwork_base_url=sandbox,
        webwork_token=SecretStr(OWNER),
        webwork_workspace_id=1,
        webwork_rpm=1,  # one call a minute: the second question finds no slot
    )
    first = _ask(console, SAM)
    assert "current-data" in first
    second = _ask(console, "kim.park@example.com")
    assert "API budget busy" in second


def test_without_a_token_there_is_no_button_and_asking_explains(console_factory) -> None:
    console = console_factory()
    assert "Ask WebWork" not in console.get("/now").text
    assert "WEBWORK_TOKEN is not set" in _ask(console, SAM)
