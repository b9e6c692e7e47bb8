"""The scheduler loop: lead, poll feeds, and turn due fires into triggers — each exactly once.

Every ``settings.scheduler_tick_s`` seconds the leader (see :mod:`.leader`):

1. re-plans a calendar feed from its last good copy in Redis when that copy changed, when
   this process has not planned it yet, or hourly. Feeds are *fetched* off this path: in
   :meth:`Scheduler.run` a separate thread fetches each due feed (each on its own
   ``poll_interval``), so a slow or dead feed host delays no fire. (:meth:`Scheduler.tick`
   called on its own fetches due feeds first, inline, unless ``fetch=False``);
2. takes the window ``(cursor, now]``, where the cursor — the last instant processed, kept in
   Redis — survives restarts and leader changes (on the very first run: ``now - grace``);
3. for every schedule and calendar fire in the window, in time order, claims the fire
   (:mod:`.claims`) and then

   * ``at > now - grace``: enqueues its trigger (``late=True`` when it is more than
     ``late_after`` old — i.e. caught up after downtime or a leader hand-over; the rules'
     ``max_delay`` decides whether a late start still happens);
   * ``at <= now - grace``: records a ``missed`` outcome — never dropped silently;

4. advances the cursor to ``now`` (only forward), unless an enqueue failed: then the window
   is retried next tick (fires already handled stay claimed and are not repeated).

Catch-up looks back at most :data:`MAX_CATCHUP` (7 days); anything older is logged as not
examined. Followers only campaign for the lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import icalendar
import redis

from worker.clock import Clock, speed_of, utcnow
from worker.errors import QueueUnavailable
from worker.logs import get_logger
from worker.metrics.process import process_metrics
from worker.models import Outcome, Result
from worker.pipeline.broker import TriggerQueue
from worker.pipeline.outcomes import OutcomeLog
from worker.rules.ruleset import Ruleset
from worker.rules.schema import CalendarSource
from worker.scheduler.calendars import (
    CalendarError,
    CalendarPlan,
    calendar_fires,
    parse_calendar,
)
from worker.scheduler.claims import Claims
from worker.scheduler.feeds import FeedFetcher, feed_host
from worker.scheduler.fires import Fire
from worker.scheduler.leader import LeaderElector, LeaderLock
from worker.scheduler.plans import PlanStore
from worker.scheduler.schedules import schedule_fires
from worker.settings import Settings
from worker.store import Keys, RedisHandle

__all__ = ["MAX_CATCHUP", "Scheduler", "TickReport"]

log = get_logger(__name__)

#: How far back catch-up looks after downtime.
MAX_CATCHUP = timedelta(days=7)
#: How far ahead calendar feeds are planned.
HORIZON = timedelta(days=2)
#: Re-expand an unchanged feed this often (clock time), so its window moves with time.
REPLAN_EVERY = timedelta(hours=1)

_ADVANCE = """
local cur = redis.call('GET', KEYS[1])
if (not cur) or tonumber(cur) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


@dataclass
class TickReport:
    """What one tick did, by fire id."""

    now: datetime
    start: datetime | None = None
    enqueued: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    already_claimed: list[str] = field(default_factory=list)
    failed: bool = False


