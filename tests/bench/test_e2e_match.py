"""bench.e2e.latencies: the n-th accepted delivery to a person is the n-th call changing that
person's tracker; a person whose counts differ is left out, never mismatched."""

from __future__ import annotations

import pytest

from bench.e2e import Sent, latencies


def _sent(seq: int, user: int, answered: float, status: int = 202) -> Sent:
    return Sent(seq, user, "idle", 0.0, answered, status)


def test_deliveries_match_calls_in_order_per_person() -> None:
    sent = [_sent(0, 7, 10.000), _sent(1, 8, 10.010), _sent(2, 7, 11.000)]
    calls = [(8, 10.015), (7, 10.020), (7, 11.004)]
    ms, unmatched = latencies(sent, calls)
    assert unmatched == 0
    assert ms == pytest.approx({0: 20.0, 1: 5.0, 2: 4.0})


def test_a_person_with_a_missing_call_is_left_out_and_refused_deliveries_ignored() -> None:
    sent = [_sent(0, 7, 10.0), _sent(1, 7, 11.0), _sent(2, 8, 10.0), _sent(3, 9, 10.0, 401)]
    calls = [(7, 10.5), (8, 10.1)]
    ms, unmatched = latencies(sent, calls)
    assert unmatched == 2
    assert ms == pytest.approx({2: 100.0})
