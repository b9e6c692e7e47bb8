"""``autoclock demo``: the whole product on one machine, in one command.

It keeps to itself: its own embedded Redis in its own data directory (``--data-dir``, by
default ``~/.cache/autoclock/demo``; never ``REDIS_URL`` nor ``AUTOCLOCK_DATA_DIR``) under
its own namespace ``autoclock-demo``, so the scripted future day leaves nothing a real
deployment would read. It starts the WebWork sandbox with its sample seed and the worker
with the example rules shipped in the package (:mod:`worker.examples`, so it runs from any
directory); then it plays a scripted
working day — a clock-in at shift start, a duplicate badge-in, a badge-out stop, an
end-of-day stop for someone still tracking, a badge nobody owns — and prints every outcome
with its reason. The day runs on a shifted clock (the worker believes it is that day), so
deadlines and time windows behave as they would live. Outcomes stay in the demo's own
history; the demo prints the command that shows them.
"""

from __future__ import annotations

import os
import shlex
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import redis
from pydantic import SecretStr

from worker.clock import ShiftedClock
from worker.errors import ConfigError
from worker.examples import rules_dir
from worker.models import Outcome, Result, Trigger, TriggerKind
from worker.pipeline.broker import ACTIONS_QUEUE, TRIGGERS_QUEUE
from worker.pipeline.runtime import Pipeline, build_pipeline
from worker.rules.load import load_ruleset
from worker.sandbox.app import create_app
from worker.sandbox.models import SandboxConfig
from worker.sandbox.seed import Seed
from worker.sandbox.server import serve_in_thread
from worker.settings import Settings
from worker.store import Keys, connect
from worker.webwork.client import WebWorkClient

__all__ = ["DEMO_DAY", "DEMO_NAMESPACE", "default_data_dir", "demo_settings", "run_demo"]

#: The demo's own key namespace (in its own Redis).
DEMO_NAMESPACE = "autoclock-demo"

#: The scripted day: an ordinary Wednesday, no public holiday for any demo person.
DEMO_DAY = date(2026, 12, 2)
#: The demo's API budget (the sandbox enforces the same), so the day plays in seconds.
DEMO_RPM = 600
SANDBOX_OWNER_TOKEN = "sandbox-owner-token"  # noqa: S105 - the sandbox's published demo token


@dataclass(frozen=True)
class Step:
    at: str  # local time, HH:MM, in ``zone``
    story: str
    kind: TriggerKind
    subject: str
    source: str
    attributes: dict[str, str]
    expect: Result
    same_as: int | None = None  # index of an earlier step whose trigger is delivered again
    zone: str = "Europe/Berlin"
    before: Callable[[WebWorkClient], None] | None = None  # something a person does first

    def instant(self) -> datetime:
        hour, minute = (int(p) for p in self.at.split(":"))
        return datetime(
            DEMO_DAY.year, DEMO_DAY.month, DEMO_DAY.day, hour, minute, tzinfo=ZoneInfo(self.zone)
        )


def _sam_starts_in_the_app(client: WebWorkClient) -> None:
    """Sam starts the tracker in WebWork's own app: autoclock does not know."""
    client.start(workspace_id=1, user_id=43, contract_id=21, description="started in the app")


