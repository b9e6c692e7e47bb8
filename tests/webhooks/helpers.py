"""Test helpers: vendor signatures built from the vendors' documented formats, samples, a server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
import uvicorn
from dramatiq import Message

from worker.store import Keys

SECRETS = {
    "kisi-hq": "kisi-signing-key",
    "verkada-hq": "verkada-shared-secret",
    "unifi-hq": "unifi-endpoint-secret",
    "genea-hq": "genea-webhook-secret",
    "std": "whsec_" + base64.b64encode(b"standard-webhooks-secret-24b+").decode(),
    "legacy": "legacy-shared-token",
    "webwork": "webwork-issued-token",
}


def body_of(payload: dict[str, Any] | str) -> bytes:
    return payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()


def _mac(secret: str | bytes, message: bytes, algo: Any = hashlib.sha256) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, algo).digest()


def kisi_headers(body: bytes, secret: str, *, encoding: str = "hex") -> dict[str, str]:
    mac = _mac(secret, body)
    value = mac.hex() if encoding == "hex" else base64.b64encode(mac).decode()
    return {"X-Signature": value, "Content-Type": "application/json"}


def verkada_headers(body: bytes, secret: str, *, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    sig = _mac(secret, body + b"|" + str(ts).encode()).hex()
    return {"Verkada-Signature": f"{ts}|{sig}", "Content-Type": "application/json"}


def unifi_headers(body: bytes, secret: str, *, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    sig = _mac(secret, str(ts).encode() + b"." + body).hex()
    return {"Signature": f"t={ts},v1={sig}", "Content-Type": "application/json"}


def genea_headers(body: bytes, secret: str) -> dict[str, str]:
    sig = _mac(secret, body, hashlib.sha1).hex()
    return {"x-sequr-signature": f"sha1={sig}", "Content-Type": "application/json"}


def standard_headers(
    body: bytes, secret: str, *, msg_id: str, ts: int | None = None
) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(_mac(key, f"{msg_id}.{ts}.".encode() + body)).decode()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": f"v1,{sig}",
        "Content-Type": "application/json",
    }


# ---------------------------------------------------------------- documented samples (triggers.md)

KISI_UNLOCK = (
    '{"uuid": "5b0e8d9a-2f61-4c7e-9a3b-6d1f2e4c8a71", "actor_type": "User", "actor_id": 482913,'
    ' "actor_name": "Dana Ruiz", "object_type": "Lock", "object_id": 31877, "object_name":'
    ' "Main Entrance", "organization_id": 5521, "place_id": 10442, "success": true, "type":'
    ' "lock.unlock", "error_code": null, "error_message": null,'
    ' "created_at": "2026-01-05T08:58:23Z"}'
)
KISI_FAILED = (
    '{"uuid": "9c4d1e7f-0a2b-4c3d-8e9f-1a2b3c4d5e6f", "actor_type": "User", "actor_id": 482913,'
    ' "actor_name": "Dana Ruiz", "object_type": "Lock", "object_id": 31877, "object_name":'
    ' "Main Entrance", "organization_id": 5521, "place_id": 10442, "success": false, "type":'
    ' "lock.unlock", "error_code": "<undocumented>", "error_message": "<undocumented>",'
    ' "created_at": "2026-01-05T22:14:02Z"}'
)

VERKADA_IN: dict[str, Any] = {
    "webhook_type": "notification",
    "webhook_id": "0b7c3f1e-6a2d-4a53-9c8e-3f2a8d1e4b11",
    "org_id": "6e1b2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "created_at": 1767603505,
    "data": {
        "notification_type": "door_keycard_entered_accepted",
        "event_id": "a4f9c2d1-7b3e-4e8a-9c10-2b7d5e6f8a90",
        "device_id": "c1d2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
        "device_type": "access_control",
        "door_id": "c1d2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
        "created": 1767603503,
        "direction": "Inbound",
        "input_value": "40|5990",
        "user_info": {
            "user_id": "3f8e2a10-1b2c-4d3e-9f40-5a6b7c8d9e01",
            "name": "Dana Ruiz",
            "email": "dana.ruiz@example.com",
            "first_name": "Dana",
            "last_name": "Ruiz",
        },
        "door_info": {
            "door_id": "c1d2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
            "name": "HQ - Lobby Turnstile",
            "acu_id": "15f0c39d-f3aa-4bad-b742-c86e3275b7a6",
            "acu_name": "ACU-01 Lobby",
            "site": {"site_id": "a02a6b27-85e6-41d5-90e6-88611802fd92", "name": "HQ"},
            "timezone": "America/Los_Angeles",
        },
        "aux_info": None,
        "lockdown_info": None,
    },
}
VERKADA_OUT: dict[str, Any] = {
    "webhook_type": "notification",
    "webhook_id": "0b7c3f1e-6a2d-4a53-9c8e-3f2a8d1e4b11",
    "org_id": "6e1b2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "created_at": 1767636012,
    "data": {
        "notification_type": "door_mobile_nfc_scan_accepted",
        "event_id": "e7d1c0b2-5a4f-4c3e-8d2b-1a0f9e8d7c6b",
        "device_id": "d9e8f7a6-b5c4-4d3e-a2f1-0e9d8c7b6a54",
        "device_type": "access_control",
        "door_id": "d9e8f7a6-b5c4-4d3e-a2f1-0e9d8c7b6a54",
        "created": 1767636010,
        "direction": "Outbound",
        "input_value": None,
        "user_info": {
            "user_id": "3f8e2a10-1b2c-4d3e-9f40-5a6b7c8d9e01",
            "name": "Dana Ruiz",
            "email": "dana.ruiz@example.com",
            "first_name": "Dana",
            "last_name": "Ruiz",
        },
        "door_info": {"door_id": "d9e8f7a6-b5c4-4d3e-a2f1-0e9d8c7b6a54", "name": "HQ - Lobby Exit"},
        "aux_info": None,
        "lockdown_info": None,
    },
}
VERKADA_OPENED: dict[str, Any] = {
    "webhook_type": "notification",
    "webhook_id": "0b7c3f1e-6a2d-4a53-9c8e-3f2a8d1e4b11",
    "org_id": "6e1b2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "created_at": 1767603507,
    "data": {
        "notification_type": "door_opened",
        "event_id": "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
        "device_id": "c1d2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
        "device_type": "access_control",
        "door_id": "c1d2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
        "created": 1767603505,
        "direction": None,
        "input_value": None,
        "user_info": None,
        "door_info": {
            "door_id": "c1d2e3f4-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
            "name": "HQ - Lobby Turnstile",
        },
        "aux_info": None,
        "lockdown_info": None,
    },
}

UNIFI_NFC: dict[str, Any] = {
    "event": "access.door.unlock",
    "event_object_id": "4a98adf6-dbb8-4312-9b8b-593f6eba8c8e",
    "data": {
        "location": {
            "id": "d2b87427-7efa-43c1-aa52-b00d40d99ecf",
            "location_type": "door",
            "name": "Front Door",
            "up_id": "62ff3aa1-ae96-4b6b-8eb5-44aadfd4aabd",
            "extras": {"uah-input_state_dps": "on"},
            "device_ids": None,
        },
        "device": {
            "id": "7483c2773855",
            "name": "UA-HUB-3855",
            "alias": "Front Door",
            "device_type": "UAH",
        },
        "actor": {
            "id": "d62e92fd-4b1c-4e5f-9a8b-7c6d5e4f3a21",
            "name": "Dana Ruiz",
            "type": "user",
        },
        "object": {
            "authentication_type": "NFC",
            "authentication_value": "04A1B2C3D4E5F6",
            "policy_id": "b1c2d3e4-269e-0d37-f2a7-4de452e6b438",
            "policy_name": "Staff",
            "reader_id": "0418d6a2bb7a",
            "result": "Access Granted",
        },
    },
}
UNIFI_WALLET: dict[str, Any] = {
    "event": "access.door.unlock",
    "event_object_id": "7c0e5b2a-91d4-4f63-a8e7-2b6c4d9f1e08",
    "data": {
        "location": {
            "id": "d2b87427-7efa-43c1-aa52-b00d40d99ecf",
            "location_type": "door",
            "name": "Front Door",
        },
        "device": {"id": "7483c2773855", "name": "UA-HUB-3855", "device_type": "UAH"},
        "actor": {"id": "a11b22c3-128b-2f33-0c5c-7fd0a6a3a450", "name": "Sam Lee", "type": "user"},
        "object": {
            "authentication_type": "WALLET_NFC_APPLE",
            "result": "Access Granted",
            "policy_name": "Staff",
            "reader_id": "0418d6a2bb7a",
        },
    },
}
UNIFI_DPS: dict[str, Any] = {
    "event": "access.device.dps_status",
    "event_object_id": "7483c2773855",
    "data": {
        "location": {"id": "d2b87427-7efa-43c1-aa52-b00d40d99ecf", "name": "Front Door"},
        "device": {"id": "7483c2773855"},
        "actor": {},
        "object": {"status": "open"},
    },
}

GENEA_GRANTED: dict[str, Any] = {
    "uuid": "66a1f0c2d64a99000414d61e",
    "event_time": "2026-01-05T16:58:23.000Z",
    "event_type": "ACCESS",
    "event_action": "SEQUR_ACCESS_GRANTED",
    "event_message": "Access Granted",
    "event_note": None,
    "actor": {
        "type": "USER",
        "user_location_uuid": "c2ab5ccb-5d9d-c9f8-1818-e811892f902b",
        "user_location_role": "USER",
        "user_uuid": "fc82ca24-123a-4f4c-8c0b-577000b15e53",
        "user_name": "Dana Ruiz",
        "user_email": "dana.ruiz@example.com",
        "user_avatar_url": None,
    },
    "location": {
        "uuid": "ce0ad974-81e7-4ef5-e8e2-5d940ed90475",
        "name": "Atlanta Office",
        "timezone": "America/New_York",
    },
    "controller": {
        "uuid": "6ab78574-6f03-675a-1600-a35a099950d8",
        "name": "00:0F:E5:0B:A5:4E",
        "mac": "00:0f:e5:0b:a5:4e",
        "model": "LP1502",
        "status": "ONLINE",
    },
    "card": {
        "uuid": "c5fcbcb3-1738-f7d9-3d9c-172411e20b8f",
        "type": "KEYCARD",
        "status": "ACTIVE",
        "card_number": "12006465125",
    },
    "created_at": "2026-01-05T16:58:24.346Z",
}
GENEA_AUDIT: dict[str, Any] = {
    "uuid": "12722658",
    "event_time": "2026-01-05T10:46:56.804Z",
    "event_type": "AUDIT",
    "event_action": "CREATED",
    "event_message": "Created Card 1111 for Aaron Arnold",
    "actor": {
        "type": "PERSON",
        "user_uuid": "e48d7bbe-d3ac-94af-0f21-ddb66cad4a26",
        "user_email": "admin@example.com",
    },
    "audit_resource": {
        "uuid": "e48d7bbe-3c8e-4382-94f1-ac5481b4a0e3",
        "name": "1111",
        "type": "CARD",
    },
}


# ---------------------------------------------------------------- queue and server


def queued_triggers(client: redis.Redis, keys: Keys) -> list[dict[str, Any]]:
    """Every trigger waiting on the Dramatiq triggers queue (the message hash) of ``keys``."""
    raw = client.hvals(f"{keys.dramatiq}:triggers.msgs")
    return [Message.decode(value).args[0] for value in raw]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only for
    # sockets that say so, and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("webhook server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def admin_for(app: Any) -> Any:
    """The admin listener's app for an in-process receiver: /healthz, /readyz (its
    readiness), /metrics (this process's metrics only)."""
    from worker.admin import Health, create_admin_app
    from worker.metrics import process_metrics

    return create_admin_app(
        liveness=Health, readiness=app.state.readiness, metrics=process_metrics().render
    )
