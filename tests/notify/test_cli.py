"""``autoclock notify test CHANNEL`` and the startup refusal of channels that cannot work, as a
user meets them (subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.notify.helpers import write_team
from tests.ports import free_port

AUTOCLOCK = [sys.executable, "-m", "worker.cli"]
SECRET = "cli-secret-password-77"


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WEBWORK_", "AUTOCLOCK_"))}
    return subprocess.run(
        [*AUTOCLOCK, *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_notify_test_sends_through_the_channel(json_receiver, smtp_receiver):
    sent = _run("notify", "test", "hook", AUTOCLOCK_NOTIFY_CHANNEL_HOOK=json_receiver.url())
    assert sent.returncode == 0, sent.stderr
    assert "sent a test message through channel 'hook'" in sent.stdout
    assert [p["title"] for p in json_receiver.posts] == ["autoclock: test message"]

    mailed = _run(
        "notify", "test", "mail", "--to", "ana@example.com",
        AUTOCLOCK_NOTIFY_CHANNEL_MAIL=smtp_receiver.url(),
    )  # fmt: skip
    assert mailed.returncode == 0, mailed.stderr
    assert [rcpts for rcpts, _ in smtp_receiver.mails] == [["ana@example.com"]]


@pytest.mark.parametrize(
    ("value", "code", "says"),
    [
        (None, 3, "AUTOCLOCK_NOTIFY_CHANNEL_HOOK: not set"),
        (f"nosuchscheme://u:{SECRET}@h/x", 3, "AUTOCLOCK_NOTIFY_CHANNEL_HOOK: not a URL Apprise"),
        ("DOWN", 4, "channel 'hook' did not accept the notification"),
    ],
)
def test_notify_test_refusals_name_the_variable_never_the_url(value, code, says):
    env = {}
    if value == "DOWN":
        value = f"json://u:{SECRET}@127.0.0.1:{free_port()}/x"
    if value is not None:
        env["AUTOCLOCK_NOTIFY_CHANNEL_HOOK"] = value
    result = _run("notify", "test", "hook", **env)
    assert result.returncode == code
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_worker_refuses_a_named_channel_that_is_not_set(redis_url, namespace, tmp_path):
    rules = write_team(tmp_path / "team", ["pager"])
    result = _run(
        "worker",
        REDIS_URL=redis_url,
        AUTOCLOCK_NAMESPACE=namespace,
        AUTOCLOCK_RULES_DIR=str(rules),
        WEBWORK_TOKEN="tok-" + "a" * 40,
        WEBWORK_WORKSPACE_ID="1",
        WEBWORK_BASE_URL=f"http://127.0.0.1:{free_port()}/api/v2",
    )
    assert result.returncode == 3, result.stderr
    assert "AUTOCLOCK_NOTIFY_CHANNEL_PAGER: not set" in result.stderr


def test_the_notifier_reports_its_liveness(settings, redis_client, tmp_path):
    from worker.notify.runtime import build_notifier
    from worker.rules.load import load_ruleset

    rules = write_team(tmp_path / "team", [])
    notifier = build_notifier(settings, redis_client, load_ruleset(rules))
    assert notifier.problems() == ["the notification consumer is not running"]
    notifier.start(1)
    try:
        assert notifier.problems() == []
    finally:
        notifier.stop()
    assert notifier.problems() == ["the notification consumer is not running"]
