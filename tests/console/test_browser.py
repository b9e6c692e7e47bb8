"""The console in a real browser (Debian's headless Chromium through Selenium) against a
running ``autoclock run`` and sandbox, after ``autoclock demo`` played its day.

Every page is loaded and screenshotted (into ``AUTOCLOCK_SCREENSHOTS`` when set, else the
test's temporary directory); the demo's day shows its bars, flags and outcomes; the "ask
WebWork" button answers through htmx; replaying a dead letter changes the list; and a
console bound off loopback without credentials is refused (the process exits 3 and nothing
listens).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import redis
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.console.conftest import DANA, RULES, SAM
from tests.ports import free_port
from worker.models import Action, Result, Trigger, TriggerKind, Verb
from worker.pipeline.dlq import DeadLetters
from worker.store import Keys

CLI = [sys.executable, "-m", "worker.cli"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
DAY = "2026-12-02"
RILEY = "riley.lead@example.com"


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the process exited\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s\n{log.read_text()[-3000:]}")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The demo's day (in the demo's own data directory and namespace), then the sandbox and
    ``autoclock run`` serving that history, as the demo's closing line says to."""
    demo_dir = tmp_path / "demo"
    env = {
        **os.environ,
        "AUTOCLOCK_RULES_DIR": str(RULES),
        "AUTOCLOCK_LOG_LEVEL": "warning",
    }
    env.pop("REDIS_URL", None)
    for name in ("AUTOCLOCK_CONSOLE_TOKEN", "AUTOCLOCK_CONSOLE_USER", "AUTOCLOCK_CONSOLE_PASSWORD"):
        env.pop(name, None)
    demo = subprocess.run(
        [*CLI, "demo", "--data-dir", str(demo_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert f"/console/people/{SAM}?date={DAY}" in demo.stdout  # it ends with the console's URL
    env.update(AUTOCLOCK_NAMESPACE="autoclock-demo", AUTOCLOCK_DATA_DIR=str(demo_dir))

    sandbox_port, admin_port, webhook_port = free_port(), free_port(), free_port()
    logs = tmp_path / "processes.log"
    out = logs.open("ab")
    processes = [
        subprocess.Popen(
            [*CLI, "sandbox", "--port", str(sandbox_port), "--rpm", "600"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    ]
    try:
        _wait_http(f"http://127.0.0.1:{sandbox_port}/", processes[0], logs)
        run_env = {
            **env,
            "WEBWORK_BASE_URL": f"http://127.0.0.1:{sandbox_port}/api/v2",
            "WEBWORK_TOKEN": "sandbox-owner-token",
            "WEBWORK_WORKSPACE_ID": "1",
            "WEBWORK_RPM": "600",
            "AUTOCLOCK_ADMIN_PORT": str(admin_port),
            "AUTOCLOCK_CONSOLE_ACTIONS": "true",
            "AUTOCLOCK_WEBHOOK_PORT": str(webhook_port),
        }
        processes.append(
            subprocess.Popen(
                [*CLI, "run", "--threads", "2"], env=run_env, stdout=out, stderr=subprocess.STDOUT
            )
        )
        base = f"http://127.0.0.1:{admin_port}/console"  # on autoclock run's admin listener
        _wait_http(f"{base}/now", processes[1], logs)
        socket = (demo_dir / "redis" / "socket").read_text()  # autoclock run's embedded Redis
        yield {
            "base": base,
            "env_namespace": "autoclock-demo",
            "log": str(logs),
            "redis_url": f"unix://{socket}",
        }
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        out.close()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install chromium"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    where = Path(os.environ.get("AUTOCLOCK_SCREENSHOTS") or tmp_path / "screenshots")
    where.mkdir(parents=True, exist_ok=True)
    return where


def _open(browser: WebDriver, url: str, shots: Path, name: str) -> None:
    browser.get(url)
    assert "Traceback" not in browser.page_source
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1400, min(max(int(height) + 40, 700), 2400))
    assert browser.save_screenshot(str(shots / f"{name}.png"))


def test_the_console_in_a_real_browser(
    site: dict[str, str], browser: WebDriver, shots: Path
) -> None:
    base = site["base"]
    wait = WebDriverWait(browser, 15)

    # Now: everyone, Sam's last outcome, the "ask WebWork" button answered through htmx
    _open(browser, f"{base}/now", shots, "now")
    people = [
        r.get_attribute("data-person")
        for r in browser.find_elements(By.CSS_SELECTOR, "tr[data-person]")
    ]
    assert len(people) == 5
    assert SAM in people
    sam_row = browser.find_element(By.CSS_SELECTOR, f'tr[data-person="{SAM}"]')
    assert "stopped" in sam_row.text
    sam_row.find_element(By.TAG_NAME, "button").click()
    wait.until(
        lambda b: "current-data" in b.find_element(By.CSS_SELECTOR, f'tr[data-person="{SAM}"]').text
    )
    assert "not tracking" in browser.find_element(By.CSS_SELECTOR, f'tr[data-person="{SAM}"]').text

    # Person's day: Sam tracked until the end-of-day stop, flagged for review
    _open(browser, f"{base}/people/{SAM}?date={DAY}", shots, "day-sam")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.timeline rect.tracked")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.timeline circle.badge-in")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.timeline line.fire")
    flags = [
        f.get_attribute("data-code") for f in browser.find_elements(By.CSS_SELECTOR, "#flags li")
    ]
    assert flags == ["stop-by-schedule"]
    events = browser.find_element(By.ID, "events").text
    assert "already_tracking" in events
    assert "stopped" in events

    # Dana: the shift, the ignored badge-in, the badge-out stop; nothing to review
    _open(browser, f"{base}/people/{DANA}?date={DAY}", shots, "day-dana")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.timeline rect.shift")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.timeline circle.badge-ignored")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.timeline circle.badge-out")
    tracked = browser.find_element(By.ID, "tracked").text
    assert "08:55" in tracked
    assert "17:31" in tracked
    assert browser.find_element(By.ID, "flags").text == "Nothing to review."

    # Outcomes: every result the demo produced, each with its explanation one click away
    _open(browser, f"{base}/outcomes", shots, "outcomes")
    results = {
        r.get_attribute("data-result")
        for r in browser.find_elements(By.CSS_SELECTOR, "#outcomes tr[data-result]")
    }
    assert {
        "started",
        "no_rule",
        "duplicate",
        "already_tracking",
        "unknown_person",
        "stopped",
        "not_tracking",
    } <= results
    browser.find_element(
        By.CSS_SELECTOR, '#outcomes tr[data-result="unknown_person"] a.explain'
    ).click()
    wait.until(lambda b: b.find_elements(By.ID, "decision"))
    assert "nobody in people.yaml" in browser.find_element(By.ID, "decision").text
    assert browser.save_screenshot(str(shots / "explain.png"))

    # Health and Rules
    _open(browser, f"{base}/health", shots, "health")
    assert "ok" in browser.find_element(By.ID, "redis").text
    assert "elected" in browser.find_element(By.ID, "leader").text  # autoclock run's scheduler
    _open(browser, f"{base}/rules", shots, "rules")
    assert "load cleanly" in browser.find_element(By.ID, "problems").text

    # Dead letters: replaying one takes it off the list and the worker applies it
    keys = Keys(site["env_namespace"])
    trigger = Trigger(
        id="browser-dlq",
        source="manual",
        kind=TriggerKind.BADGE_IN,
        subject=RILEY,
        occurred_at=datetime.now(UTC),
    )
    action = Action(
        trigger=trigger,
        delivery_id="browser-dlq-0001",
        person=RILEY,
        user_id=46,
        verb=Verb.START,
        rule="badge-in",
        contract_id=24,
    )
    with redis.Redis.from_url(site["redis_url"]) as redis_client:
        entry = DeadLetters(redis_client, keys).add(
            action, Result.FAILED, "gave up after 6 attempts"
        )
    _open(browser, f"{base}/dead-letters", shots, "dead-letters")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-id="{entry}"]')
    row.find_element(By.CSS_SELECTOR, "button.replay").click()
    wait.until(lambda b: b.find_elements(By.ID, "done"))
    assert not browser.find_elements(By.CSS_SELECTOR, f'tr[data-id="{entry}"]')
    assert browser.find_element(By.ID, "empty").text == "no dead letters"
    assert "dlq.replay" in browser.find_element(By.ID, "audit").text
    assert browser.save_screenshot(str(shots / "dead-letters-replayed.png"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        browser.get(f"{base}/outcomes?person={RILEY}")
        if browser.find_elements(By.CSS_SELECTOR, '#outcomes tr[data-result="started"]'):
            break
        time.sleep(0.5)
    else:
        raise AssertionError(
            "the replayed start was not applied:\n" + Path(site["log"]).read_text()[-3000:]
        )


def test_off_loopback_without_credentials_is_refused_and_nothing_listens(
    browser: WebDriver, redis_url: str, namespace: str
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "AUTOCLOCK_NAMESPACE": namespace,
        "AUTOCLOCK_RULES_DIR": str(RULES),
        "AUTOCLOCK_ADMIN_PORT": str(port),
    }
    for name in ("AUTOCLOCK_CONSOLE_TOKEN", "AUTOCLOCK_CONSOLE_USER", "AUTOCLOCK_CONSOLE_PASSWORD"):
        env.pop(name, None)
    # the refusal happens before anything binds, so no test server leaves loopback
    done = subprocess.run(
        [*CLI, "console", "--host", "0.0.0.0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3
    assert "AUTOCLOCK_CONSOLE_TOKEN" in done.stderr
    with pytest.raises(WebDriverException, match="ERR_CONNECTION_REFUSED"):
        browser.get(f"http://127.0.0.1:{port}/console/now")
