"""The people directory: a trigger's subject resolves to the right person, in any form."""

from __future__ import annotations

from types import MappingProxyType

from worker.rules.directory import Directory, Person
from worker.rules.ruleset import Ruleset


def test_resolve_by_email_case_insensitive(shipped: Ruleset) -> None:
    """An email finds its person regardless of case and surrounding spaces."""
    person = shipped.directory.resolve("  Dana.Ruiz@EXAMPLE.com ")
    assert person is not None
    assert person.email == "dana.ruiz@example.com"


def test_resolve_by_badge_normalised(shipped: Ruleset) -> None:
    """A badge id finds its person stripped and case-insensitively, from any source."""
    for subject in ("04A1B2C3", " 04a1b2c3", "04A1b2C3\n"):
        person = shipped.directory.resolve(subject, source="webhook:door-legacy")
        assert person is not None
        assert person.email == "dana.ruiz@example.com"


def test_resolve_by_vendor_id_under_source_and_vendor(shipped: Ruleset) -> None:
    """A vendor user id is found under the webhook source's name, or its vendor's name."""
    directory = shipped.directory
    by_source = directory.resolve("482913", source="webhook:kisi-hq")
    assert by_source is not None
    assert by_source.email == "dana.ruiz@example.com"
    by_vendor = directory.resolve(
        "5D2C8A41-0B7E-4F63-9A1E-2F0C6B9D7E10", source="webhook:verkada-hq"
    )
    assert by_vendor is not None
    assert by_vendor.email == "sam.lee@example.com"
    assert directory.lookup("9f3b7c2e", source="webhook:unifi-hq")[1] == "unifi-hq id"
    # a vendor id means nothing from another vendor's source
    assert directory.resolve("9f3b7c2e", source="webhook:kisi-hq") is None


def test_resolve_by_webwork_user_id(shipped: Ruleset) -> None:
    """All digits that are no badge or vendor id name a configured WebWork user id."""
    person = shipped.directory.resolve("45", source="webhook:webwork")
    assert person is not None
    assert person.email == "alex.night@example.com"
    assert shipped.directory.resolve("999") is None
    assert shipped.directory.by_user_id(46) is not None


def test_unknown_subjects_resolve_to_nobody(shipped: Ruleset) -> None:
    """Unknown emails, badges and empty subjects resolve to None."""
    for subject in ("nobody@example.com", "FFFFFFFF", "", "   "):
        assert shipped.directory.resolve(subject) is None


def test_in_groups_lists_each_member_once_in_order(shipped: Ruleset) -> None:
    """Group selection returns every member once, in directory order."""
    emails = [p.email for p in shipped.directory.in_groups(["office", "night-shift", "office"])]
    assert emails == [
        "dana.ruiz@example.com",
        "sam.lee@example.com",
        "kim.park@example.com",
        "alex.night@example.com",
        "riley.lead@example.com",
    ]
    assert [p.email for p in shipped.directory.in_groups(["night-shift"])] == [
        "alex.night@example.com"
    ]
    assert shipped.directory.in_groups(["nobody"]) == []


def test_first_listed_wins_when_built_by_hand() -> None:
    """A Directory built in code with a shared badge resolves to the first person listed."""
    a = Person(email="a@example.com", badges=("X1",), vendor_ids=MappingProxyType({}))
    b = Person(email="b@example.com", badges=("x1",))
    assert Directory([a, b]).resolve("X1") == a
    assert len(Directory([a, b])) == 2


def test_large_directory_lookups_are_dictionary_reads() -> None:
    """10,000 people resolve by badge, email and user id (index lookups, not scans)."""
    people = [
        Person(email=f"p{i}@example.com", user_id=100_000 + i, badges=(f"B{i:06d}",))
        for i in range(10_000)
    ]
    directory = Directory(people)
    assert directory.resolve("b009999") is people[9999]
    assert directory.resolve("P5000@example.com") is people[5000]
    assert directory.resolve("100042") is people[42]
