"""Who may open the console: loopback without credentials; elsewhere only with them; POSTs
only with the CSRF token; operator actions only when enabled."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from tests.console.conftest import DANA
from worker.console.access import authorised, check_binding, is_loopback
from worker.errors import ConfigError
from worker.settings import Settings

TOKEN = "console-token-for-tests-0123456789"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("192.168.1.2", False),
        ("console.example.com", False),
        ("", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "console.example.com"])
def test_off_loopback_without_credentials_is_refused_naming_the_variables(host: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_binding(Settings(), host)
    message = str(err.value)
    assert "\n" not in message
    assert "AUTOCLOCK_CONSOLE_TOKEN" in message
    assert host in message


@pytest.mark.parametrize(
    "creds",
    [
        {"console_token": SecretStr(TOKEN)},
        {"console_user": "ops", "console_password": SecretStr("pw")},
    ],
)
def test_off_loopback_with_credentials_is_allowed(creds: dict[str, object]) -> None:
    check_binding(Settings(**creds), "0.0.0.0")  # type: ignore[arg-type]


def test_a_user_without_a_password_is_refused_even_on_loopback() -> None:
    with pytest.raises(ConfigError, match="AUTOCLOCK_CONSOLE_PASSWORD"):
        check_binding(Settings(console_user="ops"), "127.0.0.1")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@given(st.text(max_size=40), st.text(max_size=40))
def test_only_the_exact_credentials_are_accepted(user: str, password: str) -> None:
    settings = Settings(console_user="ops", console_password=SecretStr("s3cret"))
    # a colon in the user name moves the rest into the password, which then holds a colon
    expected = "ops" if (user, password) == ("ops", "s3cret") else None
    assert authorised(settings, _basic(user, password)) == expected
    assert authorised(settings, f"Bearer {password}") is None


def test_token_as_bearer_or_basic_password() -> None:
    settings = Settings(console_token=SecretStr(TOKEN))
    assert authorised(settings, f"Bearer {TOKEN}") == "token"
    assert authorised(settings, _basic("anna", TOKEN)) == "anna"
    assert authorised(settings, f"Bearer {TOKEN}x") is None
    assert authorised(settings, "Basic !!!not-base64") is None
    assert authorised(settings, "") is None


def test_credentials_are_required_on_every_page_when_configured(console_factory) -> None:
    client = console_factory(console_token=SecretStr(TOKEN))
    for path in ["/now", "/outcomes", "/dead-letters", "/health", "/rules", "/static/htmx.min.js"]:
        answer = client.get(path)
        assert answer.status_code == 401, path
        assert answer.headers["www-authenticate"].startswith("Basic")
        assert TOKEN not in answer.text
    assert client.get("/now", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_post_without_the_csrf_token_is_refused(console_factory) -> None:
    client = console_factory(console_actions=True)
    page = client.get("/dead-letters")
    assert page.status_code == 200
    token = client.cookies.get("autoclock_csrf")
    assert token
    assert token in page.text
    assert client.post("/dead-letters/x/drop", data={}).status_code == 403
    assert client.post("/dead-letters/x/drop", data={"csrf": "forged"}).status_code == 403
    # with the token, an unknown letter is a clear 404, not a 5xx
    assert client.post("/dead-letters/x/drop", data={"csrf": token}).status_code == 404
    cross = client.post(
        "/dead-letters/x/drop", data={"csrf": token}, headers={"Origin": "http://evil.example"}
    )
    assert cross.status_code == 403
    assert client.post(f"/people/{DANA}/ask", data={}).status_code == 403


def test_operator_actions_are_off_by_default(console_factory) -> None:
    client = console_factory()
    page = client.get("/dead-letters")
    assert "read-only" in page.text
    token = client.cookies.get("autoclock_csrf")
    answer = client.post("/dead-letters/x/replay", data={"csrf": token})
    assert answer.status_code == 403
    assert "AUTOCLOCK_CONSOLE_ACTIONS" in answer.text
