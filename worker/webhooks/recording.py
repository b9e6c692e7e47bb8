"""A recorded webhook delivery (headers + raw body), as ``autoclock webhooks try`` reads it.

Two forms, told apart by the first character:

1. **HTTP message** (what ``curl -v``, a proxy or a request bin shows)::

       POST /hooks/acme-doors HTTP/1.1          <- optional request line
       Content-Type: application/json
       X-Acme-Signature: t=1767603505,v1=5f0c...

       {"id": "evt-1", "type": "door.unlock", ...}

   Header lines up to the first empty line (LF or CRLF), then the body. With a
   ``Content-Length`` header the body is exactly that many bytes; without one, the body is
   the rest of the file less **one** final line break (editors add one; senders rarely sign
   one). Lines starting with ``#`` before the first header are comments.

2. **JSON** (a file starting with ``{``)::

       {"headers": {"X-Acme-Signature": "t=...,v1=..."}, "body": "{\\"id\\": \\"evt-1\\"}"}

   ``body`` is the exact body text (a string, never re-serialised), or ``body_base64`` its
   bytes in base64. ``headers`` is an object or a list of ``[name, value]`` pairs.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Recording", "RecordingError", "parse_recording"]

_REQUEST_LINE = re.compile(rb"^[A-Z]+ \S+( HTTP/\d(\.\d)?)?$")
_HEADER = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$")


class RecordingError(ValueError):
    """The file is not a recording; ``line`` is where (1-based)."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"{line}: {reason}")


@dataclass(frozen=True)
class Recording:
    headers: dict[str, str]
    """Lower-case names; a repeated header's values joined with ``, `` (as HTTP allows)."""
    body: bytes
    path: str | None = None
    notes: list[str] = field(default_factory=list)
    """How the body was cut (for ``webhooks try`` to show)."""


def parse_recording(data: bytes) -> Recording:
    """Read either form; raises :class:`RecordingError` naming the line."""
    if data.lstrip()[:1] == b"{":
        return _from_json(data)
    return _from_message(data)


def _add(headers: dict[str, str], name: str, value: str) -> None:
    key = name.lower()
    headers[key] = f"{headers[key]}, {value}" if key in headers else value


def _header(line: bytes, number: int) -> tuple[str, str]:
    """One ``Name: value`` line."""
    match = _HEADER.match(line)
    if match is None:
        shown = line[:40].decode("utf-8", "replace")
        raise RecordingError(number, f"not a header line (Name: value): {shown!r}")
    try:
        value = match.group(2).decode("utf-8")
    except UnicodeDecodeError:
        raise RecordingError(number, "header value is not UTF-8") from None
    return match.group(1).decode("ascii"), value


def _read_headers(data: bytes) -> tuple[dict[str, str], str | None, int, int]:
    """The headers up to the first empty line: (headers, path, body offset, line number)."""
    headers: dict[str, str] = {}
    path: str | None = None
    position = 0
    number = 0
    started = False
    while True:
        number += 1
        end = data.find(b"\n", position)
        last = end < 0
        line = data[position : len(data) if last else end].removesuffix(b"\r")
        position = len(data) if last else end + 1
        if last and (not line or _HEADER.match(line)):
            raise RecordingError(number, "no empty line between the headers and the body")
        if not line:
            if not started:
                continue  # blank lines before the headers
            break
        if not started and line.startswith(b"#"):
            continue
        if not started and path is None and _REQUEST_LINE.match(line):
            path = line.split()[1].decode("ascii", "replace")
            started = True
            continue
        _add(headers, *_header(line, number))
        started = True
    if not headers:
        raise RecordingError(1, "no headers: a recording starts with the request's headers")
    return headers, path, position, number


def _cut_body(headers: dict[str, str], body: bytes, number: int) -> tuple[bytes, list[str]]:
    """The body by Content-Length, or less one final line break; with how it was cut."""
    notes: list[str] = []
    declared = headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise RecordingError(1, f"Content-Length is not a number: {declared[:20]!r}")
        length = int(declared.strip())
        if len(body) < length:
            raise RecordingError(
                number + 1, f"the body has {len(body)} bytes, Content-Length says {length}"
            )
        if len(body) > length:
            notes.append(f"body cut to Content-Length ({length} bytes)")
        body = body[:length]
    elif body.endswith(b"\r\n"):
        body = body[:-2]
        notes.append("one final line break (CRLF) of the file is not part of the body")
    elif body.endswith(b"\n"):
        body = body[:-1]
        notes.append("one final line break of the file is not part of the body")
    return body, notes


def _from_message(data: bytes) -> Recording:
    headers, path, position, number = _read_headers(data)
    body, notes = _cut_body(headers, data[position:], number)
    return Recording(headers, body, path, notes)


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
        raise RecordingError(line, f"not JSON: {exc}") from None
    except RecursionError:
        raise RecordingError(1, "not JSON: nested too deeply") from None
    if not isinstance(value, dict):
        raise RecordingError(1, "a JSON recording is an object with headers and body")
    unknown = sorted(set(value) - {"headers", "body", "body_base64", "path"})
    if unknown:
        raise RecordingError(1, f"unknown key {unknown[0]!r} (use headers, body or body_base64)")
    return value


def _json_headers(raw: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    if isinstance(raw, dict):
        pairs: list[Any] = [list(item) for item in raw.items()]
    elif isinstance(raw, list):
        pairs = raw
    else:
        raise RecordingError(1, "headers must be an object or a list of [name, value] pairs")
    for pair in pairs:
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise RecordingError(1, "headers: each entry is a [name, value] pair")
        name, text = pair
        if not isinstance(name, str) or not isinstance(text, str) or not name:
            raise RecordingError(1, "headers: names and values are text")
        _add(headers, name, text)
    return headers


def _json_body(value: dict[str, Any]) -> bytes:
    if ("body" in value) == ("body_base64" in value):
        raise RecordingError(1, "give exactly one of body (text) or body_base64")
    if "body" not in value:
        try:
            return base64.b64decode(str(value["body_base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise RecordingError(1, "body_base64 is not base64") from None
    if not isinstance(value["body"], str):
        raise RecordingError(
            1, "body must be the exact body text (a JSON string), not a parsed object"
        )
    try:
        return value["body"].encode("utf-8")
    except UnicodeEncodeError:
        raise RecordingError(1, "body holds a lone surrogate (not UTF-8 text)") from None


def _from_json(data: bytes) -> Recording:
    value = _json_object(data)
    headers = _json_headers(value.get("headers"))
    body = _json_body(value)
    path = value.get("path") if isinstance(value.get("path"), str) else None
    return Recording(headers, body, path)
