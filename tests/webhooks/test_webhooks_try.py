"""``autoclock webhooks try SOURCE FILE`` in a real process: the signature verdict, each
extracted field and the trigger, with nothing enqueued or recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.webhooks.helpers import KISI_UNLOCK, body_of, kisi_headers
from tests.webhooks.mapped_helpers import (
    SECRETS,
    SOURCES,
    SOURCES_YAML,
    acme_event,
    acme_headers,
    std_event,
    std_headers,
)
from worker.rules.schema import WebhookSource
from worker.settings import webhook_secret_env
from worker.webhooks.events import Delivery
from worker.webhooks.recording import RecordingError, parse_recording
from worker.webhooks.trial import try_delivery

NEW = SECRETS["acme-doors"].split(",")[1]


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "people.yaml").write_text(
        yaml.safe_dump({"people": [{"email": "dana.ruiz@example.com", "badges": ["12006465125"]}]})
    )
    (directory / "rules.yaml").write_text(
        yaml.safe_dump(
            {"rules": [{"name": "in", "on": {"kind": "badge_in"}, "do": {"action": "start"}}]}
        )
    )
    (directory / "sources.yaml").write_text(SOURCES_YAML)
    return directory


def run_try(
    rules: Path, redis_url: str, namespace: str, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "AUTOCLOCK_NAMESPACE": namespace,
        "AUTOCLOCK_RULES_DIR": str(rules),
        "AUTOCLOCK_LOG_FORMAT": "json",
        webhook_secret_env("acme-doors"): SECRETS["acme-doors"],
        webhook_secret_env("std-doors"): SECRETS["std-doors"],
    }
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", "webhooks", "try", *args],
        env=env,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def http_message(headers: dict[str, str], body: bytes) -> bytes:
    lines = ["POST /hooks/acme-doors HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body + b"\n"


def nothing_written(redis_client: redis.Redis, namespace: str) -> bool:
    return not list(redis_client.scan_iter(match=f"{namespace}*", count=1000))


def test_a_recorded_delivery_prints_the_trigger_without_enqueuing(
    tmp_path, rules, redis_url, namespace, redis_client
):
    body = acme_event("evt-rec-1")
    recording = tmp_path / "delivery.http"
    recording.write_bytes(http_message(acme_headers(body, NEW, ts=int(time.time()) - 86_400), body))
    done = run_try(rules, redis_url, namespace, "acme-doors", str(recording))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "signature:  verifies" in out
    assert "outside the replay window now: stale timestamp" in out
    assert 'subject      data.user.email  = "dana.ruiz@example.com"' in out
    assert 'result       data.result      = "granted"' in out
    assert "answer:     202 accepted" in out
    assert 'id: "webhook:acme-doors:evt-rec-1"' in out
    assert 'kind: "badge_in"' in out
    assert '"person": "dana.ruiz@example.com"' in out
    assert out.rstrip().endswith("nothing was enqueued or recorded")
    assert nothing_written(redis_client, namespace)


def test_a_tampered_recording_does_not_verify_and_exits_1(
    tmp_path, rules, redis_url, namespace, redis_client
):
    body = acme_event("evt-rec-2")
    headers = acme_headers(body, NEW)
    recording = tmp_path / "tampered.http"
    recording.write_bytes(http_message(headers, body.replace(b"granted", b"grantee")))
    done = run_try(rules, redis_url, namespace, "acme-doors", str(recording))
    assert done.returncode == 1
    assert "signature:  does not verify: bad signature" in done.stdout
    assert "answer:     401" in done.stdout
    assert "trigger:" not in done.stdout
    assert nothing_written(redis_client, namespace)


def test_a_failed_unlock_is_shown_as_ignored_with_its_reason(tmp_path, rules, redis_url, namespace):
    body = acme_event("evt-rec-3", result="denied")
    recording = tmp_path / "denied.http"
    recording.write_bytes(http_message(acme_headers(body, NEW), body))
    done = run_try(rules, redis_url, namespace, "acme-doors", str(recording), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verified"] is True
    assert report["answer"] == "200 ignored: result 'denied' is not accepted (granted)"
    assert report["trigger"] is None
    assert report["enqueued"] is False


def test_a_json_recording_of_a_standard_webhooks_delivery_from_stdin(
    rules, redis_url, namespace, redis_client
):
    body = std_event(email="dana.ruiz@example.com", direction="out", at="2026-01-05T17:02:11Z")
    headers = std_headers(body, SECRETS["std-doors"], msg_id="msg_2Lx")
    recording = json.dumps({"headers": headers, "body": body.decode()}).encode()
    done = run_try(rules, redis_url, namespace, "std-doors", "-", "--json", stdin=recording)
    assert done.returncode == 0, done.stderr
    trigger = json.loads(done.stdout)["trigger"]
    assert trigger["id"] == "webhook:std-doors:msg_2Lx"
    assert trigger["kind"] == "badge_out"
    assert trigger["subject"] == "dana.ruiz@example.com"
    assert trigger["occurred_at"] == "2026-01-05T17:02:11Z"
    assert nothing_written(redis_client, namespace)


def test_a_file_that_is_not_a_recording_is_a_file_line_error(tmp_path, rules, redis_url, namespace):
    recording = tmp_path / "broken.http"
    recording.write_text("POST /hooks/acme-doors HTTP/1.1\nX-Acme-Signature t=1\n\n{}")
    done = run_try(rules, redis_url, namespace, "acme-doors", str(recording))
    assert done.returncode == 1
    assert f"{recording}:2: not a header line" in done.stderr


def test_an_unknown_source_is_a_usage_error(tmp_path, rules, redis_url, namespace):
    recording = tmp_path / "x.http"
    recording.write_text("X-A: b\n\n{}")
    done = run_try(rules, redis_url, namespace, "acme", str(recording))
    assert done.returncode == 2
    assert "no webhook source 'acme'" in done.stderr


@pytest.mark.parametrize(
    ("data", "body"),
    [
        (b"X-A: 1\n\n{}\n", b"{}"),
        (b"X-A: 1\r\n\r\n{}\r\n", b"{}"),
        (b"X-A: 1\n\n{}\n\n", b"{}\n"),
        (b"# recorded 2026-01-05\nX-A: 1\nContent-Length: 2\n\n{}\n\n\n", b"{}"),
        (b"\nPOST /hooks/x HTTP/1.1\nX-A: 1\n\n{}", b"{}"),
        (b'{"headers": [["X-A", "1"]], "body": "{}\\n"}', b"{}\n"),
        (b'{"headers": {"X-A": "1"}, "body_base64": "e30="}', b"{}"),
    ],
)
def test_recordings_keep_the_body_bytes_exactly(data, body):
    recording = parse_recording(data)
    assert recording.body == body
    assert recording.headers["x-a"] == "1"


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b"X-A: 1\n{}", 2, "not a header line"),
        (b"X-A: 1", 1, "no empty line"),
        (b"X-A: 1\nContent-Length: 10\n\n{}", 4, "the body has 2 bytes"),
        (b'{"headers": {}, "body": {"a": 1}}', 1, "not a parsed object"),
        (b'{"headers": {}, "body": "{}", "extra": 1}', 1, "unknown key 'extra'"),
        (b'{"headers": {}\n, "body": ', 2, "not JSON"),
    ],
)
def test_malformed_recordings_name_the_line(data, line, reason):
    with pytest.raises(RecordingError) as caught:
        parse_recording(data)
    assert caught.value.line == line
    assert reason in caught.value.reason


@settings(max_examples=400, deadline=None)
@given(
    data=st.binary(max_size=300)
    | st.lists(
        st.sampled_from(
            [
                b"POST /h HTTP/1.1",
                b"X-A: 1",
                b"Content-Length: 2",
                b"Content-Length: x",
                b"",
                b"# c",
                b"{",
                b'{"headers": {}, "body": "x"}',
                b"\xff",
                b"a:b",
                b":",
            ]
        ),
        max_size=8,
    ).map(b"\n".join)
)
def test_any_bytes_are_a_recording_or_a_recording_error(data):
    """Never another exception (which `webhooks try` would show as a traceback)."""
    try:
        recording = parse_recording(data)
    except RecordingError as exc:
        error: RecordingError | None = exc
    else:
        error = None
    if error is not None:
        assert error.line >= 1
        assert error.reason
        return
    assert isinstance(recording.body, bytes)
    assert all(name == name.lower() for name in recording.headers)


def _trial_delivery(
    source: WebhookSource, secrets: list[str], body: bytes, headers: dict
) -> Delivery:
    return Delivery(
        body=body,
        headers={k.lower(): v for k, v in headers.items()},
        secrets=secrets,
        source=source.name,
        allow_unsigned=source.allow_unsigned,
        now=time.time(),
        tolerance_s=300,
        secret_env=webhook_secret_env(source.name),
        spec=source,
    )


def test_try_works_for_a_built_in_adapter_too():
    """A Kisi source: the signature verdict, the answer and the trigger, no fields listed."""
    source = WebhookSource(name="kisi-hq", vendor="kisi", doors={"Main Entrance": "in"})
    body = body_of(KISI_UNLOCK)
    good = try_delivery(source, _trial_delivery(source, ["k"], body, kisi_headers(body, "k")))
    bad = try_delivery(source, _trial_delivery(source, ["other"], body, kisi_headers(body, "k")))
    assert good.verified
    assert good.ok
    assert good.fields == []
    assert good.trigger is not None
    assert good.trigger.kind.value == "badge_in"
    assert good.trigger.id == "webhook:kisi-hq:5b0e8d9a-2f61-4c7e-9a3b-6d1f2e4c8a71"
    assert not bad.verified
    assert not bad.ok
    assert bad.answer == "401 signature does not verify: bad signature"
    assert bad.trigger is None


def test_try_without_a_secret_or_with_an_unusable_one_says_so():
    source = SOURCES.webhooks[2]  # std-doors: a Standard Webhooks source with fields
    body = std_event(email="dana.ruiz@example.com", direction="in", at="2026-01-05T08:58:23Z")
    headers = std_headers(body, SECRETS["std-doors"], msg_id="m")
    missing = try_delivery(source, _trial_delivery(source, [], body, headers))
    assert not missing.ok
    assert missing.signature == "cannot be checked: no secret in AUTOCLOCK_WEBHOOK_SECRET_STD_DOORS"
    assert [f for f, _, _ in missing.fields][:2] == ["event_type", "subject"]
    acme = next(s for s in SOURCES.webhooks if s.name == "acme-doors")
    b64 = acme.model_copy(
        update={"signature": acme.signature.model_copy(update={"key_encoding": "base64"})}
    )
    body = acme_event("e")
    unusable = try_delivery(
        b64, _trial_delivery(b64, ["not base64!"], body, acme_headers(body, NEW))
    )
    assert not unusable.verified
    assert "is not base64" in unusable.signature
    assert "not base64!" not in json.dumps(unusable.as_dict())
