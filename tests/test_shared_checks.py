"""Checks written once and shared: the settings and the rules files accept and refuse the
same time-zone names in the same words; the conflict classifier's defaults are the settings'."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from worker.rules.schema import Defaults
from worker.settings import Settings
from worker.webwork.classify import Classifier

zones = st.one_of(
    st.sampled_from(["UTC", "Europe/Berlin", "America/Sao_Paulo", "Asia/Kolkata", "Etc/GMT+5"]),
    st.sampled_from(["Mars/Olympus", "Europe/Nowhere", "", " UTC", "../etc/passwd", "utc+1"]),
    st.text(alphabet="abcXYZ/_+-.0", max_size=12),
)


def _settings_problem(zone: str) -> str | None:
    try:
        Settings(_env_file=None, timezone=zone)  # type: ignore[call-arg]
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"])
    return None


def _rules_problem(zone: str) -> str | None:
    try:
        Defaults(timezone=zone)
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"])
    return None


@pytest.fixture(autouse=True)
def _no_timezone_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AUTOCLOCK_", "WEBWORK_")):
            monkeypatch.delenv(name)


@settings(max_examples=200, deadline=None)
@given(zone=zones)
def test_settings_and_rules_judge_a_zone_alike(zone: str) -> None:
    problem = _rules_problem(zone)
    assert _settings_problem(zone) == problem
    if problem is not None:
        assert repr(zone) in problem  # the message names the refused value


def test_classifier_defaults_are_the_settings_defaults() -> None:
    assert Classifier() == Classifier.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
