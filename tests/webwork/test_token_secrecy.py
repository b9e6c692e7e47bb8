"""The bearer token never appears in a log line, a repr or an exception text."""

from __future__ import annotations

import logging
import traceback

import pytest
from pydantic import SecretStr

from worker.errors import Forbidden, RateLimited, Rejected, Transient, Unauthorized, WebWorkError
from worker.logs import configure_logging
from worker.sandbox import Faults, Seed
from worker.sandbox.seed import SeedToken
from worker.webwork import WebWorkClient

SECRET = "s3cr3t-owner-pat-7f3a9c"
UNKNOWN = "s3cr3t-revoked-pat-1b2c3d"
REGULAR = "s3cr3t-regular-pat-5e6f7a"


def seed_with_secret_tokens() -> Seed:
    return Seed.sample().model_copy(
        update={
            "tokens": [SeedToken(token=SECRET, user_id=1), SeedToken(token=REGULAR, user_id=43)]
        }
    )


def texts_of(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


def test_token_absent_from_logs_and_exceptions(sandbox_factory, capsys, caplog):
    """401, 403, rejections, 5xx, rate limits and timeouts leak the token nowhere."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("json", "debug")
    for name in ("httpx", "httpcore"):  # the most verbose they can be
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    try:
        sb = sandbox_factory(seed=seed_with_secret_tokens(), rpm=4)
        expectations: list[tuple[str, type[WebWorkError]]] = [
            (UNKNOWN, Unauthorized),
            (REGULAR, Forbidden),
            (SECRET, Rejected),  # paused contract
        ]
        for token, expected in expectations:
            client = WebWorkClient(base_url=sb.api_url, token=SecretStr(token))
            seen += [repr(client), str(vars(client))]
            with client, pytest.raises(expected) as err:
                client.start(workspace_id=1, user_id=43, contract_id=25)
            seen += texts_of(err.value)
        with WebWorkClient(base_url=sb.api_url, token=SecretStr(SECRET)) as client:
            client.workspaces()  # 2 of the budget of 4 are spent above (401 is not counted)
            client.workspaces()
            with pytest.raises(RateLimited) as limited:
                client.workspaces()
            seen += texts_of(limited.value)
        slow = sandbox_factory(
            seed=seed_with_secret_tokens(), rpm=0, faults=Faults(hang_rate=1.0, hang_s=1.0)
        )
        with WebWorkClient(base_url=slow.api_url, token=SecretStr(SECRET), timeout_s=0.2) as c:
            with pytest.raises(Transient) as timeout:
                c.stop(workspace_id=1, user_id=42)
            seen += texts_of(timeout.value)
        slow.control.set_faults(hang_rate=0.0, error_rate=1.0)
        with WebWorkClient(base_url=slow.api_url, token=SecretStr(SECRET)) as c:
            with pytest.raises(Transient) as server_error:
                c.start(workspace_id=1, user_id=42)
            seen += texts_of(server_error.value)
        calls_json = [call.model_dump_json() for call in sb.control.calls()]
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
    logged = capsys.readouterr().err + caplog.text
    assert "webwork_error_response" in logged  # the client did log the failures
    assert "429" in logged
    assert "401" in logged
    for text in [logged, *seen, *calls_json]:
        for token in (SECRET, UNKNOWN, REGULAR):
            assert token not in text
