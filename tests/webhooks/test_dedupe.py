"""A delivery that arrives twice makes one trigger; a failed enqueue never eats the retry."""

from __future__ import annotations

import httpx

from tests.webhooks.conftest import PEOPLE, SOURCES
from tests.webhooks.helpers import (
    KISI_UNLOCK,
    SECRETS,
    body_of,
    kisi_headers,
    queued_triggers,
    serve,
    standard_headers,
)
from worker.errors import QueueUnavailable
from worker.models import Trigger
from worker.pipeline.broker import TriggerQueue
from worker.webhooks.app import create_app


def test_duplicate_delivery_makes_exactly_one_trigger(http, redis_client, keys):
    """The same Kisi event sent three times: one 202, two 200 duplicates, one queued message."""
    body = body_of(KISI_UNLOCK)
    statuses = [
        http.post(
            "/hooks/kisi-hq", content=body, headers=kisi_headers(body, SECRETS["kisi-hq"])
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [202, 200, 200]
    assert len(queued_triggers(redis_client, keys)) == 1
    assert redis_client.hlen(f"{keys.dramatiq}:triggers.msgs") == 1


def test_standard_webhooks_id_dedupes_even_with_a_new_payload_id(http, redis_client, keys):
    """A resend with the same webhook-id is a duplicate even if the payload id differs."""
    for n in range(2):
        body = body_of(
            {
                "type": "badge.in",
                "id": f"p-{n}",
                "subject": "a@example.com",
                "occurred_at": "2026-11-02T08:00:00Z",
                "door": "Lobby",
            }
        )
        r = http.post(
            "/hooks/std",
            content=body,
            headers=standard_headers(body, SECRETS["std"], msg_id="msg_same"),
        )
        assert r.status_code == (202 if n == 0 else 200)
    assert len(queued_triggers(redis_client, keys)) == 1


class FlakyQueue(TriggerQueue):
    """A queue whose first ``failures`` enqueues fail as if Redis were down."""

    def __init__(self, inner: TriggerQueue, failures: int) -> None:
        super().__init__(inner.broker)
        self.failures = failures

    def enqueue(self, trigger: Trigger, *, delay_ms: int | None = None) -> str:
        if self.failures > 0:
            self.failures -= 1
            raise QueueUnavailable("cannot enqueue trigger: ConnectionError")
        return super().enqueue(trigger, delay_ms=delay_ms)


def test_failed_enqueue_is_503_and_the_retry_is_accepted(
    settings, redis_client, keys, queue, secrets_env
):
    """When the enqueue fails the answer is 503 + Retry-After; the vendor's retry then gets 202."""
    app = create_app(
        settings,
        client=redis_client,
        keys=keys,
        sources=SOURCES,
        directory=PEOPLE,
        queue=FlakyQueue(queue, failures=1),
    )
    body = body_of(KISI_UNLOCK)
    with serve(app) as url:
        first = httpx.post(
            url + "/hooks/kisi-hq", content=body, headers=kisi_headers(body, SECRETS["kisi-hq"])
        )
        second = httpx.post(
            url + "/hooks/kisi-hq", content=body, headers=kisi_headers(body, SECRETS["kisi-hq"])
        )
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "5"
    assert "retry" in first.json()["error"]
    assert second.status_code == 202, second.text
    triggers = queued_triggers(redis_client, keys)
    assert len(triggers) == 1
    # the retry is the day's first scan again (not a "double swipe" of the failed attempt)
    assert triggers[0]["kind"] == "badge_in"
