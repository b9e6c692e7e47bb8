"""Review flags and tracked intervals of a person's day (pure; the console page and
``autoclock review`` show the same)."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.console.helpers import DAY, at, day_of, outcome, person
from worker.console.day import Planned
from worker.console.review import review
from worker.models import Result, TriggerKind

K = TriggerKind
R = Result
AFTER = at("23:59") + timedelta(days=1)  # "now": the day is over


def codes(day_outcomes, planned=None, who=None, now=AFTER):
    return [f.code for f in review(day_of(day_outcomes, planned, who), now)]


def test_stop_by_schedule_90_minutes_after_the_last_badge_out_is_flagged_with_the_gap():
    day = day_of(
        [
            outcome("08:58", K.BADGE_IN, R.STARTED),
            outcome("17:30", K.BADGE_OUT, R.NOT_TRACKING),
            outcome("19:00", K.TICK, R.STOPPED),
        ]
    )
    (flag,) = review(day, AFTER)
    assert flag.code == "stop-by-schedule"
    assert "1h30m earlier (17:30)" in flag.message


def test_stop_by_schedule_soon_after_a_badge_out_is_not_flagged():
    assert (
        codes(
            [
                outcome("08:58", K.BADGE_IN, R.STARTED),
                outcome("18:45", K.BADGE_OUT, R.NO_RULE),
                outcome("19:00", K.TICK, R.STOPPED),
            ]
        )
        == []
    )


def test_stop_by_schedule_without_any_badge_out_is_a_guess():
    flags = review(
        day_of(
            [outcome("09:02", K.BADGE_IN, R.ALREADY_TRACKING), outcome("19:00", K.TICK, R.STOPPED)]
        ),
        AFTER,
    )
    assert [f.code for f in flags] == ["stop-by-schedule"]
    assert "no badge-out" in flags[0].message


def test_a_shift_with_no_clock_in_is_flagged_and_one_with_a_clock_in_is_not():
    shift = [
        Planned(at("09:00"), K.SHIFT_START, "calendar:team-shifts", "s1"),
        Planned(at("17:00"), K.SHIFT_END, "calendar:team-shifts", "s1e"),
    ]
    assert codes([], shift) == ["shift-without-clock-in"]
    worked = [outcome("08:30", K.BADGE_IN, R.STARTED), outcome("17:05", K.BADGE_OUT, R.STOPPED)]
    assert codes(worked, shift) == []
    # a start the hour before still counts; one after the shift ended does not
    assert codes(
        [outcome("17:30", K.BADGE_IN, R.STARTED), outcome("18:00", K.BADGE_OUT, R.STOPPED)], shift
    ) == ["shift-without-clock-in"]


def test_a_future_shift_is_not_flagged_yet():
    shift = [Planned(at("09:00"), K.SHIFT_START, "calendar:team-shifts", "s1")]
    assert codes([], shift, now=at("08:00")) == []


def test_a_start_with_no_badge_evidence_is_flagged_only_for_people_with_badges():
    starts = [outcome("08:55", K.SHIFT_START, R.STARTED), outcome("17:00", K.SHIFT_END, R.STOPPED)]
    assert "start-without-evidence" in codes(starts)
    assert "start-without-evidence" not in codes(starts, who=person(badges=()))
    with_scan = [*starts, outcome("09:40", K.BADGE_IN, R.NO_RULE)]
    assert "start-without-evidence" not in codes(with_scan)


def test_expired_rejected_failed_and_missed_are_flagged():
    assert codes(
        [
            outcome("09:00", K.SHIFT_START, R.EXPIRED),
            outcome("10:00", K.BADGE_IN, R.REJECTED, verb=None),
            outcome("11:00", K.BADGE_IN, R.FAILED, verb=None),
            outcome("19:00", K.TICK, R.MISSED),
        ]
    ) == [
        "action-expired",
        "shift-without-clock-in",  # the expired start was the shift's clock-in
        "action-rejected",
        "action-rejected",
        "fire-missed",
    ]


def test_still_tracking_at_the_end_of_a_past_day_is_flagged_but_not_during_it():
    running = [outcome("09:00", K.BADGE_IN, R.STARTED)]
    assert codes(running) == ["still-tracking"]
    assert codes(running, now=at("12:00")) == []


def test_the_demo_day_flags_only_sam():
    dana = [
        outcome("08:55", K.SHIFT_START, R.STARTED),
        outcome("08:58", K.BADGE_IN, R.NO_RULE, verb=None),
        outcome("17:31", K.BADGE_OUT, R.STOPPED),
        outcome("19:00", K.TICK, R.NO_RULE, verb=None),
    ]
    sam = [
        outcome("09:02", K.BADGE_IN, R.ALREADY_TRACKING, email="sam@example.com"),
        outcome("19:00", K.TICK, R.STOPPED, email="sam@example.com"),
    ]
    assert codes(dana) == []
    assert codes(sam, who=person(email="sam@example.com")) == ["stop-by-schedule"]


_RESULTS = st.sampled_from(list(Result))
_KINDS = st.sampled_from(list(TriggerKind))
_TIMES = st.integers(0, 24 * 60 - 1).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_TIMES, _KINDS, _RESULTS), max_size=25), st.integers(0, 48 * 60))
def test_tracked_intervals_are_ordered_disjoint_inside_the_day_and_follow_the_last_known_state(
    events, now_minutes
):
    day = day_of([outcome(t, k, r) for t, k, r in events])
    now = day.start + timedelta(minutes=now_minutes)
    intervals = day.tracked(now)
    for interval in intervals:
        assert day.start <= interval.start <= interval.end <= day.end
    for first, second in itertools.pairwise(intervals):
        assert first.end <= second.start
    # only the last interval may be open at its end, and only if the last applied result
    # says the tracker runs
    assert all(not i.open_end for i in intervals[:-1])
    applied = [
        o
        for o in day.outcomes
        if o.result in (R.STARTED, R.ALREADY_TRACKING, R.STOPPED, R.NOT_TRACKING)
    ]
    if applied:
        running = applied[-1].result in (R.STARTED, R.ALREADY_TRACKING)
        assert bool(intervals and intervals[-1].open_end) == running
    else:
        assert intervals == []
    # every flag lies inside the day and names a known code
    for flag in review(day, now):
        assert day.start <= flag.at < day.end + timedelta(minutes=1)
        assert flag.code in {
            "stop-by-schedule",
            "shift-without-clock-in",
            "start-without-evidence",
            "action-expired",
            "action-rejected",
            "fire-missed",
            "still-tracking",
        }
    assert day.day == DAY
