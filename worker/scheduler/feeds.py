"""Fetch calendar feeds: conditional GET, a body hash, and the last good copy in Redis.

* URL feeds (``https://``, ``http://``, ``webcal://``) are fetched with ``If-None-Match`` /
  ``If-Modified-Since`` from the last good copy; a 304 keeps that copy. Servers' validators are
  not trusted alone: the SHA-256 of every 200 body is compared with the stored one, so
  ``changed`` is true only when the bytes changed.
* File feeds (``path``, relative to the rules directory) are read and hashed the same way.
* A URL is fetched under one total deadline (:data:`FEED_DEADLINE_S`, checked at every
  chunk; no single read waits longer than the time left), the body is streamed under a byte
  cap (:data:`MAX_FEED_BYTES`, also checked on ``Content-Length``), and at most
  :data:`MAX_REDIRECTS` redirects are followed, each only to ``http(s)`` and never from
  ``https`` down to ``http``. Error reasons never quote the response body.
* A body is accepted only if it parses as iCalendar. A failed fetch (network error, non-2xx,
  a body that is not a calendar, a missing file) keeps the last good copy, increments the
  source's failure count and records the reason in Redis (``scheduler:feed:<name>``), and is
  logged — with the URL's host only: feed URLs are credentials.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import redis

from worker.logs import get_logger
from worker.numbers import ascii_int
from worker.rules.schema import CalendarSource
from worker.scheduler.calendars import CalendarError, parse_calendar
from worker.store import Keys

__all__ = [
    "FEED_DEADLINE_S",
    "MAX_FEED_BYTES",
    "MAX_REDIRECTS",
    "FeedCopy",
    "FeedError",
    "FeedFetcher",
    "FeedHealth",
    "FeedResult",
    "download",
    "feed_health",
    "feed_host",
]

log = get_logger(__name__)

#: Largest feed body accepted, in bytes.
MAX_FEED_BYTES = 20 * 1024 * 1024
#: Longest one fetch may take, redirects and all, in seconds.
FEED_DEADLINE_S = 30.0
#: Most redirects followed for one fetch.
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FeedCopy:
    """The last good body of a feed, with its validators."""

    body: bytes
    sha256: str
    fetched_at: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FeedResult:
    """One fetch: the copy to use now (maybe the previous one), and what happened."""

    copy: FeedCopy | None
    changed: bool
    error: str | None = None
    not_modified: bool = False


def feed_host(source: CalendarSource) -> str:
    """What may be logged about a feed's location: the URL's host, or ``file``."""
    if source.url:
        return urlsplit(source.url).hostname or "?"
    return "file"


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class FeedHealth:
    """What ``autoclock status`` shows of one feed (all from Redis; never the URL or body)."""

    name: str
    host: str
    last_success: datetime | None
    """The last fetch that gave a good copy or a 304."""
    last_error: str
    last_error_at: datetime | None
    failures: int
    """Failed fetches since the last success."""
    copy_fetched_at: datetime | None
    """When the copy in use was downloaded (None: no good copy yet)."""

    def copy_age(self, now: datetime) -> timedelta | None:
        return None if self.copy_fetched_at is None else now - self.copy_fetched_at

    def as_dict(self, now: datetime) -> dict[str, Any]:
        age = self.copy_age(now)
        return {
            "feed": self.name,
            "host": self.host,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "last_error": self.last_error or None,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "failures": self.failures,
            "copy_age_s": None if age is None else int(age.total_seconds()),
        }


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def feed_health(client: redis.Redis, keys: Keys, source: CalendarSource) -> FeedHealth:
    """The health of ``source`` as the scheduler last recorded it."""
    fields = {
        _text(k) or "": _text(v) or ""
        for k, v in client.hgetall(keys("scheduler", "feed", source.name)).items()
        if (_text(k) or "") != "body"
    }
    return FeedHealth(
        name=source.name,
        host=feed_host(source),
        last_success=_instant(fields.get("checked_at") or fields.get("fetched_at")),
        last_error=fields.get("last_error", ""),
        last_error_at=_instant(fields.get("last_error_at")),
        failures=ascii_int(fields.get("failures", "")) or 0,
        copy_fetched_at=_instant(fields.get("fetched_at")),
    )


class FeedFetcher:
    """Fetch feeds and keep their last good copies under ``keys("scheduler", "feed", name)``."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        *,
        rules_dir: Path,
        http: httpx.Client | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        self.client = client
        self.keys = keys
        self.rules_dir = Path(rules_dir)
        self.http = http or httpx.Client(timeout=timeout_s, follow_redirects=False)

    def key(self, name: str) -> str:
        return self.keys("scheduler", "feed", name)

    def stored(self, name: str) -> FeedCopy | None:
        """The last good copy of feed ``name``, if there is one."""
        data = self.client.hgetall(self.key(name))
        fields = {_text(k) or "": v for k, v in data.items()}
        body = fields.get("body")
        if body is None:
            return None
        return FeedCopy(
            body=body if isinstance(body, bytes) else str(body).encode(),
            sha256=_text(fields.get("sha256")) or "",
            fetched_at=_text(fields.get("fetched_at")) or "",
            etag=_text(fields.get("etag")) or None,
            last_modified=_text(fields.get("last_modified")) or None,
        )

    def stored_sha(self, name: str) -> str | None:
        """The SHA-256 of feed ``name``'s last good copy (without reading the body)."""
        return _text(self.client.hget(self.key(name), "sha256")) or None

    def status(self, name: str) -> dict[str, str]:
        """Status fields of feed ``name``: sha256, fetched_at, last_error, failures …"""
        data = self.client.hgetall(self.key(name))
        return {
            _text(k) or "": _text(v) or "" for k, v in data.items() if (_text(k) or "") != "body"
        }

    def fetch(self, source: CalendarSource, now: datetime) -> FeedResult:
        """Fetch ``source`` once; never raises for a feed problem (it is in ``error``)."""
        previous = self.stored(source.name)
        try:
            body, etag, modified, not_modified = download(
                source, self.rules_dir, self.http, previous
            )
        except FeedError as exc:
            return self._failed(source, previous, str(exc), now)
        if not_modified and previous is not None:
            self.client.hset(self.key(source.name), mapping={"checked_at": now.isoformat()})
            return FeedResult(copy=previous, changed=False, not_modified=True)
        try:
            parse_calendar(body)
        except CalendarError as exc:
            # a URL's answer is never quoted: it may be some other service's page
            reason = (
                f"the answer from {feed_host(source)} is not an iCalendar file ({len(body)} bytes)"
                if source.url
                else str(exc)
            )
            return self._failed(source, previous, reason, now)
        digest = hashlib.sha256(body).hexdigest()
        copy = FeedCopy(
            body=body, sha256=digest, fetched_at=now.isoformat(), etag=etag, last_modified=modified
        )
        changed = previous is None or previous.sha256 != digest
        self.client.hset(
            self.key(source.name),
            mapping={
                "body": body,
                "sha256": digest,
                "fetched_at": copy.fetched_at,
                "checked_at": now.isoformat(),
                "etag": etag or "",
                "last_modified": modified or "",
                "failures": 0,
                "last_error": "",
            },
        )
        if changed:
            log.info(
                "calendar feed changed",
                feed=source.name,
                host=feed_host(source),
                sha256=digest[:12],
                size=len(body),
            )
        return FeedResult(copy=copy, changed=changed)

    def _failed(
        self, source: CalendarSource, previous: FeedCopy | None, reason: str, now: datetime
    ) -> FeedResult:
        key = self.key(source.name)
        failures = self.client.hincrby(key, "failures", 1)
        self.client.hset(key, mapping={"last_error": reason, "last_error_at": now.isoformat()})
        log.warning(
            "calendar feed failed; keeping the last good copy"
            if previous
            else "calendar feed failed; no good copy yet",
            feed=source.name,
            host=feed_host(source),
            reason=reason,
            failures=failures,
        )
        return FeedResult(copy=previous, changed=False, error=reason)

    def close(self) -> None:
        self.http.close()


