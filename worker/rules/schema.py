"""The shape of the files under ``rules/``: people, sources and rules.

These pydantic models are the contract between the operator's YAML and every component:
the rules engine reads ``rules.yaml`` and ``people.yaml``, the webhook receiver reads
``sources.yaml: webhooks``, the scheduler ``sources.yaml: calendars`` and ``schedules``.
Unknown keys are errors (``extra="forbid"``), so a typo never silently disables a rule.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from worker.models import TriggerKind, Verb

__all__ = [
    "CalendarSource",
    "CronExpr",
    "Do",
    "Duration",
    "LocalTime",
    "On",
    "PeopleFile",
    "PersonSpec",
    "Policy",
    "RuleSpec",
    "RulesFile",
    "ScheduleSource",
    "SourcesFile",
    "WebhookSource",
    "Weekday",
    "When",
    "ZoneName",
    "cron_problem",
    "parse_duration",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Direction = Literal["in", "out", "both"]
Vendor = Literal["standard", "kisi", "verkada", "unifi", "genea", "shared_secret", "webwork"]

_DURATION = re.compile(r"^\s*(?:(?P<h>\d+)h)?\s*(?:(?P<m>\d+)m)?\s*(?:(?P<s>\d+)s)?\s*$")
_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"


def parse_duration(value: object) -> timedelta:
    """``"90s"``, ``"15m"``, ``"1h30m"``, ``"-5m"`` or a number of seconds, as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip()
        sign = -1 if text.startswith("-") else 1
        match = _DURATION.match(text.lstrip("+-"))
        if match and any(match.groupdict().values()):
            parts = {k: int(v or 0) for k, v in match.groupdict().items()}
            return sign * timedelta(hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    raise ValueError(f"not a duration: {value!r} (use forms like 90s, 15m, 1h30m)")


def _parse_time(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 19:00 as the sexagesimal integer 1140
        return time(value // 60, value % 60) if 0 <= value < 24 * 60 else _bad_time(value)
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        hour, minute = (int(p) for p in value.strip().split(":"))
        if hour < 24 and minute < 60:
            return time(hour, minute)
    return _bad_time(value)


def _bad_time(value: object) -> time:
    raise ValueError(f"not a time of day: {value!r} (use HH:MM, e.g. 09:00)")


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


def cron_problem(expr: str) -> str | None:
    """Why ``expr`` is not a usable five-field cron expression, or ``None`` when it is."""
    fields = expr.split()
    if len(fields) != 5:
        return (
            f"cron expression {expr!r} has {len(fields)} fields; use five: minute hour "
            "day-of-month month day-of-week (e.g. '0 22 * * sun-thu')"
        )
    if not croniter.is_valid(expr):
        return (
            f"invalid cron expression {expr!r} (minute 0-59, hour 0-23, day 1-31 or L, "
            "month 1-12 or jan-dec, weekday 0-6 or sun-sat, L5 = last Friday, 6#2 = 2nd Saturday)"
        )
    return None


def _check_cron(value: str) -> str:
    why = cron_problem(value)
    if why is not None:
        raise ValueError(why)
    return " ".join(value.split())


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
CronExpr = Annotated[str, AfterValidator(_check_cron)]
LocalTime = Annotated[time, BeforeValidator(_parse_time)]
ZoneName = Annotated[str, AfterValidator(_check_zone)]
Name = Annotated[str, Field(pattern=_NAME)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), AfterValidator(str.lower)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- people.yaml


class Defaults(_Strict):
    timezone: ZoneName | None = None
    country: str | None = None
    subdivision: str | None = None
    contract_id: int | None = None
    task_id: int | None = None


class PersonSpec(_Strict):
    email: Email
    name: str | None = None
    user_id: int | None = None
    """WebWork user id; when absent it is resolved once by email (GET /members) and cached."""
    timezone: ZoneName | None = None
    country: str | None = None
    """ISO 3166-1 alpha-2, for public holidays (the `holidays` package)."""
    subdivision: str | None = None
    badges: list[str] = []
    """Badge / card numbers, as the door system reports them."""
    vendor_ids: dict[str, str] = {}
    """Vendor user ids, by webhook source name (or vendor), e.g. ``{kisi-hq: "482913"}``."""
    calendars: list[str] = []
    """Names of calendar sources that carry this person's shifts."""
    contract_id: int | None = None
    task_id: int | None = None
    groups: list[str] = []


class PeopleFile(_Strict):
    defaults: Defaults = Defaults()
    groups: list[Name] = []
    """Every group a person or rule may name; naming another is an error."""
    people: list[PersonSpec] = []


# ---------------------------------------------------------------- sources.yaml


class WebhookSource(_Strict):
    """``POST /hooks/<name>``; the secret is read from ``AUTOCLOCK_WEBHOOK_SECRET_<NAME>``."""

    name: Name
    vendor: Vendor
    doors: dict[str, Direction] = {}
    """Door name or id → direction. A door not listed uses ``default_direction``."""
    default_direction: Direction | None = "both"
    """``None``: scans at unlisted doors are ignored (recorded, 2xx)."""
    debounce: Duration = timedelta(seconds=60)
    """Scans by one person within this window count as one."""
    allow_unsigned: bool = False
    """Required for ``shared_secret``: the vendor cannot sign, a shared token header is all."""

    @model_validator(mode="after")
    def _unsigned_is_explicit(self) -> WebhookSource:
        if self.vendor == "shared_secret" and not self.allow_unsigned:
            raise ValueError("vendor shared_secret needs allow_unsigned: true (it cannot sign)")
        return self


class CalendarSource(_Strict):
    """An ICS feed (``url``) or file (``path``, relative to the rules directory)."""

    name: Name
    url: str | None = None
    path: str | None = None
    person: Email | None = None
    """The one person whose shifts this feed holds."""
    person_by: Literal["attendee", "summary"] | None = None
    """For a team feed: map each event to a person by attendee email or by summary pattern."""
    summary_pattern: str | None = None
    """Regex with a group named ``email`` or ``name``, for ``person_by: summary``."""
    timezone: ZoneName | None = None
    """Zone for floating times when the feed has no X-WR-TIMEZONE (else the person's)."""
    start_offset: Duration = timedelta(0)
    end_offset: Duration = timedelta(0)
    include_all_day: bool = False
    poll_interval: Duration = timedelta(minutes=10)

    @model_validator(mode="after")
    def _one_location(self) -> CalendarSource:
        if (self.url is None) == (self.path is None):
            raise ValueError("a calendar needs exactly one of url or path")
        if self.person_by == "summary" and not self.summary_pattern:
            raise ValueError("person_by: summary needs summary_pattern")
        if self.summary_pattern:
            try:
                re.compile(self.summary_pattern)
            except re.error as exc:
                raise ValueError(f"summary_pattern is not a valid regex: {exc}") from exc
        return self


class ScheduleSource(_Strict):
    """A time of day on some weekdays (``at``) or a cron expression (``cron``), fired for each
    selected person in their own zone."""

    name: Name
    at: LocalTime | None = None
    cron: CronExpr | None = None
    """Five fields, read on the person's wall clock, e.g. ``0 22 * * sun-thu``, ``0 17 * * L5``."""
    weekdays: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]
    """For ``at`` only (a cron expression names its own days)."""
    people: list[Email] = []
    groups: list[str] = []
    """Both empty: everyone in the directory."""
    kind: TriggerKind = TriggerKind.TICK

    @model_validator(mode="after")
    def _at_or_cron(self) -> ScheduleSource:
        if (self.at is None) == (self.cron is None):
            raise ValueError("a schedule needs exactly one of at or cron")
        if self.cron is not None and "weekdays" in self.model_fields_set:
            raise ValueError(
                "weekdays applies to at only: put the days in the cron expression "
                "(its fifth field, e.g. mon-fri)"
            )
        return self


class SourcesFile(_Strict):
    webhooks: list[WebhookSource] = []
    calendars: list[CalendarSource] = []
    schedules: list[ScheduleSource] = []


# ---------------------------------------------------------------- rules.yaml


class On(_Strict):
    source: str = "*"
    """Glob on the trigger's source: ``webhook:*``, ``calendar:shifts``, ``schedule:end-of-day``."""
    kind: TriggerKind | list[TriggerKind]
    attributes: dict[str, str] = {}
    """Attribute name → glob on its value (e.g. ``door: "Main*"``, ``summary: "*Night*"``)."""


class When(_Strict):
    weekdays: list[Weekday] | None = None
    between: tuple[LocalTime, LocalTime] | None = None
    """Local time window ``[from, to)`` in the person's zone; ``22:00``-``06:00`` crosses midnight.

    In the after-midnight part of a crossing window, weekdays and holidays are those of the
    day the window opened."""
    people: list[Email] | None = None
    groups: list[str] | None = None
    not_on_holiday: bool = False
    not_on_leave: bool = False
    tracking: bool | None = None
    """``true``: only if the person is tracking; ``false``: only if not (when the state is known:
    an unknown state does not exclude the rule)."""


class Do(_Strict):
    action: Verb
    contract_id: int | None = None
    task_id: int | None = None
    description: str | None = None
    """Template: ``{person.name}``, ``{trigger.attributes[door]}``, ``{local_time}`` …"""


class RuleSpec(_Strict):
    name: Name
    on: On
    when: When = When()
    do: Do
    max_delay: Duration | None = None
    """Latest acceptable delay between the trigger and the call; later ends ``expired``."""


class Policy(_Strict):
    max_delay: Duration = timedelta(minutes=30)
    match: Literal["first"] = "first"
    """When several rules match, the first in file order decides (the others are reported)."""


class RulesFile(_Strict):
    policy: Policy = Policy()
    rules: list[RuleSpec] = []
