"""A process that makes a known set of Redis exchanges, for the tests of bench.redis_count.

``python -m bench.redis_count DIR -m tests.bench.chatter URL KEY``: connects and pings,
prints ``ready``, waits for a line on stdin, then makes three round trips (a SET, a pipeline
of SET, SET, GET, and an EVAL whose script runs a GET), prints ``done`` and waits to be
stopped (its counts keep being written meanwhile).
"""

from __future__ import annotations

import sys
import time

import redis


def main() -> None:
    url, key = sys.argv[1], sys.argv[2]
    client = redis.Redis.from_url(url)
    client.ping()
    print("ready", flush=True)
    sys.stdin.readline()
    client.set(f"{key}:a", "1")
    pipe = client.pipeline(transaction=False)
    pipe.set(f"{key}:b", "2")
    pipe.set(f"{key}:c", "3")
    pipe.get(f"{key}:a")
    pipe.execute()
    client.eval("return redis.call('GET', KEYS[1])", 1, f"{key}:a")
    print("done", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
