"""Mapped sources for the tests, written as an operator writes them, and their own signers.

The signers here are independent of ``worker/``: they build each scheme from its description
(a vendor's docs or the Standard Webhooks spec), so a test can fail if the adapter reads the
configuration wrongly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import yaml

from tests.webhooks.helpers import serve
from worker.rules.schema import SourcesFile
from worker.settings import Settings
from worker.store import Keys

SOURCES_YAML = """
webhooks:
  # A door controller that signs like Stripe / UniFi: "t=<unix>,v1=<hex>" over "<t>.<body>".
  - name: acme-doors
    vendor: mapped
    doors: {"Lobby": both, "Garage": in}
    default_direction: null
    signature:
      algorithm: hmac-sha256
      encoding: hex
      header: X-Acme-Signature
      separator: ","
      prefix: "v1="
      signed: "{timestamp}.{body}"
      timestamp: {header: X-Acme-Signature, prefix: "t="}
    fields:
      event_id: id
      event_type: type
      result: data.result
      accept:
        event_types: [door.unlock]
        results: [granted]
      subject: data.user.email
      subject_kind: email
      occurred_at: data.time
      direction: data.direction
      door: data.door.name
      door_id: data.door.id
  # Body-only HMAC-SHA1 in base64 behind "sha1=", badge numbers, Unix-ms times (Genea-like).
  - name: sha1-badges
    vendor: mapped
    signature:
      algorithm: hmac-sha1
      encoding: base64
      header: X-Hub-Signature
      prefix: "sha1="
    fields:
      event_id: uuid
      event_type: event.action
      accept: {event_types: [ACCESS_GRANTED]}
      subject: card.number
      subject_kind: badge
      occurred_at: event.at_ms
      occurred_at_format: unix_ms
      door: reader
  # A Standard Webhooks sender with its own payload: door.access.granted, email and
  # direction under data.
  - name: std-doors
    vendor: standard
    fields:
      event_type: type
      accept: {event_types: [door.access.granted]}
      subject: data.email
      subject_kind: email
      occurred_at: timestamp
      direction: data.direction
      door: data.door
"""

SOURCES = SourcesFile.model_validate(yaml.safe_load(SOURCES_YAML))

SECRETS = {
    "acme-doors": "acme-secret-old,acme-secret-new",
    "sha1-badges": "badge-hub-secret",
    "std-doors": "whsec_" + base64.b64encode(b"std-doors-secret-bytes-32-long!!").decode(),
}


def acme_headers(body: bytes, secret: str, *, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Acme-Signature": f"t={ts},v1={mac}", "Content-Type": "application/json"}


def sha1_headers(body: bytes, secret: str) -> dict[str, str]:
    mac = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()
    return {"X-Hub-Signature": f"sha1={mac}", "Content-Type": "application/json"}


def std_headers(body: bytes, secret: str, *, msg_id: str, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": f"v1,{base64.b64encode(mac).decode()}",
        "Content-Type": "application/json",
    }


def acme_event(
    event_id: str,
    *,
    result: str = "granted",
    email: str = "dana.ruiz@example.com",
    direction: str | None = "in",
    door: str = "Lobby",
    at: str = "2026-01-05T08:58:23Z",
    kind: str = "door.unlock",
) -> bytes:
    data: dict[str, Any] = {
        "result": result,
        "user": {"email": email, "name": "Dana Ruiz"},
        "time": at,
        "door": {"name": door, "id": "d-17"},
    }
    if direction is not None:
        data["direction"] = direction
    return json.dumps({"id": event_id, "type": kind, "data": data}).encode()


def std_event(*, email: str, direction: str, at: str, kind: str = "door.access.granted") -> bytes:
    return json.dumps(
        {
            "type": kind,
            "timestamp": at,
            "data": {"email": email, "direction": direction, "door": "HQ turnstile"},
        }
    ).encode()


def serve_mapped(
    settings: Settings, client: Any, keys: Keys, queue: Any, directory: Any = None
) -> Iterator[str]:
    """The receiver with :data:`SOURCES` and :data:`SECRETS`, served on 127.0.0.1."""
    from worker.webhooks.app import create_app

    app = create_app(
        settings,
        client=client,
        keys=keys,
        sources=SOURCES,
        directory=directory,
        queue=queue,
        secrets=lambda name: [s for s in SECRETS.get(name, "").split(",") if s],
    )
    with serve(app) as url:
        yield url
