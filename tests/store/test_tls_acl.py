"""REDIS_URL with rediss:// (TLS) and an ACL user and password, as managed Redis services
require, works for every role; a wrong password is exit 4 without the password in the text.

The server is a local redis-server with a throw-away CA and certificate made by openssl."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import redis

from tests.ports import free_port
from worker.redisserver import RedisServer

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-pass-for-alice"  # a throw-away ACL password


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A TLS-only redis-server (no plain TCP port) with user alice; default user disabled.
    Yields (rediss URL without credentials, CA file)."""
    certs = tmp_path_factory.mktemp("certs")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.pem", "-days", "1", "-subj", "/CN=autoclock-test-ca", cwd=certs)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
             "server.csr", "-subj", "/CN=127.0.0.1", cwd=certs)  # fmt: skip
    (certs / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf",
             cwd=certs)  # fmt: skip
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = RedisServer.start(
        tmp_path_factory.mktemp("tls-redis"),
        config={
            "save": "",
            "appendonly": "no",
            "tls-port": str(port),
            "tls-cert-file": str(certs / "server.pem"),
            "tls-key-file": str(certs / "server.key"),
            "tls-ca-cert-file": str(certs / "ca.pem"),
            "tls-auth-clients": "no",
        },
    )
    with redis.Redis(unix_socket_path=str(server.socket)) as admin:
        admin.execute_command("ACL", "SETUSER", "alice", "on", f">{PASSWORD}", "~*", "&*", "+@all")
        admin.execute_command("ACL", "SETUSER", "default", "off")  # new connections must log in
    yield f"rediss://127.0.0.1:{port}/0", certs / "ca.pem"
    server.stop()


def _url(base: str, ca: Path, password: str = PASSWORD) -> str:
    rest = base.removeprefix("rediss://")
    return f"rediss://alice:{quote(password)}@{rest}?ssl_ca_certs={ca}&ssl_cert_reqs=required"


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WEBWORK_", "AUTOCLOCK_", "REDIS_URL"))
    }
    env.update(
        REDIS_URL=url,
        AUTOCLOCK_NAMESPACE="tls-test",
        AUTOCLOCK_RULES_DIR=str(REPO / "rules"),
        AUTOCLOCK_LOG_FORMAT="json",
        **extra,
    )
    return env


def test_the_server_refuses_without_credentials(tls_redis):
    base, ca = tls_redis
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(f"{base}?ssl_ca_certs={ca}").ping()


@pytest.mark.parametrize("role", ["worker", "webhooks", "scheduler", "run"])
def test_every_role_runs_on_rediss_with_an_acl_user(tls_redis, sandbox, tmp_path, role):
    base, ca = tls_redis
    admin_port = free_port()
    env = _env(
        _url(base, ca),
        AUTOCLOCK_ADMIN_PORT=str(admin_port),
        AUTOCLOCK_WEBHOOK_PORT=str(free_port()),
        WEBWORK_BASE_URL=sandbox.api_url,
        WEBWORK_TOKEN=sandbox.owner_token,
    )
    log = tmp_path / f"{role}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", role],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status != 200:
            assert process.poll() is None, log.read_text()[-3000:]
            with contextlib.suppress(httpx.TransportError):
                status = httpx.get(f"http://127.0.0.1:{admin_port}/readyz", timeout=2).status_code
            time.sleep(0.3)
        assert status == 200, log.read_text()[-3000:]
    finally:
        process.terminate()
        process.wait(timeout=60)
    text = log.read_text()
    assert PASSWORD not in text
    assert not (tmp_path / ".autoclock").exists()  # no embedded Redis started on the side


def test_tools_use_it_and_a_wrong_password_is_exit_4_without_the_password(tls_redis, tmp_path):
    base, ca = tls_redis
    ok = subprocess.run(
        [sys.executable, "-m", "worker.cli", "history"],
        env=_env(_url(base, ca)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    wrong = "wrong-password-value"
    bad = subprocess.run(
        [sys.executable, "-m", "worker.cli", "history"],
        env=_env(_url(base, ca, wrong)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 4, bad.stderr
    assert wrong not in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_webhook_delivery_is_accepted_over_rediss_with_an_acl_user(tls_redis, tmp_path):
    """The receiver's own asyncio connection (worker/webhooks/channel.py) logs in over TLS
    as the URL's ACL user: a signed delivery is accepted and its trigger queued."""
    from tests.webhooks.conftest import PEOPLE, SOURCES
    from tests.webhooks.helpers import SECRETS, queued_triggers, serve, standard_headers
    from worker.pipeline.broker import TriggerQueue, make_broker
    from worker.settings import Settings
    from worker.store import Keys, connect
    from worker.webhooks.app import create_app

    base, ca = tls_redis
    settings = Settings(
        redis_url=_url(base, ca),
        namespace="tls-hooks",
        data_dir=tmp_path / "d",
        rules_dir=tmp_path / "r",
        log_format="json",
    )
    handle = connect(settings)
    keys = Keys(settings.namespace)
    app = create_app(
        settings,
        client=handle.client,
        keys=keys,
        sources=SOURCES,
        directory=PEOPLE,
        queue=TriggerQueue(make_broker(handle.client, keys)),
        secrets=lambda name: [SECRETS[name]] if name in SECRETS else [],
    )
    body = (
        b'{"type": "badge.in", "subject": "a@example.com", "occurred_at": 1767603503,'
        b' "door": "Lobby"}'
    )
    headers = standard_headers(body, SECRETS["std"], msg_id="tls-1")
    try:
        with serve(app) as url:
            answer = httpx.post(f"{url}/hooks/std", content=body, headers=headers, timeout=10)
        assert answer.status_code == 202, answer.text
        assert [t["id"] for t in queued_triggers(handle.client, keys)] == ["webhook:std:tls-1"]
    finally:
        handle.close()