class FeedError(Exception):
    """Why a feed could not be read (safe to log: it names the host, never the URL)."""


def download(
    source: CalendarSource,
    rules_dir: Path,
    http: httpx.Client,
    previous: FeedCopy | None = None,
    *,
    max_bytes: int = MAX_FEED_BYTES,
    deadline_s: float = FEED_DEADLINE_S,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[bytes, str | None, str | None, bool]:
    """Read a feed: ``(body, etag, last_modified, not_modified)``; :class:`FeedError` on failure.

    With ``previous``, the request is conditional; a 304 returns ``not_modified=True`` and an
    empty body. Error messages name the URL's host only.
    """
    if source.path is not None:
        path = Path(source.path)
        if not path.is_absolute():
            path = Path(rules_dir) / path
        try:
            return path.read_bytes(), None, None, False
        except OSError as exc:
            raise FeedError(f"cannot read {source.path}: {exc.strerror}") from None
    assert source.url is not None
    url = source.url
    if url.startswith("webcal://"):
        url = "https://" + url[len("webcal://") :]
    headers = {"Accept": "text/calendar, */*;q=0.5"}
    if previous is not None:
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
    return _fetch_url(url, headers, http, max_bytes=max_bytes, deadline_s=deadline_s, clock=clock)


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def _fetch_url(
    url: str,
    headers: dict[str, str],
    http: httpx.Client,
    *,
    max_bytes: int,
    deadline_s: float,
    clock: Callable[[], float],
) -> tuple[bytes, str | None, str | None, bool]:
    end = clock() + deadline_s
    late = f"no complete answer within {deadline_s:g} s"
    for _hop in range(MAX_REDIRECTS + 1):
        host = _host(url)
        remaining = end - clock()
        if remaining <= 0:
            raise FeedError(f"{late} from {host}")
        try:
            with http.stream(
                "GET", url, headers=headers, follow_redirects=False, timeout=remaining
            ) as response:
                if response.status_code in _REDIRECTS:
                    url = _redirect_target(url, response.headers.get("Location"))
                    continue
                if response.status_code == 304:
                    return b"", None, None, True
                if response.status_code != 200:
                    raise FeedError(f"HTTP {response.status_code} from {host}")
                declared = ascii_int(
                    response.headers.get("Content-Length", "").strip(), max_digits=20
                )
                if declared is not None and declared > max_bytes:
                    raise FeedError(f"feed from {host} is larger than {max_bytes} bytes")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise FeedError(f"feed from {host} is larger than {max_bytes} bytes")
                    if clock() > end:
                        raise FeedError(f"{late} from {host}")
                etag = response.headers.get("ETag")
                return bytes(body), etag, response.headers.get("Last-Modified"), False
        except httpx.TimeoutException:
            raise FeedError(f"{late} from {host}") from None
        except httpx.HTTPError as exc:
            # never str(exc): httpx errors may carry the URL, which is a credential
            raise FeedError(f"{type(exc).__name__} from {host}") from None
    raise FeedError(f"more than {MAX_REDIRECTS} redirects, the last from {_host(url)}")


def _redirect_target(url: str, location: str | None) -> str:
    """Where a redirect from ``url`` leads; :class:`FeedError` unless it is allowed."""
    host = _host(url)
    if not location:
        raise FeedError(f"redirect without a Location from {host}")
    target = urljoin(url, location.strip())
    scheme = urlsplit(target).scheme.lower()
    if scheme not in ("http", "https"):
        raise FeedError(f"redirect from {host} to a {scheme or 'schemeless'} URL refused")
    if scheme == "http" and urlsplit(url).scheme.lower() == "https":
        raise FeedError(f"redirect from {host} down from https to http refused")
    return target
