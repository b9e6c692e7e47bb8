"""Cron schedules fire at the right local times in each person's zone, across both DST changes.

The DST policy is the one of ``at`` schedules: a wall time in the spring-forward gap moves by
the gap, a wall time repeated on the fall-back day fires once (its first occurrence).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.scheduler.conftest import MakeRules, write_rules
from tests.scheduler.helpers import queued_triggers
from worker.pipeline.broker import TriggerQueue, make_broker
from worker.rules.load import check_ruleset, load_ruleset
from worker.scheduler.clock import ManualClock
from worker.scheduler.cron import cron_fires
from worker.scheduler.loop import Scheduler
from worker.scheduler.schedules import local_instant, schedule_fires
from worker.scheduler.simulate import simulate_day
from worker.settings import Settings
from worker.store import Keys

BERLIN = ZoneInfo("Europe/Berlin")
CHICAGO = ZoneInfo("America/Chicago")
SYDNEY = ZoneInfo("Australia/Sydney")
ZONES = {"ana@example.com": BERLIN, "bo@example.com": CHICAGO, "cy@example.com": SYDNEY}

#: (zone, spring-forward day, fall-back day) in 2026.
DST_DAYS = [
    (BERLIN, date(2026, 3, 29), date(2026, 10, 25)),
    (CHICAGO, date(2026, 3, 8), date(2026, 11, 1)),
    (SYDNEY, date(2026, 10, 4), date(2026, 4, 5)),
]
AUTOCLOCK = str(Path(sys.executable).parent / "autoclock")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _local_day(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start - timedelta(microseconds=1), end - timedelta(microseconds=1)


@hsettings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from([BERLIN, CHICAGO, SYDNEY, ZoneInfo("Australia/Lord_Howe")]),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    first=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    days=st.integers(1, 9),
)
def test_daily_cron_fires_exactly_where_the_same_at_schedule_fires(
    zone: ZoneInfo, hour: int, minute: int, first: date, days: int
) -> None:
    """``M H * * *`` and ``at: H:M`` every day are the same instants, DST days included."""
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    end = start + timedelta(days=days)
    expected = []
    day = first - timedelta(days=1)
    while day <= first + timedelta(days=days + 1):
        at = local_instant(day, time(hour, minute), zone)
        if start < at <= end:
            expected.append(at)
        day += timedelta(days=1)
    fires = cron_fires(f"{minute} {hour} * * *", zone, start, end)
    assert [f.at for f in fires] == expected
    assert all(f.wall.time() == time(hour, minute) for f in fires)


@pytest.mark.parametrize(("zone", "spring", "fall"), DST_DAYS)
def test_hourly_cron_across_both_dst_changes(zone: ZoneInfo, spring: date, fall: date) -> None:
    """Every hour at :30: 23 fires on the short day (02:30 moves to 03:30 and is one fire with
    it), 24 on the long day (the repeated hour fires once), each at a distinct instant."""
    short = cron_fires("30 * * * *", zone, *_local_day(spring, zone))
    assert len(short) == 23
    assert len({f.at for f in short}) == 23
    local = [f.at.astimezone(zone).strftime("%H:%M") for f in short]
    assert "02:30" not in local
    assert local.count("03:30") == 1
    long = cron_fires("30 * * * *", zone, *_local_day(fall, zone))
    assert len(long) == 24
    assert [f.at.astimezone(zone).hour for f in long] == list(range(24))
    assert [f.at.astimezone(zone).fold for f in long] == [0] * 24


#: The wall time that happens twice on the fall-back day (Chicago falls back at 02:00 CDT).
REPEATED = {BERLIN: "30 2 * * *", CHICAGO: "30 1 * * *", SYDNEY: "30 2 * * *"}


@pytest.mark.parametrize(("zone", "spring", "fall"), DST_DAYS)
def test_gap_fire_moves_by_the_gap_and_fold_fire_happens_once(
    zone: ZoneInfo, spring: date, fall: date
) -> None:
    """02:30 on the spring day fires at 03:30 (new offset); the repeated wall time on the fall
    day fires once, at its first occurrence (old offset); the days around fire as written."""
    for day, wall in [
        (spring - timedelta(days=1), "02:30"),
        (spring, "03:30"),
        (spring + timedelta(days=1), "02:30"),
    ]:
        fires = cron_fires("30 2 * * *", zone, *_local_day(day, zone))
        assert [f.at.astimezone(zone).strftime("%H:%M") for f in fires] == [wall], day
    expr = REPEATED[zone]
    wall = f"0{expr.split()[1]}:30"
    for day in (fall - timedelta(days=1), fall, fall + timedelta(days=1)):
        fires = cron_fires(expr, zone, *_local_day(day, zone))
        assert [f.at.astimezone(zone).strftime("%H:%M") for f in fires] == [wall], day
    (fold,) = cron_fires(expr, zone, *_local_day(fall, zone))
    summer_before = datetime.combine(fall - timedelta(days=1), time(12), tzinfo=zone)
    assert fold.at.astimezone(zone).utcoffset() == summer_before.utcoffset()
    assert fold.at + timedelta(hours=1) != fold.at.astimezone(zone).replace(fold=1)


def test_rota_expressions_last_friday_second_saturday_sunday_to_thursday() -> None:
    """The rotas the issue names: last Friday of the month, the 2nd Saturday, 22:00 Sun-Thu."""
    start, end = utc(2026, 3, 1), utc(2026, 5, 31, 23)
    last_friday = cron_fires("0 17 * * L5", BERLIN, start, end)
    assert [f.at.astimezone(BERLIN).date() for f in last_friday] == [
        date(2026, 3, 27),
        date(2026, 4, 24),
        date(2026, 5, 29),
    ]
    second_saturday = cron_fires("0 9 * * 6#2", BERLIN, start, end)
    assert [f.at.astimezone(BERLIN).date() for f in second_saturday] == [
        date(2026, 3, 14),
        date(2026, 4, 11),
        date(2026, 5, 9),
    ]
    nights = cron_fires("0 22 * * sun-thu", BERLIN, utc(2026, 3, 2), utc(2026, 3, 9))
    assert [f.at.astimezone(BERLIN).strftime("%a %H:%M") for f in nights] == [
        "Mon 22:00",
        "Tue 22:00",
        "Wed 22:00",
        "Thu 22:00",
        "Sun 22:00",
    ]


def test_cron_schedule_fires_in_each_persons_zone_with_time_in_the_trigger_id(
    make_rules: MakeRules,
) -> None:
    """One cron schedule, three zones; two fires on one day have two trigger ids."""
    ruleset = make_rules(schedules=[{"name": "breaks", "cron": "0 12,15 * * *"}])
    fires = schedule_fires(
        ruleset.sources.schedules, ruleset.directory, utc(2026, 3, 28), utc(2026, 3, 31)
    )
    for email, zone in ZONES.items():
        mine = [f for f in fires if f.email == email]
        assert {f.at.astimezone(zone).strftime("%H:%M") for f in mine} == {"12:00", "15:00"}
        assert len({f.id for f in mine}) == len(mine) >= 5
        for fire in mine:
            local = fire.at.astimezone(zone)
            assert fire.id == f"schedule:breaks:{email}:{local:%Y-%m-%dT%H:%M}"
            assert fire.trigger.attributes["cron"] == "0 12,15 * * *"
            assert fire.trigger.attributes["scheduled"] == f"{local:%H:%M}"


def test_two_cron_fires_on_one_day_are_both_enqueued_by_the_scheduler(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """The scheduler enqueues the 12:00 and the 15:00 fire of one day; neither is a duplicate."""
    rules = write_rules(
        tmp_path / "rules",
        schedules=[{"name": "breaks", "cron": "0 12,15 * * *", "people": ["ana@example.com"]}],
    )
    clock = ManualClock(utc(2026, 3, 30, 9, 55))  # 11:55 CEST
    queue = TriggerQueue(make_broker(redis_client, Keys(settings.namespace)))
    scheduler = Scheduler(settings, redis_client, load_ruleset(rules), queue, clock=clock)
    scheduler.tick()
    for _ in range(4 * 12):
        clock.advance(timedelta(minutes=5))
        scheduler.tick()
    queued = queued_triggers(redis_client, settings.namespace)
    assert [t["id"] for t in queued] == [
        "schedule:breaks:ana@example.com:2026-03-30T12:00",
        "schedule:breaks:ana@example.com:2026-03-30T15:00",
    ]


@pytest.mark.parametrize(("zone", "spring", "fall"), DST_DAYS)
def test_simulate_and_the_scheduler_agree_on_dst_days(
    settings: Settings,
    redis_client: redis.Redis,
    tmp_path: Path,
    zone: ZoneInfo,
    spring: date,
    fall: date,
) -> None:
    """On both DST days, what `simulate` lists is what the ticking scheduler enqueues."""
    email = next(e for e, z in ZONES.items() if z == zone)
    rules = write_rules(
        tmp_path / "rules",
        schedules=[{"name": "rota", "cron": "15,45 1-3 * * *", "people": [email]}],
    )
    ruleset = load_ruleset(rules)
    queue = TriggerQueue(make_broker(redis_client, Keys(settings.namespace)))
    for day in sorted((spring, fall)):  # the scheduler's cursor only moves forward
        simulated = [
            (fire.id, fire.at)
            for fire, _ in simulate_day(ruleset, day, person=email).people[0].items
        ]
        start, end = _local_day(day, zone)
        clock = ManualClock(start)
        scheduler = Scheduler(settings, redis_client, ruleset, queue, clock=clock)
        scheduler.tick()
        while clock.now() < end:
            clock.advance(timedelta(minutes=7))
            scheduler.tick()
        queued = [
            (t["id"], datetime.fromisoformat(t["occurred_at"]))
            for t in queued_triggers(redis_client, settings.namespace)
            if t["occurred_at"] and start < datetime.fromisoformat(t["occurred_at"]) <= end
        ]
        assert queued == simulated, day
        # spring: 02:15/02:45 move onto 03:15/03:45 (one fire each); fall: each wall time once
        assert len(simulated) == (4 if day == spring else 6)


def test_loader_explains_cron_mistakes_with_lines(tmp_path: Path) -> None:
    """A misspelt key, a bad expression, at+cron and weekdays+cron: each at its file:line."""
    rules = write_rules(
        tmp_path / "rules",
        schedules=[
            {"name": "a", "crn": "0 9 * * *"},
            {"name": "b", "cron": "0 25 * * *"},
            {"name": "c", "cron": "0 9 * *"},
            {"name": "d", "cron": "0 9 * * *", "at": "09:00"},
            {"name": "e", "cron": "0 9 * * *", "weekdays": ["mon"]},
        ],
    )
    ruleset, problems = check_ruleset(rules)
    assert ruleset is None
    text = "\n".join(problems)
    lines = (rules / "sources.yaml").read_text().splitlines()

    def line_of(fragment: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if fragment in line)

    assert (
        f"sources.yaml:{line_of('crn:')}: schedules[0].crn: unknown key 'crn' "
        "(did you mean 'cron'?)" in text
    )
    assert (
        f"sources.yaml:{line_of('0 25 * * *')}: schedules[1].cron: invalid cron expression" in text
    )
    assert "has 4 fields; use five" in text
    assert "a schedule needs exactly one of at or cron" in text
    assert "weekdays applies to at only" in text


def _simulate(rules: Path, day: str, cwd: Path) -> str:
    env = {
        "PATH": "/usr/bin:/bin",
        "AUTOCLOCK_LOG_FORMAT": "json",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    result = subprocess.run(
        [AUTOCLOCK, "simulate", "--date", day, "--rules-dir", str(rules)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _rows(output: str, who: str) -> list[str]:
    """The trigger lines of one person's block, as 'HH:MM ZONE'."""
    rows: list[str] = []
    inside = False
    for line in output.splitlines():
        if not line.startswith("  "):
            inside = who in line
            continue
        if inside and "schedule:" in line:
            rows.append(" ".join(line.split()[:2]))
    return rows