class Scheduler:
    """The scheduler of one process; ``run(stop_event)`` until the event is set.

    ``autoclock run`` starts it in a thread::

        stop = threading.Event()
        scheduler = Scheduler(settings, handle, ruleset, TriggerQueue(broker))
        threading.Thread(target=scheduler.run, args=(stop,)).start()
        ...
        stop.set()   # returns within one tick, releasing the leader lock
    """

    def __init__(
        self,
        settings: Settings,
        handle: RedisHandle | redis.Redis,
        ruleset: Ruleset,
        queue: TriggerQueue,
        *,
        outcomes: OutcomeLog | None = None,
        clock: Clock = utcnow,
        http: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.client: redis.Redis = handle.client if isinstance(handle, RedisHandle) else handle
        self.ruleset = ruleset
        self.queue = queue
        self.keys = Keys(settings.namespace)
        self.outcomes = outcomes or OutcomeLog(
            self.client, self.keys, maxlen=settings.history_maxlen
        )
        self.clock = clock
        self.grace = timedelta(seconds=settings.catchup_grace_s)
        self.late_after = max(
            timedelta(seconds=60),
            timedelta(seconds=3 * settings.scheduler_tick_s * speed_of(self.clock)),
        )
        self.lock = LeaderLock(
            self.client, self.keys("scheduler", "leader"), ttl_s=settings.leader_ttl_s
        )
        self.claims = Claims(
            self.client,
            self.keys,
            owner=self.lock.token,
            lock_key=self.lock.key,
            ttl_s=settings.dedupe_ttl_s,
        )
        self.feeds = FeedFetcher(self.client, self.keys, rules_dir=ruleset.root, http=http)
        self.plans = PlanStore(self.client, self.keys, retention=MAX_CATCHUP + timedelta(days=1))
        self._advance = self.client.register_script(_ADVANCE)
        self._next_poll: dict[str, datetime] = {}
        self.metrics = process_metrics()
        self.metrics.feeds(s.name for s in ruleset.sources.calendars)
        self.loop_at = time.monotonic()
        """When the loop last completed an iteration (``time.monotonic()``): liveness."""
        self._planned_at: dict[str, datetime] = {}
        self._parsed: dict[str, tuple[bytes, icalendar.Calendar]] = {}
        self._problems_logged: dict[str, tuple[str, ...]] = {}
        self._planned_sha: dict[str, str] = {}

    # ------------------------------------------------------------------ the cursor

    @property
    def cursor_key(self) -> str:
        return self.keys("scheduler", "cursor")

    def cursor(self) -> datetime | None:
        """The last instant the scheduler processed (any leader), or ``None`` before the first."""
        value = self.client.get(self.cursor_key)
        if value is None:
            return None
        return datetime.fromtimestamp(float(value), UTC)

    def _advance_cursor(self, now: datetime) -> None:
        self._advance(keys=[self.cursor_key], args=[repr(now.timestamp())])

    # ------------------------------------------------------------------ feeds

    def fetch_due_feeds(self, now: datetime) -> None:
        """Fetch the feeds whose ``poll_interval`` is up; copies (or errors) go to Redis."""
        for source in self.ruleset.sources.calendars:
            due = self._next_poll.get(source.name)
            if due is not None and now < due:
                continue
            self._next_poll[source.name] = now + source.poll_interval
            try:
                result = self.feeds.fetch(source, now)
            except Exception as exc:  # one bad feed must not stop the schedules and other feeds
                log.error("calendar feed fetch failed", feed=source.name, error=type(exc).__name__)
                self.metrics.feed_failed(source.name)
                continue
            if result.error is None:
                # Unix time for Prometheus, which ages it by its own clock: the real one even
                # when the scheduler runs on a simulated clock
                self.metrics.feed_fetched(source.name, time.time())
            else:
                self.metrics.feed_failed(source.name)

    def plan_feeds(self, now: datetime, window_start: datetime) -> None:
        """Re-plan the feeds whose stored copy changed, are unplanned here, or are stale."""
        for source in self.ruleset.sources.calendars:
            sha = self.feeds.stored_sha(source.name)
            if sha is None:
                continue
            planned = self._planned_at.get(source.name)
            stale = planned is None or now - planned >= REPLAN_EVERY or now < planned
            if not stale and sha == self._planned_sha.get(source.name):
                continue
            copy = self.feeds.stored(source.name)
            if copy is None:
                continue
            # tried once per copy (and hourly): a copy the expander refuses is not retried
            # every tick; the previous plan stays
            self._replan(source, copy.body, now, window_start)
            self._planned_sha[source.name] = copy.sha256
            self._planned_at[source.name] = now

    def _replan(self, source: CalendarSource, body: bytes, now: datetime, start: datetime) -> bool:
        cached = self._parsed.get(source.name)
        if cached is not None and cached[0] == body:
            calendar = cached[1]  # unchanged: the same calendar (its normalisation is cached)
        else:
            try:
                calendar = parse_calendar(body)
            except CalendarError as exc:  # the stored copy was checked, so this is unexpected
                log.error("calendar feed unreadable", feed=source.name, reason=str(exc))
                return False
            self._parsed[source.name] = (body, calendar)
        try:
            plan = calendar_fires(source, calendar, self.ruleset.directory, start, now + HORIZON)
        except Exception as exc:  # a feed the expander chokes on must not stop the others
            log.error(
                "calendar feed cannot be expanded; keeping its previous plan",
                feed=source.name,
                error=type(exc).__name__,
                reason=str(exc)[:200],
            )
            return False
        deleted = self.plans.replace(source.name, plan.fires, now=now, grace=self.grace)
        self.plans.set_problems(source.name, plan.events, plan.problems, now=now)
        self._planned_at[source.name] = now
        self._report_problems(source.name, plan)
        counts: dict[tuple[str, str], int] = {}
        for event in plan.events:
            key = (event.kind, "skipped" if event.skipped else "warning")
            counts[key] = counts.get(key, 0) + 1
        self.metrics.calendar_problems(source.name, counts)
        log.info(
            "calendar planned",
            feed=source.name,
            host=feed_host(source),
            fires=len(plan.fires),
            deleted=deleted,
            skipped=sum(1 for e in plan.events if e.skipped),
        )
        return True

    def _report_problems(self, feed: str, plan: CalendarPlan) -> None:
        """Log what the plan could not include, when it differs from the last plan's."""
        lines = tuple(plan.problems)
        if self._problems_logged.get(feed) == lines:
            return
        self._problems_logged[feed] = lines
        for event in plan.events[:50]:
            log.warning(
                "calendar event skipped" if event.skipped else "calendar event read with a warning",
                feed=feed,
                uid=event.uid[:120],
                kind=event.kind,
                reason=event.reason,
            )
        described = {e.line(feed) for e in plan.events}
        for problem in [p for p in plan.problems if p not in described][:20]:
            log.warning("calendar event not mapped", feed=feed, problem=problem)

    # ------------------------------------------------------------------ one tick

    def due_fires(
        self, start: datetime, end: datetime, *, calendar_start: datetime | None = None
    ) -> list[Fire]:
        """Every schedule fire with ``start < at <= end`` and planned calendar fire with
        ``calendar_start < at <= end`` (default ``start``), in time order; claims keep a fire
        seen twice from being enqueued twice."""
        fires = schedule_fires(self.ruleset.sources.schedules, self.ruleset.directory, start, end)
        for source in self.ruleset.sources.calendars:
            fires.extend(self.plans.due(source.name, calendar_start or start, end))
        fires.sort(key=lambda f: (f.at, f.id))
        return fires

    def tick(self, *, leading: Callable[[], bool] | None = None, fetch: bool = True) -> TickReport:
        """Process the window ``(cursor, now]`` once (call only while leading).

        ``fetch=False``: only the stored feed copies are planned (:meth:`run` fetches in its
        own thread)."""
        now = self.clock()
        report = TickReport(now=now)
        last = self.cursor()
        start = now - self.grace if last is None else last
        if now - start > MAX_CATCHUP:
            log.warning(
                "catch-up capped; older fires not examined",
                since=start.isoformat(),
                examined_from=(now - MAX_CATCHUP).isoformat(),
            )
            start = now - MAX_CATCHUP
        report.start = start
        # Calendars are re-read from the grace window too: a shift added or moved earlier
        # shortly before it starts is seen only after its start, and must still fire (late).
        calendar_start = min(start, now - self.grace)
        if fetch:
            self.fetch_due_feeds(now)
        self.plan_feeds(now, calendar_start)
        if now <= start:
            return report
        for fire in self.due_fires(start, now, calendar_start=calendar_start):
            if leading is not None and not leading():
                report.failed = True
                return report
            try:
                self._handle(fire, now, report)
            except (QueueUnavailable, redis.RedisError, OSError) as exc:
                log.warning(
                    "fire not handled; retrying next tick", fire=fire.id, error=type(exc).__name__
                )
                report.failed = True
                return report
        self._advance_cursor(now)
        return report

    def _handle(self, fire: Fire, now: datetime, report: TickReport) -> None:
        if not self.claims.claim(fire.id):
            report.already_claimed.append(fire.id)
            return
        delay = now - fire.at
        if fire.at <= now - self.grace:
            trigger = fire.trigger.model_copy(update={"received_at": now, "late": True})
            self.outcomes.record(
                Outcome.for_trigger(
                    trigger,
                    delivery_id=f"missed:{fire.id}",
                    result=Result.MISSED,
                    reason=(
                        f"the scheduler did not run at {fire.at.isoformat()}; "
                        f"{int(delay.total_seconds())} s late is beyond the catch-up grace "
                        f"of {int(self.grace.total_seconds())} s"
                    ),
                    person=fire.email,
                    rules_version=self.ruleset.version,  # the schedules that planned it
                )
            )
            self.claims.complete(fire.id, "missed")
            report.missed.append(fire.id)
            return
        late = delay > self.late_after
        trigger = fire.trigger.model_copy(update={"received_at": now, "late": late})
        try:
            self.queue.enqueue(trigger)
        except QueueUnavailable:
            self.claims.release(fire.id)
            raise
        self.claims.complete(fire.id, "done")
        report.enqueued.append(fire.id)
        if late:
            report.late.append(fire.id)
        log.info(
            "fire enqueued",
            fire=fire.id,
            kind=trigger.kind.value,
            at=fire.at.isoformat(),
            late=late,
            delay_s=round(delay.total_seconds(), 1),
        )

    # ------------------------------------------------------------------ the loop

    def _count(self, report: TickReport) -> None:
        self.metrics.fire("enqueued", len(report.enqueued) - len(report.late))
        self.metrics.fire("late", len(report.late))
        self.metrics.fire("missed", len(report.missed))
        self.metrics.fire("already_claimed", len(report.already_claimed))
        self.metrics.fire("failed", int(report.failed))

    def stalled_s(self) -> float:
        """Seconds since the loop last completed an iteration (liveness)."""
        return time.monotonic() - self.loop_at

    def _fetch_loop(self, stop: threading.Event, leading: Callable[[], bool]) -> None:
        """Fetch due feeds while leading, off the firing path (one feed at a time)."""
        while not stop.is_set():
            if leading():
                try:
                    self.fetch_due_feeds(self.clock())
                except Exception:  # keep fetching: log the bug, retry next round
                    log.exception("calendar feed fetching crashed")
            stop.wait(min(1.0, self.settings.scheduler_tick_s))

    def run(self, stop: threading.Event) -> None:
        """Campaign for leadership and tick while leading, until ``stop`` is set.

        Feeds are fetched by a second thread, so a slow feed host never delays a tick."""
        elector = LeaderElector(self.lock)
        elector.start()
        fetcher = threading.Thread(
            target=self._fetch_loop,
            args=(stop, elector.is_leader),
            name="autoclock-feeds",
            daemon=True,
        )
        if self.ruleset.sources.calendars:
            fetcher.start()
        log.info(
            "scheduler started",
            schedules=len(self.ruleset.sources.schedules),
            calendars=len(self.ruleset.sources.calendars),
            people=len(self.ruleset.directory),
            leading=elector.is_leader(),
        )
        try:
            while not stop.is_set():
                leading = elector.is_leader()
                self.metrics.leader(leading)
                if leading:
                    try:
                        self._count(self.tick(leading=elector.is_leader, fetch=False))
                    except (redis.RedisError, OSError) as exc:
                        log.warning("scheduler tick failed", error=type(exc).__name__)
                    except Exception:  # keep scheduling: log the bug, retry next tick
                        log.exception("scheduler tick crashed")
                self.loop_at = time.monotonic()
                self.metrics.scheduler_loop(time.time())  # real Unix time, as above
                stop.wait(self.settings.scheduler_tick_s)
        finally:
            self.metrics.leader(False)
            elector.stop(release=True)
            if fetcher.is_alive():
                fetcher.join(timeout=1)
            log.info("scheduler stopped")
