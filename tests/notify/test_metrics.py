"""``autoclock_notifications_total{result}``: every known result is served from 0, and a
notification delivered to a real receiver and one whose channel is down move it, counted where
the notification's own outcome is recorded."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.admin.scrape import Samples, value
from tests.notify.helpers import STAFF, wait_until, write_team
from tests.ports import free_port
from worker.admin.metrics import metrics_renderer
from worker.metrics import ProcessMetrics
from worker.metrics.cluster import NOTIFICATION_RESULTS
from worker.notify.model import Notice, NoticeResult, notice_id
from worker.notify.runtime import build_notifier
from worker.rules.load import load_ruleset
from worker.store import Keys

NAME = "autoclock_notifications_total"


def _notice(channel: str) -> Notice:
    about = f"test:{channel}"
    return Notice(
        id=notice_id(about, channel, STAFF),
        about=about,
        channel=channel,
        address=STAFF,
        recipient="person",
        person=STAFF,
        title="autoclock: a metrics test",
        body="Counted once it ends.",
    )


def test_the_known_results_are_the_notifications_results() -> None:
    assert set(NOTIFICATION_RESULTS) == {r.value for r in NoticeResult}


def test_a_delivered_and_a_failed_notification_move_the_counter(
    settings, redis_client, json_receiver, monkeypatch, tmp_path
):
    monkeypatch.setenv("AUTOCLOCK_NOTIFY_CHANNEL_HOOK", json_receiver.url())
    monkeypatch.setenv(
        "AUTOCLOCK_NOTIFY_CHANNEL_DOWN", f"json://hook:pw-0123456789@127.0.0.1:{free_port()}/x"
    )
    configured = settings.model_copy(update={"notify_max_attempts": 1})
    keys = Keys(configured.namespace)
    render, lease = metrics_renderer(redis_client, keys, process=ProcessMetrics())

    def scrape() -> Samples:
        found: Samples = {}
        for family in text_string_to_metric_families(render().decode()):
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return found

    before = scrape()
    for result in NOTIFICATION_RESULTS:
        assert (NAME, (("result", result),)) in before
        assert value(before, NAME, result=result) == 0

    rules = write_team(tmp_path / "team", ["hook", "down"])
    notifier = build_notifier(configured, redis_client, load_ruleset(rules))
    notifier.start(2)
    try:
        notifier.consumer.enqueue(_notice("hook"))
        notifier.consumer.enqueue(_notice("down"))

        def ended() -> bool:
            results = sorted(r.result.value for r in notifier.log.all())
            return results == ["failed", "sent"]

        assert wait_until(ended)
        assert len(json_receiver.posts) == 1
        after = scrape()
        assert value(after, NAME, result="sent") == 1
        assert value(after, NAME, result="failed") == 1
        assert value(after, NAME, result="retrying") == 0
        assert value(after, NAME, result="held") == 0
    finally:
        notifier.stop()
        lease.release()
