"""``autoclock webhooks`` serves the receiver from the rules; ``webhooks log`` shows decisions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml
from click.testing import CliRunner

from tests.ports import free_port
from tests.webhooks.helpers import KISI_UNLOCK, SECRETS, body_of, kisi_headers
from worker.cli import main


def write_rules(directory: Path, *, sources: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "people.yaml").write_text(
        yaml.safe_dump(
            {"people": [{"email": "dana.ruiz@example.com", "vendor_ids": {"kisi-hq": "482913"}}]}
        )
    )
    (directory / "rules.yaml").write_text(
        yaml.safe_dump(
            {
                "rules": [
                    {
                        "name": "badge-in-starts",
                        "on": {"kind": "badge_in"},
                        "do": {"action": "start"},
                    },
                ]
            }
        )
    )
    (directory / "sources.yaml").write_text(yaml.safe_dump(sources))
    return directory


def env_for(tmp_path: Path, redis_url: str, namespace: str, rules: Path) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "AUTOCLOCK_NAMESPACE": namespace,
        "AUTOCLOCK_RULES_DIR": str(rules),
        "AUTOCLOCK_DATA_DIR": str(tmp_path / "data"),
        "AUTOCLOCK_LOG_FORMAT": "json",
        "AUTOCLOCK_WEBHOOK_SECRET_KISI_HQ": SECRETS["kisi-hq"],
    }


def test_invalid_rules_refuse_to_start_with_exit_3(tmp_path, redis_url, namespace):
    """A sources.yaml with an unknown vendor stops `autoclock webhooks` with exit 3 and the line."""
    rules = write_rules(tmp_path / "rules", sources={"webhooks": [{"name": "x", "vendor": "acme"}]})
    result = CliRunner().invoke(
        main, ["webhooks"], env=env_for(tmp_path, redis_url, namespace, rules)
    )
    assert result.exit_code == 3, result.output
    assert "sources.yaml" in result.output


def test_serves_signed_webhooks_and_logs_the_decisions(tmp_path, redis_url, namespace):
    """The real command serves a signed Kisi unlock (202); `webhooks log --json` lists it."""
    rules = write_rules(
        tmp_path / "rules",
        sources={
            "webhooks": [{"name": "kisi-hq", "vendor": "kisi", "doors": {"Main Entrance": "both"}}]
        },
    )
    env = env_for(tmp_path, redis_url, namespace, rules)
    port = free_port()
    admin = f"http://127.0.0.1:{free_port()}"
    env["AUTOCLOCK_ADMIN_PORT"] = admin.rsplit(":", 1)[1]
    command = [
        str(Path(sys.executable).parent / "autoclock"),
        "webhooks",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(admin + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "autoclock webhooks did not start"
            time.sleep(0.1)
        assert httpx.get(admin + "/readyz").status_code == 200
        assert httpx.get(url + "/readyz").status_code == 404  # the public port: /hooks only
        body = body_of(KISI_UNLOCK)
        accepted = httpx.post(
            url + "/hooks/kisi-hq", content=body, headers=kisi_headers(body, SECRETS["kisi-hq"])
        )
        assert accepted.status_code == 202, accepted.text
        refused = httpx.post(url + "/hooks/kisi-hq", content=body, headers=kisi_headers(body, "x"))
        assert refused.status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=20)[0].decode()
    assert SECRETS["kisi-hq"] not in output

    result = CliRunner().invoke(main, ["webhooks", "log", "--json", "-n", "5"], env=env)
    assert result.exit_code == 0, result.output
    entries = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [(e["decision"], e["status"]) for e in entries] == [
        ("accepted", "202"),
        ("rejected", "401"),
    ]
    table = CliRunner().invoke(main, ["webhooks", "log"], env=env)
    assert "bad signature" in table.output
