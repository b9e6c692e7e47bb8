"""The Person's day timeline as shapes for a server-side SVG (drawn by ``day.html``).

Four lanes over the person's local day: *planned* (shift bars, schedule ticks), *badges*
(in, out, ignored), *actions* (start/stop with their outcome) and *tracked* (intervals).
Every shape carries a ``title`` (the tooltip) and a CSS class the tests and styles use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from worker.console.day import Day
from worker.console.review import Flag
from worker.models import Result, TriggerKind

__all__ = ["LANES", "Shape", "Timeline", "build_timeline"]

WIDTH = 1000
LEFT = 90
RIGHT = 10
LANE_H = 34
TOP = 24
LANES = ("planned", "badges", "actions", "tracked")

_GOOD = {Result.STARTED, Result.STOPPED}
_NOOP = {Result.ALREADY_TRACKING, Result.NOT_TRACKING}


@dataclass(frozen=True)
class Shape:
    kind: str  # "bar" or "mark"
    lane: int
    x: float
    w: float
    css: str
    title: str
    label: str = ""

    @property
    def y(self) -> float:
        return TOP + self.lane * LANE_H + 6

    @property
    def h(self) -> float:
        return LANE_H - 12


@dataclass
class Timeline:
    width: int = WIDTH
    height: int = TOP + LANE_H * len(LANES) + 8
    left: int = LEFT
    lanes: tuple[str, ...] = LANES
    shapes: list[Shape] = field(default_factory=list)
    hours: list[tuple[float, str]] = field(default_factory=list)
    now_x: float | None = None

    def lane_y(self, index: int) -> int:
        return TOP + index * LANE_H


@dataclass(frozen=True)
class _Scale:
    """Times of one day to x positions and local ``HH:MM`` labels."""

    day: Day

    def x(self, at: datetime) -> float:
        span = (self.day.end - self.day.start).total_seconds()
        seconds = min(max((at - self.day.start).total_seconds(), 0.0), span)
        return round(LEFT + (WIDTH - LEFT - RIGHT) * seconds / span, 1)

    def hhmm(self, at: datetime) -> str:
        return at.astimezone(self.day.person.zone).strftime("%H:%M")


def build_timeline(day: Day, flags: list[Flag], now: datetime) -> Timeline:
    """Shapes for ``day``; ``now`` ends an open tracked interval and draws the now line."""
    scale = _Scale(day)
    t = Timeline()
    for hour in range(0, 25, 2):
        t.hours.append((round(LEFT + (WIDTH - LEFT - RIGHT) * hour / 24, 1), f"{hour:02d}"))
    if day.start <= now < day.end:
        t.now_x = scale.x(now)
    t.shapes.extend(_planned_shapes(day, scale))
    t.shapes.extend(_badge_shapes(day, scale))
    t.shapes.extend(_action_shapes(day, scale))
    t.shapes.extend(_tracked_shapes(day, flags, now, scale))
    return t


def _planned_shapes(day: Day, scale: _Scale) -> list[Shape]:
    """Lane 0: shift bars and schedule ticks."""
    x, hhmm = scale.x, scale.hhmm
    shapes: list[Shape] = []
    for shift in day.shifts():
        start, end = shift.start or day.start, shift.end or day.end
        text = f"shift {hhmm(start) if shift.start else '?'}-{hhmm(end) if shift.end else '?'}"
        shapes.append(
            Shape(
                "bar",
                0,
                x(start),
                max(x(end) - x(start), 2),
                "shift",
                f"{text} ({shift.source}) {shift.label}".strip(),
                shift.label or ("shift" if shift.end else "shift (end not known)"),
            )
        )
    for planned in day.planned:
        if planned.kind is TriggerKind.TICK:
            shapes.append(
                Shape(
                    "mark",
                    0,
                    x(planned.at),
                    0,
                    "fire",
                    f"{planned.source} fires at {hhmm(planned.at)}",
                )
            )
    return shapes


def _badge_shapes(day: Day, scale: _Scale) -> list[Shape]:
    """Lane 1: badge scans, applied or ignored."""
    x, hhmm = scale.x, scale.hhmm
    shapes: list[Shape] = []
    for o in day.badges:
        direction = {
            TriggerKind.BADGE_IN: "in",
            TriggerKind.BADGE_OUT: "out",
            TriggerKind.BADGE_SCAN: "scan",
        }[o.kind]
        applied = o.result in _GOOD or o.result in _NOOP
        css = f"badge badge-{direction}" + ("" if applied else " badge-ignored")
        why = "" if applied else f" — ignored: {o.result.value}, {o.reason}"
        shapes.append(
            Shape(
                "mark",
                1,
                x(o.occurred_at),
                0,
                css,
                f"badge {direction} {hhmm(o.occurred_at)} ({o.source}){why}",
                direction,
            )
        )
    for scan in day.ignored_scans:
        at = datetime.fromisoformat(scan["local"])
        shapes.append(
            Shape(
                "mark",
                1,
                x(at),
                0,
                "badge badge-ignored",
                f"scan {hhmm(at)} ({scan.get('source', '')}) — ignored: {scan.get('reason', '')}",
            )
        )
    return shapes


def _action_css(result: Result) -> str:
    if result in _GOOD:
        return "action action-ok"
    if result in _NOOP:
        return "action action-noop"
    if result in (Result.EXPIRED, Result.REJECTED, Result.FAILED, Result.MISSED):
        return "action action-bad"
    return "action action-skip"


def _action_shapes(day: Day, scale: _Scale) -> list[Shape]:
    """Lane 2: starts and stops with their outcome."""
    shapes: list[Shape] = []
    for o in day.actions:
        verb = o.verb.value if o.verb else "?"
        shapes.append(
            Shape(
                "mark",
                2,
                scale.x(o.occurred_at),
                0,
                _action_css(o.result),
                f"{verb} {scale.hhmm(o.occurred_at)} → {o.result.value}: {o.reason}",
                o.result.value,
            )
        )
    return shapes


def _tracked_shapes(day: Day, flags: list[Flag], now: datetime, scale: _Scale) -> list[Shape]:
    """Lane 3: tracked intervals (``now`` ends an open one) and the review flags."""
    x, hhmm = scale.x, scale.hhmm
    shapes: list[Shape] = []
    for interval in day.tracked(now):
        css = "tracked" + (" tracked-open" if interval.open_start or interval.open_end else "")
        title = (
            f"tracked {'≤' if interval.open_start else ''}{hhmm(interval.start)}-"
            f"{hhmm(interval.end)}{' (still running)' if interval.open_end else ''}"
        )
        shapes.append(
            Shape(
                "bar", 3, x(interval.start), max(x(interval.end) - x(interval.start), 2), css, title
            )
        )
    for flag in flags:
        shapes.append(Shape("mark", 3, x(flag.at), 0, "flag", f"review: {flag.message}", "!"))
    return shapes
