"""Every console page against a real Redis with a recorded demo-like day: what it shows,
and that no query string makes it answer 5xx."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.console.conftest import DANA, SAM, record_demo_day
from worker.models import Action, Result, Trigger, TriggerKind, Verb
from worker.pipeline.broker import ACTIONS_QUEUE
from worker.pipeline.dlq import DeadLetters
from worker.store import Keys

DAY = "2026-12-02"


@pytest.fixture
def demo(console_factory, redis_client: redis.Redis, namespace: str):
    record_demo_day(redis_client, namespace)
    return console_factory(console_actions=True)


def test_now_lists_everyone_with_state_last_outcome_and_filters(demo) -> None:
    page = demo.get("/now")
    assert page.status_code == 200
    rows = re.findall(r'<tr data-person="([^"]+)"', page.text)
    assert sorted(rows) == sorted(
        [DANA, SAM, "kim.park@example.com", "alex.night@example.com", "riley.lead@example.com"]
    )
    sam_row = page.text.split(f'data-person="{SAM}"')[1].split("</tr>")[0]
    assert "stopped" in sam_row
    assert "rule &#39;end-of-day&#39;" in sam_row
    assert "schedule:end-of-day" in sam_row  # next scheduled fire
    office = demo.get("/now?group=office").text
    assert "alex.night@example.com" not in office
    assert SAM in office
    chicago = demo.get("/now?zone=America/Chicago").text
    assert re.findall(r'<tr data-person="([^"]+)"', chicago) == ["kim.park@example.com"]
    assert demo.get("/now?group=nobody").status_code == 400


def test_person_day_draws_bars_marks_and_flags(demo) -> None:
    sam = demo.get(f"/people/{SAM}?date={DAY}")
    assert sam.status_code == 200
    svg = sam.text.split('<svg class="timeline"')[1].split("</svg>")[0]
    assert 'class="tracked tracked-open"' in svg  # already running when first seen
    assert 'class="badge badge-in"' in svg
    assert 'class="action action-ok"' in svg
    assert 'class="action action-noop"' in svg
    assert 'class="fire"' in svg  # the end-of-day schedule fire
    assert 'data-code="stop-by-schedule"' in sam.text
    dana = demo.get(f"/people/{DANA}?date={DAY}")
    svg = dana.text.split('<svg class="timeline"')[1].split("</svg>")[0]
    assert 'class="shift"' in svg
    assert 'class="badge badge-out"' in svg
    assert 'class="badge badge-in badge-ignored"' in svg  # the badge-in that changed nothing
    assert "Nothing to review." in dana.text
    tracked = dana.text.split('id="tracked"')[1].split("</table>")[0]
    assert "08:55" in tracked
    assert "17:31" in tracked


def test_person_day_bad_input_is_a_clear_4xx(demo) -> None:
    assert demo.get("/people/nobody@example.com").status_code == 404
    answer = demo.get(f"/people/{DANA}?date=2026-13-45")
    assert answer.status_code == 400
    assert "YYYY-MM-DD" in answer.text


def test_outcomes_filters_and_live_rows(demo) -> None:
    stopped = demo.get("/outcomes?result=stopped")
    assert stopped.status_code == 200
    assert stopped.text.count('<tr data-result="stopped">') == 2
    assert 'data-result="no_rule"' not in stopped.text
    assert 'hx-get="/outcomes/rows?result=stopped"' in stopped.text
    only_sam = demo.get(f"/outcomes/rows?person={SAM}").text
    assert only_sam.count("<tr data-result") == 2
    assert DANA not in only_sam
    by_source = demo.get("/outcomes/rows?source=schedule:end-of-day").text
    assert by_source.count("<tr data-result") == 2
    assert "explain" in by_source
    assert demo.get("/outcomes?result=bogus").status_code == 400


def test_one_click_explanation_from_an_outcome(demo) -> None:
    rows = demo.get("/outcomes/rows?result=stopped&person=" + SAM).text
    link = re.search(r'href="(/rules\?kind=tick[^"]+)"', rows)
    assert link is not None
    explained = demo.get(link.group(1).replace("&amp;", "&"))
    assert explained.status_code == 200
    assert 'id="verdicts"' in explained.text
    assert "rule &#39;end-of-day&#39;: stop for sam.lee@example.com" in explained.text


def test_rules_page_lists_files_and_explains(demo) -> None:
    page = demo.get("/rules")
    assert page.status_code == 200
    for name in ("people.yaml", "sources.yaml", "rules.yaml", "calendars/team-shifts.ics"):
        assert f"<code>{name}</code>" in page.text
    assert "None: the files on disk load cleanly." in page.text
    answer = demo.get(
        "/rules?kind=badge_in&subject=04A1B2C3&source=webhook:kisi-hq&at=2026-12-02T08:58&tracking=no"
    )
    assert "rule &#39;badge-in&#39;: start for dana.ruiz@example.com" in answer.text
    assert demo.get("/rules?kind=nope&subject=x").status_code == 400
    assert demo.get("/rules?kind=badge_in&subject=x&at=yesterday").status_code == 400


def test_health_shows_redis_queues_and_api(demo) -> None:
    page = demo.get("/health")
    assert page.status_code == 200
    redis_table = page.text.split('id="redis"')[1].split("</table>")[0]
    assert ">ok<" in redis_table
    assert "no scheduler leader" in page.text
    assert "team-shifts" in page.text
    counts = page.text.split('id="outcome-counts"')[1].split("</table>")[0]
    assert "r-stopped" in counts
    queues = page.text.split('id="queues"')[1].split("</table>")[0]
    assert "triggers" in queues
    assert "actions" in queues
    api = page.text.split('id="api"')[1].split("</table>")[0]
    assert "no 401/403" in api
    assert "idle: the next call may go now" in api


def test_health_shows_how_far_ahead_the_shared_budget_is_promised(
    demo, redis_client: redis.Redis, namespace: str
) -> None:
    from worker.pipeline.limiter import RateLimiter

    limiter = RateLimiter(redis_client, Keys(namespace), rpm=60)
    for n in range(5):  # five callers take or reserve the next slots, one second apart
        limiter.wait_ms(f"caller-{n}")
    api = demo.get("/health").text.split('id="api"')[1].split("</table>")[0]
    promised = re.search(r"slots promised ([0-9.]+) s ahead \(about (\d+) calls\)", api)
    assert promised is not None, api
    assert 3.0 <= float(promised.group(1)) <= 6.0
    assert 3 <= int(promised.group(2)) <= 5


def _dead_letter(client: redis.Redis, namespace: str) -> str:
    trigger = Trigger(
        id="t-dlq",
        source="manual",
        kind=TriggerKind.BADGE_IN,
        subject="riley.lead@example.com",
        occurred_at=datetime(2026, 12, 2, 9, tzinfo=UTC),
    )
    action = Action(
        trigger=trigger,
        delivery_id="delivery-dlq-0001",
        person="riley.lead@example.com",
        verb=Verb.START,
        rule="badge-in",
    )
    return DeadLetters(client, Keys(namespace)).add(
        action, Result.FAILED, "gave up after 6 attempts"
    )


@pytest.mark.parametrize("verb", ["replay", "drop"])
def test_dead_letter_replay_and_drop_change_the_list_and_are_audited(
    demo, redis_client: redis.Redis, namespace: str, verb: str
) -> None:
    entry = _dead_letter(redis_client, namespace)
    page = demo.get("/dead-letters")
    assert f'data-id="{entry}"' in page.text
    token = demo.cookies.get("autoclock_csrf")
    answer = demo.post(f"/dead-letters/{entry}/{verb}", data={"csrf": token}, follow_redirects=True)
    assert answer.status_code == 200
    assert f'data-id="{entry}"' not in answer.text
    assert f"{verb}ed {entry}" in answer.text.replace("droped", "dropped").replace(
        "dropped", "droped"
    )
    audit = answer.text.split('id="audit"')[1]
    assert f"dlq.{verb}" in audit
    assert "console:local@" in audit
    queued = redis_client.llen(f"{Keys(namespace).dramatiq}:{ACTIONS_QUEUE}")
    assert queued == (1 if verb == "replay" else 0)
    assert demo.post(f"/dead-letters/{entry}/explode", data={"csrf": token}).status_code in (
        403,
        404,
    )


_PATHS = ["/now", f"/people/{DANA}", "/outcomes", "/outcomes/rows", "/rules", "/dead-letters"]
_PARAMS = st.dictionaries(
    st.sampled_from(
        [
            "group",
            "zone",
            "date",
            "result",
            "person",
            "source",
            "rule",
            "kind",
            "subject",
            "at",
            "tracking",
            "leave",
        ]
    ),
    st.text(max_size=30),
    max_size=5,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(_PATHS), params=_PARAMS)
def test_no_query_string_makes_a_page_fail(demo, path: str, params: dict[str, str]) -> None:
    answer = demo.get(path, params=params)
    assert answer.status_code in (200, 400, 404), (path, params, answer.text[:300])
    assert "Traceback" not in answer.text


def test_review_json_gives_the_same_flags(demo, redis_url: str, namespace: str, tmp_path) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "AUTOCLOCK_NAMESPACE": namespace,
        "AUTOCLOCK_RULES_DIR": str(Path(__file__).resolve().parents[2] / "rules"),
        "AUTOCLOCK_LOG_LEVEL": "error",
    }
    done = subprocess.run(
        [sys.executable, "-m", "worker.cli", "review", "--date", DAY, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    flags = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(f["person"], f["code"]) for f in flags] == [(SAM, "stop-by-schedule")]
    text = subprocess.run(
        [sys.executable, "-m", "worker.cli", "review", "--date", DAY],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert text.startswith(f"{SAM}  19:00  stop-by-schedule")
    bad = subprocess.run(
        [sys.executable, "-m", "worker.cli", "review", "--date", "2026-02-30"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
