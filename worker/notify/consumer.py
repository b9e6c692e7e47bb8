"""Read the outcome stream (a Redis consumer group) and enqueue one notification message per
recipient of each outcome the policy selects.

Runs after the pipeline recorded the outcome, by construction: it reads what was recorded.
An entry is acknowledged once its notifications are enqueued; entries a dead consumer left
unacknowledged are claimed again after :data:`RECLAIM_IDLE_MS`. Each notice is enqueued once
(a ``queued`` key per notice id), and the actor sends each once, so reading an entry twice
notifies once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis
from pydantic import ValidationError

from worker.clock import Clock, utcnow
from worker.logs import get_logger
from worker.models import Outcome, Result
from worker.notify.digests import DigestStore
from worker.notify.evidence import Evidence, day_outcomes, evidence_from, person_day
from worker.notify.flags import (
    flag_key,
    outcome_flags,
    shift_key,
    shift_starts,
    shift_window,
    shifts_without_clock_in,
    still_tracking,
)
from worker.notify.log import NotificationLog
from worker.notify.messages import render
from worker.notify.model import Notice, NoticeRecord, NoticeResult, notice_id
from worker.notify.policy import Target, channels_named, recipients, targets
from worker.notify.quiet import quiet_until
from worker.pipeline.outcomes import OutcomeLog
from worker.rules.day import Day, day_bounds
from worker.rules.directory import Person
from worker.rules.review import Flag
from worker.rules.ruleset import Ruleset
from worker.scheduler.planned import add_planned, planned_fires
from worker.settings import Settings

__all__ = ["GROUP", "OutcomeConsumer"]

log = get_logger(__name__)

GROUP = "notify"
RECLAIM_IDLE_MS = 60_000
#: How often entries another consumer left, and digests now due, are looked for.
CHORES_S = 1.0
#: How often the flags only time raises are looked for, and how many people per read.
SWEEP_S = 300.0
SWEEP_BATCH = 1000
BATCH = 100
#: How long one sweep holds a flag it is telling (another sweep leaves it alone meanwhile;
#: after a crash, a later sweep tells it).
FLAG_CLAIM_MS = 120_000


class OutcomeConsumer:
    """Turns recorded outcomes into enqueued :class:`Notice` messages."""

    def __init__(
        self,
        settings: Settings,
        outcomes: OutcomeLog,
        notices: NotificationLog,
        ruleset: Ruleset,
        enqueue: Callable[[Notice], None],
        *,
        name: str,
        digests: DigestStore | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.digests = digests or DigestStore(outcomes.client, outcomes.keys)
        self.clock = clock
        self.settings = settings
        self.outcomes = outcomes
        self.notices = notices
        self.ruleset = ruleset
        self.enqueue = enqueue
        self.name = name
        self._configured: tuple[Ruleset, frozenset[str]] | None = None

    def configured(self) -> frozenset[str]:
        """The channels the rules name that have a URL: worked out once per rules version
        (it walks the whole directory), not once per outcome."""
        ruleset = self.ruleset
        if self._configured is None or self._configured[0] is not ruleset:
            named = channels_named(ruleset)
            urls = frozenset(c for c in named if self.settings.notify_channel(c) is not None)
            self._configured = (ruleset, urls)
        return self._configured[1]

    @property
    def client(self) -> redis.Redis:
        return self.outcomes.client

    def ensure_group(self) -> None:
        """Create the consumer group at the stream's end (outcomes from now on)."""
        try:
            self.client.xgroup_create(self.outcomes.stream, GROUP, id="$", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def run(self, stop: threading.Event, *, block_ms: int = 1000) -> None:
        """Consume until ``stop`` is set; a Redis error waits and tries again."""
        next_sweep = 0.0
        while not stop.is_set():
            try:
                self.ensure_group()
                self.reclaim()
                next_chores = 0.0
                while not stop.is_set():
                    self.poll(block_ms=block_ms)
                    # not after every poll: under load a poll returns a few entries, and
                    # these cost a round trip each
                    if time.monotonic() >= next_chores:
                        self.reclaim()
                        self.release_digests()
                        next_chores = time.monotonic() + CHORES_S
                    if time.monotonic() >= next_sweep:
                        self.sweep()
                        next_sweep = time.monotonic() + SWEEP_S
            except (redis.RedisError, OSError) as exc:
                log.warning("notify consumer: redis unavailable", error=type(exc).__name__)
                stop.wait(1.0)

    def poll(self, *, block_ms: int = 1000) -> int:
        """Read and handle new entries; returns how many."""
        reply: Any = self.client.xreadgroup(
            GROUP, self.name, {self.outcomes.stream: ">"}, count=BATCH, block=block_ms
        )
        done: list[bytes] = []
        try:
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    self._handle_entry(entry_id, fields)
                    done.append(entry_id)
        finally:
            self._ack(done)
        return len(done)

    def _ack(self, entry_ids: list[bytes]) -> None:
        """Acknowledge handled entries in one call (a batch, not a round trip each)."""
        if entry_ids:
            self.client.xack(self.outcomes.stream, GROUP, *entry_ids)

    def reclaim(self) -> int:
        """Handle entries another consumer read but never acknowledged."""
        reply: Any = self.client.xautoclaim(
            self.outcomes.stream, GROUP, self.name, RECLAIM_IDLE_MS, "0-0", count=BATCH
        )
        entries = reply[1] if reply else []
        done: list[bytes] = []
        try:
            for entry_id, fields in entries:
                if fields:
                    self._handle_entry(entry_id, fields)
                done.append(entry_id)
        finally:
            self._ack(done)
        return len(entries)

    def _handle_entry(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        try:
            outcome = Outcome.model_validate(json.loads(fields[b"json"]))
        except (KeyError, ValueError, ValidationError):
            log.warning("notify consumer: unreadable outcome entry", entry=entry_id.decode())
        else:
            try:
                self.handle(outcome)
            except (redis.RedisError, OSError):
                raise  # not acknowledged: handled again once Redis answers
            except Exception:
                # a notification must never stop the others: say so loudly, move on
                log.exception("notify consumer: an outcome could not be handled")

    def notices_for(self, outcome: Outcome) -> list[Notice]:
        """The notices ``outcome`` calls for under the current rules."""
        return self.plan(outcome).notices

    def plan(self, outcome: Outcome) -> Plan:
        """The notices of ``outcome`` (its own, with the review flags it raises merged into
        the message of a recipient who gets one anyway) and the flags' keys."""
        ruleset = self.ruleset
        directory = ruleset.directory
        subject = directory.by_email(outcome.person) if outcome.person else None
        configured = self.configured()
        names = recipients(outcome, ruleset)
        found = targets(names, subject, directory, configured) if names else []
        flag_targets = (
            targets(ruleset.notify.flags, subject, directory, configured) if subject else []
        )
        if not found and not flag_targets:
            return Plan([], [])
        day = day_outcomes(self.outcomes, outcome, subject.zone) if subject else [outcome]
        evidence = evidence_from(day, outcome)
        notices = {
            (t.channel, t.address): self._notice(outcome, subject, t, evidence) for t in found
        }
        keys: list[str] = []
        if subject is not None and flag_targets:
            flags = [
                f
                for f in outcome_flags(outcome, subject, day, self.clock())
                if not self.notices.flag_seen(flag_key(subject, f))
            ]
            if flags:
                _merge_flags(notices, outcome, subject, flag_targets, flags)
                keys = [flag_key(subject, f) for f in flags]
        return Plan(list(notices.values()), keys)

    def _notice(
        self, outcome: Outcome, subject: Person | None, target: Target, evidence: Evidence
    ) -> Notice:
        to_person = subject is not None and target.address == subject.email
        text = render(
            outcome,
            subject,
            to_person=to_person,
            evidence=evidence,
            templates=self.ruleset.notify.templates,
        )
        return _notice_to(
            target,
            f"outcome:{outcome.delivery_id}",
            subject,
            person=outcome.person,
            result=outcome.result,
            title=text.title,
            body=text.body,
        )

    def handle(self, outcome: Outcome) -> int:
        """Enqueue (or hold for a digest) the notices of ``outcome`` not handled before;
        returns how many."""
        plan = self.plan(outcome)
        now = self.clock()
        handled = sum(self._dispatch(notice, now) for notice in plan.notices)
        for key in plan.flag_keys:
            self.notices.mark_flag(key)
        return handled

    def _dispatch(self, notice: Notice, now: datetime) -> bool:
        """Enqueue ``notice``, or hold it for the recipient's digest in quiet hours; False
        when it was handled before."""
        if self.notices.was_queued(notice.id):
            return False
        zone = ZoneInfo(notice.zone)
        window = self.ruleset.notify.quiet_hours
        release = quiet_until(now, zone, window) if notice.address else None
        if release is None:
            self.enqueue(notice)
        else:
            self.digests.hold(notice, release)
            self.notices.record(
                NoticeRecord.of(
                    notice,
                    NoticeResult.HELD,
                    f"quiet hours: in the digest at {release.astimezone(zone):%H:%M}",
                    0,
                )
            )
        self.notices.mark_queued(notice.id)
        return True

    def sweep(self) -> int:
        """Notify the flags only time raises, once each; returns how many.

        ``still-tracking``: a day over with the tracker still running as far as autoclock
        knows; ``shift-without-clock-in``: a planned shift that started (the grace ago) with
        no clock-in. Sweeps of several processes at once tell each flag once."""
        ruleset = self.ruleset
        configured = self.configured()
        now = self.clock()
        reached: Reached = {}
        for person in ruleset.directory.people:
            found = targets(ruleset.notify.flags, person, ruleset.directory, configured)
            if found:
                reached[person.email] = (person, found)
        told = 0
        for part in (self._sweep_still_tracking, self._sweep_shifts) if reached else ():
            try:
                told += part(reached, now)
            except (redis.RedisError, OSError):
                raise
            except Exception:
                # one kind of flag must never stop the other, nor the consumer: say so loudly
                log.exception("notify consumer: a sweep failed", sweep=part.__name__)
        return told

    def _sweep_still_tracking(self, reached: Reached, now: datetime) -> int:
        told = 0
        emails = list(reached)
        for i in range(0, len(emails), SWEEP_BATCH):
            last = self.outcomes.last_for(emails[i : i + SWEEP_BATCH])
            for email, outcome in last.items():
                person, found = reached[email]
                flag = still_tracking(person, outcome, now)
                if flag is not None:
                    told += self._tell(person, found, flag, now)
        return told

    def _sweep_shifts(self, reached: Reached, now: datetime) -> int:
        """The ``shift-without-clock-in`` flags of the shifts that started in the window.

        Each shift is decided once: flagged (told) or found with its clock-in — a start
        that counts for it stays in the outcome log, so a shift clear once stays clear — and
        remembered either way, so a day is read again only for shifts not decided yet."""
        start, end = shift_window(now)
        people = [person for person, _found in reached.values()]
        planned = planned_fires(
            self.client, self.outcomes.keys, self.ruleset, start, end, people=people
        )
        days: dict[tuple[str, date], tuple[Day, list[datetime]]] = {}
        for email, fires in planned.items():
            if email not in reached:
                continue
            person = reached[email][0]
            for at in shift_starts(fires, now):
                if not self.notices.flag_seen(shift_key(person, at)):
                    local = at.astimezone(person.zone).date()
                    day = Day(person, local, *day_bounds(person, local))
                    days.setdefault((email, local), (day, []))[1].append(at)
        add_planned(self.client, self.outcomes.keys, self.ruleset, (d for d, _ in days.values()))
        told = 0
        for day, starts in days.values():
            person = day.person
            day.outcomes = person_day(self.outcomes, person.email, person.zone, day.day)
            flagged = set()
            for flag in shifts_without_clock_in(day, now):
                flagged.add(flag.at)
                told += self._tell(person, reached[person.email][1], flag, now)
            for at in starts:
                if at not in flagged:  # it has its clock-in: nothing to tell, ever
                    self.notices.mark_flag(shift_key(person, at))
        return told

    def _tell(self, person: Person, found: list[Target], flag: Flag, now: datetime) -> bool:
        """Notify ``flag`` to ``found`` unless it was told, or another sweep is telling it."""
        key = flag_key(person, flag)
        if self.notices.flag_seen(key) or not self.notices.claim_flag(key, FLAG_CLAIM_MS):
            return False
        for target in found:
            self._dispatch(_flag_notice(person, target, flag), now)
        self.notices.mark_flag(key)
        return True

    def release_digests(self) -> int:
        """Enqueue one digest for every quiet period that has ended; returns how many."""
        due = self.digests.due(self.clock())
        for digest in due:
            self.enqueue(digest)
        return len(due)


@dataclass(frozen=True)
class Plan:
    notices: list[Notice]
    flag_keys: list[str]


#: The people the flags reach, by email: the person and their flag recipients.
Reached = dict[str, tuple[Person, list[Target]]]


def _merge_flags(
    notices: dict[tuple[str, str | None], Notice],
    outcome: Outcome,
    subject: Person,
    flag_targets: list[Target],
    flags: list[Flag],
) -> None:
    """Add the flags to the notice each flag recipient gets anyway, or a notice of their own."""
    text = "\n".join(f"Needs review: {f.message}." for f in flags)
    name = subject.name or subject.email
    for target in flag_targets:
        key = (target.channel, target.address)
        existing = notices.get(key)
        if existing is not None:
            notices[key] = existing.model_copy(update={"body": f"{existing.body}\n{text}"})
        else:
            notices[key] = _review_notice(
                target, f"flags:{outcome.delivery_id}", subject, f"{name}'s", text, outcome.result
            )


def _flag_notice(person: Person, target: Target, flag: Flag) -> Notice:
    """The notice of one flag the sweep found, to one of its recipients."""
    whose = "Your" if target.address == person.email else f"{person.name or person.email}'s"
    text = f"Needs review: {flag.message}."
    return _review_notice(target, f"flag:{flag_key(person, flag)}", person, whose, text)


def _review_notice(
    target: Target,
    about: str,
    subject: Person,
    whose: str,
    text: str,
    result: Result | None = None,
) -> Notice:
    """A "needs review" notice: ``whose`` ("Your", "Ana's") day, then the flags' ``text``."""
    return _notice_to(
        target,
        about,
        subject,
        person=subject.email,
        result=result,
        title=f"autoclock: {subject.name or subject.email} — needs review",
        body=f"{whose} day needs review.\n{text}",
    )


def _notice_to(
    target: Target,
    about: str,
    subject: Person | None,
    *,
    person: str | None,
    result: Result | None,
    title: str,
    body: str,
) -> Notice:
    """The notice about ``about`` to ``target``: its id (the dedupe key) is ``about``, the
    channel and the address; its zone the recipient's (a channel: the subject's)."""
    return Notice(
        id=notice_id(about, target.channel, target.address),
        about=about,
        channel=target.channel,
        address=target.address,
        recipient=target.recipient,
        person=person,
        zone=_zone(target.person or subject),
        result=result,
        title=title,
        body=body,
    )


def _zone(person: Person | None) -> str:
    return person.timezone if person is not None else "UTC"
