"""Odd subjects (``²``, Arabic-Indic digits, 5,000 digits) are "nobody", never an exception."""

from __future__ import annotations

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from tests.rules.conftest import SHIPPED
from worker.cli import main
from worker.rules.directory import Directory, Person

PEOPLE = Directory(
    [Person(email="dana@example.com", user_id=7001, badges=("12006465125",))],
    vendors={"kisi-hq": "kisi"},
)
ODD = st.text(
    st.characters(categories=["Nd", "No", "Nl", "Zs", "Cs", "So"]) | st.sampled_from("0123456789"),
    min_size=1,
    max_size=30,
)


@given(subject=ODD | st.text(max_size=30), source=st.none() | st.sampled_from(["webhook:kisi-hq"]))
def test_any_subject_is_someone_or_nobody(subject, source):
    person, how = PEOPLE.lookup(subject, source=source)
    assert person is None or person.email == "dana@example.com"
    assert how


def test_only_ascii_digits_are_webwork_user_ids():
    assert PEOPLE.resolve("7001") is not None
    arabic, devanagari = "\u0667\u0660\u0660\u0661", "\u096d\u0966\u0966\u0967"
    for subject in ("²", arabic, devanagari, "7001²", "9" * 5000):
        assert PEOPLE.lookup(subject) == (None, "no match")


def test_rules_explain_of_an_odd_subject_says_nobody(monkeypatch):
    monkeypatch.setenv("AUTOCLOCK_RULES_DIR", str(SHIPPED))
    result = CliRunner().invoke(main, ["rules", "explain", "--kind", "badge_in", "--subject", "²"])
    assert result.exit_code == 0, result.output
    assert "nobody: '²'" in result.output
    assert "unknown_person" in result.output
