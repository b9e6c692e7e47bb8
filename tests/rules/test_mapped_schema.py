"""``rules check`` on mapped sources: each mistake in signature: or fields: is a file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.rules.load import check_ruleset

GOOD = """\
webhooks:
  - name: doors
    vendor: mapped
    signature:
      algorithm: hmac-sha256
      encoding: hex
      header: X-Signature
      signed: "{timestamp}.{body}"
      timestamp: {header: X-Timestamp}
    fields:
      event_id: id
      event_type: type
      accept: {event_types: [door.unlock]}
      subject: data.user.email
      occurred_at: data.time
"""


def check(tmp_path: Path, sources: str) -> list[str]:
    (tmp_path / "people.yaml").write_text("people: [{email: dana.ruiz@example.com}]\n")
    (tmp_path / "rules.yaml").write_text(
        "rules: [{name: r, on: {kind: badge_in}, do: {action: start}}]\n"
    )
    (tmp_path / "sources.yaml").write_text(sources)
    return check_ruleset(tmp_path)[1]


def test_a_correct_mapping_has_no_problems(tmp_path):
    assert check(tmp_path, GOOD) == []


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        ("subject: data.user.email", "subject: data.[", 14, "not a JMESPath expression"),
        ("subject: data.user.email", "subject: a..b", 14, "not a JMESPath expression at column 3"),
        ("      subject: data.user.email\n", "", 10, "fields.subject: required key is missing"),
        ("      event_type: type\n", "", 10, "fields.event_type: required key is missing"),
        ("algorithm: hmac-sha256", "algorithm: hmac-md5", 5, "signature.algorithm"),
        ("encoding: hex", "encoding: base32", 6, "signature.encoding"),
        ('signed: "{timestamp}.{body}"', 'signed: "{ts}.{body}"', 4, "unknown placeholder {ts}"),
        ('signed: "{timestamp}.{body}"', 'signed: "{timestamp}"', 4, "must contain {body}"),
        ("      event_id: id\n", "", 2, "fields.event_id is required"),
        ("header: X-Signature", "header: X Signature", 7, "not an HTTP header name"),
        (
            "occurred_at: data.time",
            "occurred_at: data.time\n      occurred_at_format: dd/mm",
            16,
            "unknown time format 'dd/mm'",
        ),
        (
            "occurred_at: data.time",
            "occurred_at: data.time\n      occurred_at_format: '%d/%m'",
            10,
            "set occurred_at_timezone",
        ),
        ("accept: {event_types: [door.unlock]}", "accept: {event_types: []}", 13, "at least 1"),
        (
            "accept: {event_types: [door.unlock]}",
            "accept: {event_types: [x], results: [ok]}",
            10,
            "needs a result: expression",
        ),
    ],
)
def test_each_mistake_is_reported_with_its_line(tmp_path, old, new, line, reason):
    assert old in GOOD
    problems = check(tmp_path, GOOD.replace(old, new))
    assert problems, "no problem reported"
    where = f"{tmp_path / 'sources.yaml'}:{line}: "
    assert any(p.startswith(where) and reason in p for p in problems), problems


def test_signature_and_fields_belong_to_their_vendors(tmp_path):
    problems = check(
        tmp_path,
        "webhooks:\n  - name: k\n    vendor: kisi\n    fields: {event_type: t, subject: s,"
        " occurred_at: o, accept: {event_types: [x]}}\n  - name: m\n    vendor: mapped\n",
    )
    assert any(":2: " in p and "fields: is for vendors mapped and standard" in p for p in problems)
    assert any(":5: " in p and "vendor mapped needs a fields: block" in p for p in problems)


TWO_SYSTEMS = """\
webhooks:
  - name: hq-doors
    vendor: mapped
    allow_unsigned: true
    fields: {event_id: id, event_type: t, accept: {event_types: [x]}, subject: s, occurred_at: o}
  - name: garage-doors
    vendor: mapped
    allow_unsigned: true
    fields: {event_id: id, event_type: t, accept: {event_types: [x]}, subject: s, occurred_at: o}
"""


def test_an_id_of_one_mapped_system_never_names_a_person_from_another(tmp_path):
    """Two unrelated door systems both use vendor: mapped; their user ids are unrelated, so
    an id listed for one source must not resolve a subject sent by the other."""
    (tmp_path / "people.yaml").write_text(
        "people:\n  - email: dana.ruiz@example.com\n    vendor_ids: {hq-doors: '17'}\n"
    )
    (tmp_path / "rules.yaml").write_text(
        "rules: [{name: r, on: {kind: badge_in}, do: {action: start}}]\n"
    )
    (tmp_path / "sources.yaml").write_text(TWO_SYSTEMS)
    ruleset, problems = check_ruleset(tmp_path)
    assert problems == []
    assert ruleset is not None
    found = ruleset.directory.resolve("17", source="webhook:hq-doors")
    assert found is not None
    assert found.email == "dana.ruiz@example.com"
    assert ruleset.directory.resolve("17", source="webhook:garage-doors") is None


def test_vendor_ids_keyed_mapped_are_refused(tmp_path):
    (tmp_path / "people.yaml").write_text(
        "people:\n  - email: dana.ruiz@example.com\n    vendor_ids: {mapped: '17'}\n"
    )
    (tmp_path / "rules.yaml").write_text(
        "rules: [{name: r, on: {kind: badge_in}, do: {action: start}}]\n"
    )
    (tmp_path / "sources.yaml").write_text(TWO_SYSTEMS)
    problems = check_ruleset(tmp_path)[1]
    assert any(":3: " in p and "would match every mapped source" in p for p in problems), problems