_KISI = "webhook:kisi-hq"
_EOD = "schedule:end-of-day"
SCRIPT = [
    Step(
        "08:55",
        "Dana's shift starts in the team calendar",
        TriggerKind.SHIFT_START,
        "dana.ruiz@example.com",
        "calendar:team-shifts",
        {"summary": "Front desk"},
        Result.STARTED,
    ),
    Step(
        "08:58",
        "Dana badges in at the main entrance",
        TriggerKind.BADGE_IN,
        "04A1B2C3",
        _KISI,
        {"door": "Main Entrance"},
        Result.NO_RULE,
    ),
    Step(
        "08:58",
        "Kisi delivers the same badge-in again",
        TriggerKind.BADGE_IN,
        "04A1B2C3",
        _KISI,
        {"door": "Main Entrance"},
        Result.DUPLICATE,
        same_as=1,
    ),
    Step(
        "09:02",
        "Sam, who started the tracker in the WebWork app, badges in",
        TriggerKind.BADGE_IN,
        "04B2C3D4",
        _KISI,
        {"door": "Main Entrance"},
        Result.ALREADY_TRACKING,
        before=_sam_starts_in_the_app,
    ),
    Step(
        "10:15",
        "A badge nobody owns is scanned",
        TriggerKind.BADGE_IN,
        "DEADBEEF",
        _KISI,
        {"door": "Main Entrance"},
        Result.UNKNOWN_PERSON,
    ),
    Step(
        "17:31",
        "Dana leaves through the back exit",
        TriggerKind.BADGE_OUT,
        "04A1B2C3",
        _KISI,
        {"door": "Back Exit"},
        Result.STOPPED,
    ),
    Step(
        "19:00",
        "End of day in Berlin: Sam is still tracking",
        TriggerKind.TICK,
        "sam.lee@example.com",
        _EOD,
        {"schedule": "end-of-day"},
        Result.STOPPED,
    ),
    Step(
        "19:00",
        "End of day in Berlin: Dana already left",
        TriggerKind.TICK,
        "dana.ruiz@example.com",
        _EOD,
        {"schedule": "end-of-day"},
        Result.NO_RULE,
    ),
    Step(
        "19:00",
        "End of day in Chicago: Kim's state is unknown, so autoclock asks",
        TriggerKind.TICK,
        "kim.park@example.com",
        _EOD,
        {"schedule": "end-of-day"},
        Result.NOT_TRACKING,
        zone="America/Chicago",
    ),
]


def default_data_dir() -> Path:
    """``$XDG_CACHE_HOME/autoclock/demo`` (``~/.cache/autoclock/demo``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "autoclock" / "demo"


def demo_settings(settings: Settings, data_dir: Path | None = None) -> Settings:
    """The demo's settings: its own data directory, embedded Redis and namespace, the
    shipped example rules. Raises :class:`ConfigError` when that data directory is the
    deployment's (``AUTOCLOCK_DATA_DIR``)."""
    directory = (data_dir or default_data_dir()).expanduser().resolve()
    if directory == Path(settings.data_dir).expanduser().resolve():
        raise ConfigError(
            f"autoclock demo: {directory} is AUTOCLOCK_DATA_DIR, a deployment's data; the demo "
            "keeps its own (--data-dir)"
        )
    return settings.model_copy(
        update={
            "redis_url": None,
            "namespace": DEMO_NAMESPACE,
            "data_dir": directory,
            "rules_dir": rules_dir(),
        }
    )


def demo_env(settings: Settings) -> str:
    """The environment that points a command at the demo's history."""
    return (
        f"REDIS_URL= AUTOCLOCK_NAMESPACE={settings.namespace} "
        f"AUTOCLOCK_DATA_DIR={shlex.quote(str(settings.data_dir))}"
    )


