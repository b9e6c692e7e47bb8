"""The one compare-and-delete script behind every token lock (person lock, scheduler leader,
fire claims, metrics designation): only the token's owner releases, against a real Redis."""

from __future__ import annotations

import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.metrics.cluster import Designation
from worker.pipeline.ledger import PersonLock
from worker.scheduler.claims import Claims
from worker.scheduler.leader import LeaderLock
from worker.store import COMPARE_AND_DELETE, Keys

tokens = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(holder=tokens, other=tokens)
def test_only_the_holder_deletes(redis_url: str, holder: str, other: str) -> None:
    client = redis.Redis.from_url(redis_url)
    script = client.register_script(COMPARE_AND_DELETE)
    key = f"test-cad:{holder.encode().hex()}:{other.encode().hex()}"[:200]
    try:
        assert script(keys=[key], args=[holder]) == 0  # nothing held: nothing deleted
        client.set(key, holder, px=60_000)
        if other != holder:
            assert script(keys=[key], args=[other]) == 0
            assert client.get(key) == holder.encode()
        assert script(keys=[key], args=[holder]) == 1
        assert client.exists(key) == 0
    finally:
        client.delete(key)
        client.close()


def test_every_lock_releases_only_its_own(redis_client: redis.Redis, namespace: str) -> None:
    keys = Keys(namespace)

    person = PersonLock(redis_client, keys, ttl_ms=60_000)
    token = person.acquire("ana@example.com")
    assert token is not None
    person.release("ana@example.com", "not-the-token")
    assert person.acquire("ana@example.com") is None  # still held
    person.release("ana@example.com", token)
    assert person.acquire("ana@example.com") is not None

    mine = LeaderLock(redis_client, keys("scheduler", "leader"), ttl_s=60)
    theirs = LeaderLock(redis_client, keys("scheduler", "leader"), ttl_s=60)
    assert mine.acquire()
    assert not theirs.release()
    assert mine.holder() == mine.token
    assert mine.release()
    assert mine.holder() is None

    first = Designation(redis_client, keys, ttl_s=60)
    second = Designation(redis_client, keys, ttl_s=60)
    assert first.held()
    second.release()
    assert not second.held()  # the first still holds it
    first.release()
    assert second.held()

    lock_key = keys("scheduler", "leader")
    ours = Claims(redis_client, keys, owner="ours", lock_key=lock_key, ttl_s=60)
    other = Claims(redis_client, keys, owner="other", lock_key=lock_key, ttl_s=60)
    assert ours.claim("fire-1")
    other.release("fire-1")  # not its claim: it stays
    assert ours.state("fire-1") == "pending:ours"
    ours.complete("fire-1")
    ours.release("fire-1")  # done is not a pending claim: it stays done
    assert ours.state("fire-1") == "done"
    assert ours.claim("fire-2")
    ours.release("fire-2")
    assert ours.state("fire-2") is None
