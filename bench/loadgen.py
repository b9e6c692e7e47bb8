"""A small closed-loop HTTP/1.1 load generator on raw asyncio streams (keep-alive).

Lighter than an HTTP client library on purpose: on a 2-core machine the generator shares
the CPU with the server, and a heavy client would cap the baseline and flatter the ratio.
``concurrency`` connections each send one request, read the whole answer, and repeat; a
warm-up is discarded, then requests/s and latency (write → last byte) are measured.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.common import percentile

__all__ = ["LoadResult", "RequestFactory", "encode_request", "read_response", "run_load"]

#: ``(sequence number) -> (path, headers, body)`` for the next request.
RequestFactory = Callable[[int], tuple[str, dict[str, str], bytes]]


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    statuses: Counter[int]

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds

    @classmethod
    def merge(cls, parts: list[LoadResult]) -> LoadResult:
        """Several measured slices as one (requests and seconds add up)."""
        statuses: Counter[int] = Counter()
        for part in parts:
            statuses.update(part.statuses)
        return cls(
            sum(p.requests for p in parts),
            sum(p.seconds for p in parts),
            [ms for p in parts for ms in p.latencies_ms],
            statuses,
        )

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "per_s": self.per_s,
            "p50_ms": percentile(ordered, 50),
            "p99_ms": percentile(ordered, 99),
            "max_ms": ordered[-1] if ordered else float("nan"),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


def encode_request(host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _load(
    port: int, make: RequestFactory, concurrency: int, warmup_s: float, duration_s: float
) -> LoadResult:
    host = f"127.0.0.1:{port}"
    counter = iter(range(10**12))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    t_start = time.perf_counter() + warmup_s
    t_end = t_start + duration_s

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                path, headers, body = make(next(counter))
                request = encode_request(host, path, headers, body)
                sent = time.perf_counter()
                if sent >= t_end:
                    return
                writer.write(request)
                status = await read_response(reader)
                done = time.perf_counter()
                if sent >= t_start:
                    latencies.append((done - sent) * 1000)
                    statuses[status] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return LoadResult(len(latencies), duration_s, latencies, statuses)


def run_load(
    port: int,
    make: RequestFactory,
    *,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
) -> LoadResult:
    """Drive ``127.0.0.1:port`` for ``warmup_s + duration_s``; statistics over ``duration_s``."""
    return asyncio.run(_load(port, make, concurrency, warmup_s, duration_s))
