"""Seeds: the shipped sample, generated load-test seeds, and clear errors for broken files."""

from __future__ import annotations

import pytest

from worker.errors import ConfigError
from worker.sandbox import Seed


def test_sample_seed_matches_the_documented_example():
    """The sample holds the ids, emails, roles and contracts the example rules reference."""
    seed = Seed.sample()
    assert [(w.id, w.name) for w in seed.workspaces] == [(1, "Acme Demo")]
    emails = {m.id: (m.email, m.role) for m in seed.members}
    assert emails[1] == ("olivia.owner@example.com", "owner")
    assert emails[2] == ("evan.exec@example.com", "executive_manager")
    assert {uid for uid, (_, role) in emails.items() if role == "user"} == {42, 43, 44, 45, 46}
    assert seed.token_for_role("owner") == "sandbox-owner-token"
    assert seed.token_for_role("executive_manager") == "sandbox-exec-token"
    assert seed.token_for_role("user") == "sandbox-regular-token"
    assert {(c.id, c.user_id, c.project_id, c.status) for c in seed.contracts} >= {
        (20, 42, 10, "active"),
        (25, 43, 11, "paused"),
    }
    assert {(t.id, t.title) for t in seed.tasks} == {
        (5, "Front desk"),
        (6, "Night shift"),
        (7, "Tickets"),
    }
    assert {(leave.user_id, leave.status) for leave in seed.leaves} == {
        (42, "approved"),
        (44, "pending"),
    }


def test_synthetic_seed_for_load_tests():
    """n generated users, each with one active contract, plus the sample tokens."""
    seed = Seed.synthetic(3, start_user_id=5000)
    users = [m for m in seed.members if m.email.startswith("user")]
    assert [(m.id, m.email) for m in users] == [
        (5000, "user0@example.com"),
        (5001, "user1@example.com"),
        (5002, "user2@example.com"),
    ]
    assert {c.user_id: c.id for c in seed.contracts if c.user_id >= 5000} == {
        5000: 1_005_000,
        5001: 1_005_001,
        5002: 1_005_002,
    }
    assert seed.token_for_role("user") == "sandbox-regular-token"
    with pytest.raises(ValueError, match="collides"):
        Seed.synthetic(50, start_user_id=1)


def test_broken_seed_files_name_file_and_reason(tmp_path):
    """Invalid YAML, unknown fields and dangling references are ConfigErrors naming the file."""
    bad_yaml = tmp_path / "a.yaml"
    bad_yaml.write_text("workspaces: [\n")
    with pytest.raises(ConfigError, match=r"a\.yaml: invalid YAML"):
        Seed.from_file(bad_yaml)
    dangling = tmp_path / "b.yaml"
    dangling.write_text(
        "workspaces: [{id: 1, name: W}]\n"
        "members: [{id: 5, workspace_id: 1, email: a@example.com}]\n"
        "contracts: [{id: 9, user_id: 6, project_id: 3}]\n"
    )
    with pytest.raises(ConfigError, match="contract 9: unknown project 3"):
        Seed.from_file(dangling)
    typo = tmp_path / "c.yaml"
    typo.write_text("workspaces: [{id: 1, name: W, colour: red}]\nmembers: []\n")
    with pytest.raises(ConfigError, match="colour"):
        Seed.from_file(typo)
    with pytest.raises(ConfigError, match="cannot read"):
        Seed.from_file(tmp_path / "missing.yaml")
