"""The mappings written in docs/webhooks.md work: each loads through ``rules check``, verifies a
delivery signed as the vendor documents it (signers in helpers.py, written from the vendors'
docs), and reads the vendor's documented sample as the built-in adapter does."""

from __future__ import annotations

import base64
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from tests.webhooks.helpers import (
    GENEA_AUDIT,
    GENEA_GRANTED,
    KISI_FAILED,
    KISI_UNLOCK,
    VERKADA_IN,
    VERKADA_OPENED,
    VERKADA_OUT,
    body_of,
    genea_headers,
    kisi_headers,
    standard_headers,
    verkada_headers,
)
from worker.rules.load import check_ruleset
from worker.rules.schema import SourcesFile, WebhookSource
from worker.webhooks.adapters import genea, kisi, mapped, verkada
from worker.webhooks.events import Delivery, Ignored, Reject, Scan

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_entries() -> list[dict]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), flags=re.S)
    return [entry for block in blocks for entry in yaml.safe_load(block).get("webhooks", [])]


ENTRIES = documented_entries()
SOURCES = {s.name: s for s in (WebhookSource.model_validate(e) for e in ENTRIES)}


def delivery(source: WebhookSource, secret: str, body: bytes, headers: dict[str, str]) -> Delivery:
    return Delivery(
        body=body,
        headers={k.lower(): v for k, v in headers.items()},
        secrets=[secret],
        source=source.name,
        allow_unsigned=False,
        now=time.time(),
        tolerance_s=300,
        spec=source,
    )


def test_every_documented_mapping_passes_rules_check(tmp_path):
    documented = {"acme-doors", "doors-std", "verkada-mapped", "genea-mapped", "kisi-mapped"}
    assert documented | {"doors-svix-like"} <= set(SOURCES)
    (tmp_path / "people.yaml").write_text("people: [{email: dana.ruiz@example.com}]\n")
    (tmp_path / "rules.yaml").write_text(
        "rules: [{name: r, on: {kind: badge_in}, do: {action: start}}]\n"
    )
    webhooks = ENTRIES
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"webhooks": webhooks}))
    ruleset, problems = check_ruleset(tmp_path)
    assert problems == []
    assert ruleset is not None
    assert SourcesFile.model_validate({"webhooks": webhooks}).webhooks


@pytest.mark.parametrize("sample", [VERKADA_IN, VERKADA_OUT])
def test_the_verkada_mapping_reads_what_the_verkada_adapter_reads(sample):
    source = SOURCES["verkada-mapped"]
    body = body_of(sample)
    headers = verkada_headers(body, "verkada-shared-secret")
    ours = mapped.receive(delivery(source, "verkada-shared-secret", body, headers))
    builtin = verkada.receive(delivery(source, "verkada-shared-secret", body, headers))
    assert isinstance(ours, Scan)
    assert isinstance(builtin, Scan)
    for name in ("event_id", "subject", "subject_kind", "occurred_at", "door_name", "door_id"):
        assert getattr(ours, name) == getattr(builtin, name), name
    assert ours.direction == builtin.direction
    assert ours.direction in ("in", "out")
    assert ours.zone == builtin.zone


def test_the_verkada_mapping_refuses_tampering_and_ignores_a_door_opening():
    source = SOURCES["verkada-mapped"]
    body = body_of(VERKADA_IN)
    headers = verkada_headers(body, "verkada-shared-secret")
    with pytest.raises(Reject) as caught:
        mapped.receive(delivery(source, "verkada-shared-secret", body + b" ", headers))
    assert caught.value.status == 401
    stale = verkada_headers(body, "verkada-shared-secret", ts=int(time.time()) - 600)
    with pytest.raises(Reject) as caught:
        mapped.receive(delivery(source, "verkada-shared-secret", body, stale))
    assert caught.value.reason.startswith("stale timestamp")
    opened = body_of(VERKADA_OPENED)
    parsed = mapped.receive(
        delivery(
            source,
            "verkada-shared-secret",
            opened,
            verkada_headers(opened, "verkada-shared-secret"),
        )
    )
    assert isinstance(parsed, Ignored)
    assert "door_opened" in parsed.reason


def test_the_genea_mapping_reads_what_the_genea_adapter_reads():
    source = SOURCES["genea-mapped"]
    body = body_of(GENEA_GRANTED)
    headers = genea_headers(body, "genea-webhook-secret")
    ours = mapped.receive(delivery(source, "genea-webhook-secret", body, headers))
    builtin = genea.receive(delivery(source, "genea-webhook-secret", body, headers))
    assert isinstance(ours, Scan)
    assert isinstance(builtin, Scan)
    for name in ("event_id", "subject", "subject_kind", "occurred_at", "door_name", "zone"):
        assert getattr(ours, name) == getattr(builtin, name), name
    audit = body_of(GENEA_AUDIT)
    ignored = mapped.receive(
        delivery(
            source, "genea-webhook-secret", audit, genea_headers(audit, "genea-webhook-secret")
        )
    )
    assert isinstance(ignored, Ignored)
    assert ignored.reason == "event type 'CREATED' is not accepted (SEQUR_ACCESS_GRANTED)"


def test_the_standard_webhooks_mapping_verifies_a_spec_signed_delivery():
    secret = "whsec_" + base64.b64encode(b"a-standard-webhooks-key-24b").decode()
    body = body_of(
        {
            "type": "door.access.granted",
            "timestamp": "2026-01-05T08:58:23Z",
            "data": {"email": "dana.ruiz@example.com", "direction": "out", "door": "HQ"},
        }
    )
    headers = standard_headers(body, secret, msg_id="msg_1")
    for name in ("doors-svix-like", "doors-std"):
        source = SOURCES[name]
        adapter = mapped.receive if source.vendor == "mapped" else _standard
        parsed = adapter(delivery(source, secret, body, headers))
        assert isinstance(parsed, Scan), name
        assert (parsed.event_id, parsed.subject, parsed.direction) == (
            "msg_1",
            "dana.ruiz@example.com",
            "out",
        )
        forged = replace(delivery(source, secret, body, headers), secrets=["whsec_AAAA"])
        with pytest.raises(Reject):
            adapter(forged)


def _standard(d: Delivery):
    from worker.webhooks.adapters import standard

    return standard.receive(d)


def test_the_kisi_mapping_reads_what_the_kisi_adapter_reads():
    source = SOURCES["kisi-mapped"]
    body = body_of(KISI_UNLOCK)
    headers = kisi_headers(body, "kisi-signing-key")
    ours = mapped.receive(delivery(source, "kisi-signing-key", body, headers))
    builtin = kisi.receive(delivery(source, "kisi-signing-key", body, headers))
    assert isinstance(ours, Scan)
    assert isinstance(builtin, Scan)
    for name in ("event_id", "subject", "subject_kind", "occurred_at", "door_name", "door_id"):
        assert getattr(ours, name) == getattr(builtin, name), name
    failed = body_of(KISI_FAILED)
    ignored = mapped.receive(
        delivery(source, "kisi-signing-key", failed, kisi_headers(failed, "kisi-signing-key"))
    )
    assert isinstance(ignored, Ignored)
    assert ignored.reason == "result false is not accepted (true)"
