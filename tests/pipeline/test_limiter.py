"""The shared API budget in Redis: a 429 stops every caller, and no 60 s window exceeds rpm."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr

from worker.errors import RateLimited
from worker.pipeline.limiter import GRACE_MS, RateLimiter
from worker.sandbox.seed import Seed
from worker.store import Keys
from worker.webwork.client import WebWorkClient


def test_a_429_from_the_sandbox_pauses_every_limiter_sharing_the_budget(
    sandbox_factory, redis_client, namespace
):
    """After one caller meets a 429, another process's limiter waits for Retry-After too."""
    sandbox = sandbox_factory(seed=Seed.synthetic(1), rpm=2)
    first = RateLimiter(redis_client, Keys(namespace), rpm=100_000)
    other = RateLimiter(redis_client, Keys(namespace), rpm=100_000)  # e.g. another worker
    assert other.wait_ms("before") == 0
    client = WebWorkClient(base_url=sandbox.api_url, token=SecretStr(sandbox.owner_token))
    try:
        for _ in range(2):
            client.current(workspace_id=1, user_id=1000)
        with pytest.raises(RateLimited) as caught:
            client.current(workspace_id=1, user_id=1000)
    finally:
        client.close()
    first.pause(caught.value.retry_after_s)
    wait = other.wait_ms("after")
    assert wait >= caught.value.retry_after_s * 1000 - 100
    assert [c.status for c in sandbox.control.calls()] == [200, 200, 429]


@pytest.mark.parametrize("rpm", [60, 600])
def test_slots_keep_every_60_s_window_within_rpm_even_when_callers_are_late(
    redis_client, namespace, rpm
):
    """Reserved slots, each used up to the grace late, never put more than rpm calls in 60 s."""
    limiter = RateLimiter(redis_client, Keys(namespace), rpm=rpm)
    slots = sorted(time.monotonic() * 1000 + limiter.wait_ms(f"holder-{i}") for i in range(3 * rpm))
    # A call leaves between its slot and slot + grace; waits are rounded up to whole ms.
    window = 60_000 + GRACE_MS - 2
    most = max(sum(1 for s in slots if start <= s < start + window) for start in slots[: 2 * rpm])
    assert most <= rpm
    assert most >= rpm - 2  # and the budget is not wasted either


def test_a_reserved_slot_is_kept_for_its_holder(redis_client, namespace):
    """A caller told to wait gets its slot when it comes back, not a place at the end."""
    limiter = RateLimiter(redis_client, Keys(namespace), rpm=6000)
    assert limiter.wait_ms("a") == 0
    wait = limiter.wait_ms("b")
    assert 0 < wait <= 20
    for i in range(5):
        assert limiter.wait_ms(f"c{i}") > wait
    time.sleep(wait / 1000 + 0.05)
    assert limiter.wait_ms("b") == 0


@pytest.mark.parametrize(("rpm", "burst"), [(10, 10), (60, 5), (60, 60)])
def test_a_burst_goes_at_once_and_no_window_holds_more_than_rpm(
    redis_client, namespace, rpm, burst
):
    """WEBWORK_BURST: up to `burst` calls at once; still ≤ rpm calls in any 60 s (+ grace)."""
    limiter = RateLimiter(redis_client, Keys(namespace), rpm=rpm, burst=burst)
    now = time.monotonic() * 1000
    slots = sorted(time.monotonic() * 1000 + limiter.wait_ms(f"h{i}") for i in range(2 * rpm))
    assert sum(1 for s in slots if s - now < 50) == burst  # the burst went at once
    # a call leaves between its slot and slot + grace; clocks differ by a few ms
    window = 60_000 + GRACE_MS - 10
    most = max(sum(1 for s in slots if start <= s < start + window) for start in slots)
    assert most <= rpm
    if burst == rpm:  # a full burst: the ideal, one minute (plus the grace) per rpm calls
        assert slots[-1] - now == pytest.approx(60_000 + GRACE_MS, abs=100)


def test_25_calls_at_10_rpm_with_a_burst_of_10_take_about_2_minutes(redis_client, namespace):
    """The case from issue 12: evenly spaced, 25 calls at 10 rpm need 163 s of slots; with
    WEBWORK_BURST=10 they need 122 s (two full windows plus the grace)."""
    spaced = RateLimiter(redis_client, Keys(namespace + "-a"), rpm=10)
    burst = RateLimiter(redis_client, Keys(namespace + "-b"), rpm=10, burst=10)
    last_spaced = max(spaced.wait_ms(f"s{i}") for i in range(25))
    last_burst = max(burst.wait_ms(f"b{i}") for i in range(25))
    print(
        f"25 calls at 10 rpm: last slot after {last_spaced / 1000:.0f} s evenly spaced, "
        f"{last_burst / 1000:.0f} s with a burst of 10"
    )
    assert 160_000 < last_spaced < 166_000
    assert 120_000 <= last_burst <= 124_000
