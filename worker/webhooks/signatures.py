"""Webhook signatures: the one place that compares a presented MAC or token with a secret.

Every adapter (and a mapped source) verifies the same way:

- the MAC is computed for **every** active secret (several during a rotation) and compared
  with **every** presented value in constant time (:func:`hmac.compare_digest`), with no
  early exit, so timing says nothing about which secret or value came close;
- a presented value may be written in any of the scheme's ``encodings``: ``hex`` (either
  case) or ``base64`` (standard or URL-safe, padded or not);
- a signed timestamp is 1 to 12 ASCII digits, nothing else (:func:`check_timestamp`): no
  Unicode digits, no sign, no spaces inside; outside the replay window it is refused;
- anything refused raises :class:`~worker.webhooks.events.Reject` (401) with a reason that
  never contains a secret or a computed MAC.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

from worker.numbers import ascii_int
from worker.webhooks.events import Reject

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "Encoding",
    "check_timestamp",
    "digest_matches",
    "hmac_digest",
    "parse_timestamp",
    "tokens_match",
    "verify",
]

Encoding = Literal["hex", "base64"]
Algorithm = Literal["sha1", "sha256", "sha512"]

#: Hash algorithms a scheme may name.
ALGORITHMS: tuple[Algorithm, ...] = ("sha1", "sha256", "sha512")

#: Longest signed timestamp accepted, in digits (Unix seconds until the year 33658).
MAX_TIMESTAMP_DIGITS = 12


def _ascii(text: str) -> bytes:
    """Bytes to compare: non-ASCII characters (never part of a valid MAC) become ``?``."""
    return text.encode("ascii", "replace")


def hmac_digest(secret: str | bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    """HMAC of ``message`` with ``secret`` (a ``str`` is used as its UTF-8 bytes)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported HMAC algorithm {algorithm!r}")
    key = secret.encode("utf-8", "replace") if isinstance(secret, str) else secret
    return hmac.new(key, message, algorithm).digest()


def digest_matches(
    mac: bytes, presented: str, encodings: Sequence[Encoding] = ("hex", "base64")
) -> bool:
    """Constant-time check of ``presented`` against ``mac`` written in one of ``encodings``."""
    text = _ascii(presented.strip())
    ok = False
    if "hex" in encodings:
        ok |= hmac.compare_digest(mac.hex().encode(), text.lower())
    if "base64" in encodings:
        for encoded in (base64.b64encode(mac), base64.urlsafe_b64encode(mac)):
            ok |= hmac.compare_digest(encoded, text)
            ok |= hmac.compare_digest(encoded.rstrip(b"="), text)
    return ok


def verify(
    secrets: Iterable[str],
    message: bytes,
    presented: Iterable[str],
    *,
    algorithm: str = "sha256",
    encodings: Sequence[Encoding] = ("hex", "base64"),
    key: Callable[[str], bytes] | None = None,
) -> bool:
    """True when some presented value is the HMAC of ``message`` under some secret.

    Each secret with each presented value is compared (no early exit). ``key`` turns a secret
    into the HMAC key when the scheme says so (Standard Webhooks' ``whsec_<base64>``).
    """
    values = list(presented)
    ok = False
    for secret in secrets:
        mac = hmac_digest(key(secret) if key is not None else secret, message, algorithm)
        for value in values:
            ok |= digest_matches(mac, value, encodings)
    return ok


def tokens_match(secrets: Iterable[str], presented: str) -> bool:
    """Constant-time equality of a presented shared token with any of ``secrets``."""
    value = presented.strip().encode("utf-8", "replace")
    ok = False
    for secret in secrets:
        ok |= hmac.compare_digest(secret.encode("utf-8", "replace"), value)
    return ok


def parse_timestamp(raw: str, *, name: str) -> int:
    """A signed Unix timestamp in seconds: 1 to 12 ASCII digits (surrounding spaces allowed)."""
    value = ascii_int(raw.strip(), max_digits=MAX_TIMESTAMP_DIGITS)
    if value is None:
        raise Reject(401, f"{name} is not a Unix timestamp in seconds")
    return value


def check_timestamp(raw: str, *, now: float, tolerance_s: int, name: str) -> int:
    """:func:`parse_timestamp`, then the replay window: 401 when ``|now - ts| > tolerance_s``."""
    ts = parse_timestamp(raw, name=name)
    skew = now - ts
    if abs(skew) > tolerance_s:
        where = "old" if skew > 0 else "in the future"
        raise Reject(
            401,
            f"stale timestamp: {name} is {abs(int(skew))} s {where} (tolerance {tolerance_s} s)",
        )
    return ts