@pytest.mark.parametrize(
    ("who", "before", "after", "zone_before", "zone_after"),
    [
        ("ana@example.com", "2026-03-28", "2026-03-30", "CET", "CEST"),
        ("ana@example.com", "2026-10-24", "2026-10-26", "CEST", "CET"),
        ("bo@example.com", "2026-03-07", "2026-03-09", "CST", "CDT"),
        ("bo@example.com", "2026-10-31", "2026-11-02", "CDT", "CST"),
        ("cy@example.com", "2026-04-04", "2026-04-06", "AEDT", "AEST"),
        ("cy@example.com", "2026-10-03", "2026-10-05", "AEST", "AEDT"),
    ],
)
def test_simulate_shows_cron_fires_at_local_times_on_both_sides_of_dst(
    tmp_path: Path, who: str, before: str, after: str, zone_before: str, zone_after: str
) -> None:
    """`simulate --date` lists 07:30 and 22:00 local on the day before and after each change."""
    rules = write_rules(
        tmp_path / "rules",
        schedules=[{"name": "rota", "cron": "30 7 * * *"}, {"name": "night", "cron": "0 22 * * *"}],
    )
    assert _rows(_simulate(rules, before, tmp_path), who) == [
        f"07:30 {zone_before}",
        f"22:00 {zone_before}",
    ]
    assert _rows(_simulate(rules, after, tmp_path), who) == [
        f"07:30 {zone_after}",
        f"22:00 {zone_after}",
    ]


def test_a_missed_cron_fire_is_recorded_with_the_rules_version(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """Down across a 12:00 fire for longer than the grace: `missed`, naming the rules version."""
    from worker.models import Result
    from worker.pipeline.outcomes import OutcomeLog

    rules = write_rules(
        tmp_path / "rules",
        schedules=[{"name": "noon", "cron": "0 12 * * *", "people": ["ana@example.com"]}],
    )
    ruleset = load_ruleset(rules)
    queue = TriggerQueue(make_broker(redis_client, Keys(settings.namespace)))
    clock = ManualClock(utc(2026, 3, 30, 9, 0))  # 11:00 CEST
    Scheduler(settings, redis_client, ruleset, queue, clock=clock).tick()
    clock.set(utc(2026, 3, 30, 12, 0))  # back at 14:00 CEST
    report = Scheduler(settings, redis_client, ruleset, queue, clock=clock).tick()
    assert report.missed == ["schedule:noon:ana@example.com:2026-03-30T12:00"]
    (outcome,) = OutcomeLog(redis_client, Keys(settings.namespace)).all()
    assert outcome.result is Result.MISSED
    assert outcome.rules_version == ruleset.version