def run_demo(settings: Settings, echo: Callable[[str], None], *, timeout_s: float = 30) -> bool:
    """Play the scripted day; True when every step ended as expected."""
    seed = Seed.sample()
    with serve_in_thread(create_app(seed, _sandbox_config())) as sandbox:
        configured = settings.model_copy(
            update={
                "webwork_base_url": sandbox.api_url,
                "webwork_token": SecretStr(SANDBOX_OWNER_TOKEN),
                "webwork_workspace_id": 1,
                "webwork_rpm": DEMO_RPM,
            }
        )
        handle = connect(configured, embedded="own")  # ConfigError: another process owns it
        live = live_workers(handle.client, handle.keys)
        if live:
            handle.close()
            raise ConfigError(
                f"autoclock demo: {live} worker(s) are running on the demo's Redis in "
                f"{configured.data_dir}; the demo would take their triggers. Stop them, or give "
                "the demo another --data-dir"
            )
        ruleset = load_ruleset(configured.rules_dir, default_timezone=configured.timezone)
        clock = ShiftedClock()  # set to each step's moment of the scripted day
        pipeline = build_pipeline(configured, handle, ruleset, clock=clock)
        app_client = WebWorkClient(base_url=sandbox.api_url, token=SecretStr(SANDBOX_OWNER_TOKEN))
        pipeline.start(threads=4)
        _drain(pipeline, timeout_s)
        for person in ruleset.directory.people:  # the sandbox is new: forget the old one's state
            pipeline.context.state.forget(person.email)
            pipeline.context.ledger.forget_order(person.email)
        echo(
            f"autoclock demo: sandbox at {sandbox.url}, Redis: {handle.description}, "
            f"namespace {configured.namespace}, "
            f"{len(ruleset.directory.people)} people, {len(ruleset.rules)} rules"
        )
        echo(f"scripted day: {DEMO_DAY.isoformat()} (Europe/Berlin)\n")
        run = uuid.uuid4().hex[:8]
        triggers: list[Trigger] = []
        ok = True
        try:
            for step in SCRIPT:
                trigger = (
                    triggers[step.same_as]
                    if step.same_as is not None
                    else Trigger(
                        id=f"demo-{run}-{len(triggers)}",
                        source=step.source,
                        kind=step.kind,
                        subject=step.subject,
                        occurred_at=step.instant(),
                        received_at=step.instant() + timedelta(seconds=5),  # the day's clock
                        attributes=step.attributes,
                    )
                )
                triggers.append(trigger)
                if step.before is not None:
                    step.before(app_client)
                clock.set(step.instant() + timedelta(seconds=5))
                seen = len(pipeline.context.outcomes.latest(10, trigger_id=trigger.id))
                pipeline.queue.enqueue(trigger)
                outcome = _wait(pipeline.context.outcomes, trigger.id, seen + 1, timeout_s)
                ok &= outcome is not None and outcome.result is step.expect
                echo(_line(step, outcome))
        finally:
            pipeline.stop(timeout_ms=5_000)
            app_client.close()
            tracking = sorted(str(uid) for uid in sandbox_tracking(sandbox.url))
            handle.close()
        echo(f"\nsandbox: tracking now for user ids {', '.join(tracking) or 'nobody'}")
        echo(
            "every outcome above is in the demo's history: "
            f"{demo_env(configured)} autoclock history"
        )
        rules = f"AUTOCLOCK_RULES_DIR={shlex.quote(str(configured.rules_dir))}"
        echo(f"the day in the console: {demo_env(configured)} {rules} {console_day_url(settings)}")
        echo(
            "demo "
            + (
                "finished: every step ended as expected"
                if ok
                else "FAILED: a step did not end as expected"
            )
        )
        return ok


def console_day_url(settings: Settings) -> str:
    """The console page of the scripted day (Sam's: a stop by the schedule to review)."""
    port = settings.admin_port or 8081
    page = f"http://127.0.0.1:{port}/console/people/sam.lee@example.com?date={DEMO_DAY}"
    return f"AUTOCLOCK_ADMIN_PORT={port} autoclock console, then open {page}"


def live_workers(client: redis.Redis, keys: Keys) -> int:
    """How many Dramatiq workers sent a heartbeat on this namespace in the last minute."""
    now_ms = float(client.time()[0]) * 1000
    heartbeats = f"{keys.dramatiq}:__heartbeats__"
    return int(client.zcount(heartbeats, now_ms - 60_000, "+inf"))


def _drain(pipeline: Pipeline, timeout_s: float) -> None:
    """Let the worker finish anything an earlier, interrupted run left in the queues."""
    client = pipeline.context.db
    prefix = pipeline.context.keys.dramatiq
    names = [f"{prefix}:{q}" for q in (TRIGGERS_QUEUE, ACTIONS_QUEUE)]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pending = sum(client.llen(n) + client.zcard(f"{n}.DQ") for n in names)
        if pending == 0:
            return
        time.sleep(0.1)


def sandbox_tracking(url: str) -> list[int]:
    from worker.sandbox.control import SandboxControl

    return [tracker.user_id for tracker in SandboxControl(url).state().trackers]


def _sandbox_config() -> SandboxConfig:
    return SandboxConfig(rpm=DEMO_RPM)


def _wait(log: object, trigger_id: str, count: int, timeout_s: float) -> Outcome | None:
    from worker.pipeline.outcomes import OutcomeLog

    assert isinstance(log, OutcomeLog)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = log.latest(10, trigger_id=trigger_id)
        if len(found) >= count:
            return found[-1]
        time.sleep(0.05)
    return None


def _line(step: Step, outcome: Outcome | None) -> str:
    if outcome is None:
        return f"{step.at}  {step.story}\n       -> no outcome within the timeout"
    mark = "ok" if outcome.result is step.expect else f"EXPECTED {step.expect.value}"
    who = outcome.person or outcome.subject
    return (
        f"{step.at}  {step.story}\n       -> {outcome.result.value:<16} {who}: "
        f"{outcome.reason}  [{mark}]"
    )
