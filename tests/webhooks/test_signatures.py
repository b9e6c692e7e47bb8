"""The shared signature checks: strict timestamps, every secret, every encoding, no exceptions."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.numbers import ascii_int
from worker.webhooks.events import Reject
from worker.webhooks.signatures import (
    check_timestamp,
    digest_matches,
    parse_timestamp,
    tokens_match,
    verify,
)

NOW = 1_767_603_505
#: Unicode digits and other numeric characters that str.isdigit()/int() treat specially.
NUMERIC = st.characters(categories=["Nd", "No", "Nl"])
ANY_TEXT = st.text(st.characters(codec=None), max_size=40)


@given(st.text(NUMERIC, min_size=1, max_size=6).filter(lambda t: not t.isascii()))
def test_a_timestamp_of_unicode_digits_is_a_401_not_an_exception(raw):
    with pytest.raises(Reject) as caught:
        parse_timestamp(raw, name="t")
    assert caught.value.status == 401
    assert "not a Unix timestamp" in caught.value.reason


@given(ANY_TEXT)
def test_any_text_is_a_timestamp_or_a_401(raw):
    text = raw.strip()
    if text.isascii() and text.isdigit() and len(text) <= 12:
        assert parse_timestamp(raw, name="t") == int(text)
    else:
        with pytest.raises(Reject) as caught:
            parse_timestamp(raw, name="t")
        assert caught.value.status == 401


@pytest.mark.parametrize(
    "raw", ["²", "¹", "³|00", "١٧٦٧٦٠٣٥٠٥", "-1", "+1767603505", "1e9", "17676 03505", "9" * 4301]
)
def test_odd_timestamps_are_refused(raw):
    with pytest.raises(Reject):
        check_timestamp(raw, now=NOW, tolerance_s=300, name="t")


def test_the_replay_window_holds_both_ways():
    assert check_timestamp(f" {NOW - 300} ", now=NOW, tolerance_s=300, name="t") == NOW - 300
    for ts in (NOW - 301, NOW + 301):
        with pytest.raises(Reject, match="stale timestamp"):
            check_timestamp(str(ts), now=NOW, tolerance_s=300, name="t")


@given(st.text(max_size=30))
def test_ascii_int_never_raises_and_only_takes_ascii_digits(text):
    value = ascii_int(text)
    if value is not None:
        assert text.isascii()
        assert int(text) == value


def _mac(secret: str, message: bytes, algo=hashlib.sha256) -> bytes:
    return hmac.new(secret.encode(), message, algo).digest()


@given(
    secrets=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=3),
    which=st.integers(0, 2),
    encoding=st.sampled_from(["hex", "HEX", "b64", "b64url", "b64nopad"]),
    message=st.binary(max_size=64),
)
def test_any_active_secret_in_any_encoding_verifies(secrets, which, encoding, message):
    secret = secrets[which % len(secrets)]
    mac = hmac.new(secret.encode("utf-8", "replace"), message, hashlib.sha256).digest()
    presented = {
        "hex": mac.hex(),
        "HEX": mac.hex().upper(),
        "b64": base64.b64encode(mac).decode(),
        "b64url": base64.urlsafe_b64encode(mac).decode(),
        "b64nopad": base64.b64encode(mac).decode().rstrip("="),
    }[encoding]
    assert verify(secrets, message, ["garbage", presented])
    assert not verify(secrets, message + b"x", [presented])
    hex_only = verify(secrets, message, [presented], encodings=("hex",))
    assert hex_only == encoding.lower().startswith("hex")


@given(presented=ANY_TEXT, secrets=st.lists(st.text(max_size=20), max_size=3))
def test_hostile_presented_values_are_false_not_exceptions(presented, secrets):
    assert verify(secrets, b"{}", [presented], algorithm="sha1") in (True, False)
    assert tokens_match(secrets, presented) == (presented.strip() in secrets)
    assert digest_matches(b"\x00" * 32, presented) is False


def test_unknown_algorithm_is_refused():
    with pytest.raises(ValueError, match="unsupported HMAC algorithm"):
        verify(["k"], b"", ["x"], algorithm="md5")
