"""The shape of the files under ``rules/``: people, sources and rules.

These pydantic models are the contract between the operator's YAML and every component:
the rules engine reads ``rules.yaml`` and ``people.yaml``, the webhook receiver reads
``sources.yaml: webhooks``, the scheduler ``sources.yaml: calendars`` and ``schedules``.
Unknown keys are errors (``extra="forbid"``), so a typo never silently disables a rule.
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

import jmespath
from croniter import croniter
from jmespath.exceptions import IncompleteExpressionError, JMESPathError
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from worker.models import Result, TriggerKind, Verb, ZoneName

__all__ = [
    "AcceptSpec",
    "CalendarSource",
    "Closure",
    "CronExpr",
    "Do",
    "Duration",
    "FieldsSpec",
    "LocalTime",
    "NotifyPolicy",
    "NotifySpec",
    "On",
    "PeopleFile",
    "PersonSpec",
    "Policy",
    "Recipient",
    "RuleSpec",
    "RulesFile",
    "ScheduleSource",
    "SignatureSpec",
    "SourcesFile",
    "TimestampSpec",
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
Vendor = Literal[
    "standard", "kisi", "verkada", "unifi", "genea", "shared_secret", "webwork", "mapped"
]

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
Name = Annotated[str, Field(pattern=_NAME)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), AfterValidator(str.lower)]


#: The fixed recipients a ``notify: to:`` list may name (besides ``group:NAME``, ``channel:NAME``).
RECIPIENT_WORDS = ("person", "manager")


def _check_recipient(value: str) -> str:
    """``person``, ``manager``, ``group:NAME`` or ``channel:NAME``."""
    kind, sep, name = value.partition(":")
    if not sep and value in RECIPIENT_WORDS:
        return value
    if sep and kind in ("group", "channel") and re.fullmatch(_NAME, name):
        return value
    close = difflib.get_close_matches(value, [*RECIPIENT_WORDS, "group:", "channel:"], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"unknown recipient {value!r}: use person, manager, group:NAME or channel:NAME{hint}"
    )


Recipient = Annotated[str, AfterValidator(_check_recipient)]

#: The variables a notification template may use (``worker.notify.messages`` provides them).
NOTIFY_VARIABLES = (
    "person", "name", "to_person", "Whose", "your", "result", "rule", "reason", "source",
    "action", "at", "date", "zone", "last_badge", "last_badge_out",
)  # fmt: skip


def _check_notify_template(value: str) -> str:
    """A Jinja2 template that parses and names only :data:`NOTIFY_VARIABLES`."""
    from jinja2 import TemplateSyntaxError, meta
    from jinja2.sandbox import SandboxedEnvironment

    try:
        parsed = SandboxedEnvironment().parse(value)
    except TemplateSyntaxError as exc:
        raise ValueError(f"not a template: {exc.message} (template line {exc.lineno})") from None
    for name in sorted(meta.find_undeclared_variables(parsed)):
        if name not in NOTIFY_VARIABLES:
            close = difflib.get_close_matches(name, NOTIFY_VARIABLES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"unknown template variable {name!r}{hint}; known: {', '.join(NOTIFY_VARIABLES)}"
            )
    return value


NotifyTemplate = Annotated[str, AfterValidator(_check_notify_template)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- people.yaml


class Defaults(_Strict):
    timezone: ZoneName | None = None
    notify: list[Name] | None = None
    """Notification channels that reach a person at their email (AUTOCLOCK_NOTIFY_CHANNEL_*)."""
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
    manager: Email | None = None
    """The person's manager (a person in this file): ``manager`` in a rule's ``notify: to:``."""
    notify: list[Name] | None = None
    """Channels that reach this person (default: ``defaults.notify``); ``[]``: none."""


class PeopleFile(_Strict):
    defaults: Defaults = Defaults()
    groups: list[Name] = []
    """Every group a person or rule may name; naming another is an error."""
    people: list[PersonSpec] = []


# ---------------------------------------------------------------- sources.yaml


# ---------------------------------------------------------------- mapped webhook sources


def _check_expression(value: str) -> str:
    """A JMESPath expression that compiles; the error names the column of the mistake."""
    if not value.strip():
        raise ValueError("empty JMESPath expression")
    try:
        jmespath.compile(value)
    except IncompleteExpressionError:
        raise ValueError(f"not a JMESPath expression: it ends too early (in {value!r})") from None
    except JMESPathError as exc:
        position = getattr(exc, "lex_position", None)
        where = f" at column {position + 1}" if isinstance(position, int) else ""
        detail = str(getattr(exc, "message", "") or getattr(exc, "msg", "") or "invalid syntax")
        raise ValueError(
            f"not a JMESPath expression{where}: {detail.splitlines()[0]} (in {value!r})"
        ) from None
    except RecursionError:
        raise ValueError("not a JMESPath expression: nested too deeply") from None
    return value


TIME_FORMATS = ("auto", "iso8601", "unix", "unix_ms")


def _check_time_format(value: str) -> str:
    if value in TIME_FORMATS:
        return value
    if "%" not in value:
        raise ValueError(
            f"unknown time format {value!r}: use auto, iso8601, unix, unix_ms or a "
            "strptime pattern such as '%d/%m/%Y %H:%M:%S'"
        )
    sample = datetime(2026, 1, 5, 8, 58, 23, tzinfo=UTC)
    try:
        datetime.strptime(sample.strftime(value), value)
    except ValueError as exc:
        raise ValueError(f"time format {value!r} is not a usable strptime pattern: {exc}") from None
    return value


def _check_header(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", value):
        raise ValueError(f"not an HTTP header name: {value!r}")
    return value.lower()


Expression = Annotated[str, AfterValidator(_check_expression)]
"""A JMESPath expression (https://jmespath.org), evaluated on the JSON body."""
TimeFormat = Annotated[str, AfterValidator(_check_time_format)]
HeaderName = Annotated[str, AfterValidator(_check_header)]
SubjectKindName = Literal["email", "badge", "vendor_id", "auto"]
Accepted = str | bool | int
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
#: what a ``signed:`` template may name
SIGNED_PARTS = ("body", "timestamp", "id")


class TimestampSpec(_Strict):
    """Where a signed timestamp (Unix seconds) is, and how old it may be."""

    header: HeaderName
    prefix: str = ""
    """In a header holding several ``separator``-split entries: the entry starting with this
    (``t=`` for ``Signature: t=…,v1=…``); empty: the whole header (or its first entry)."""
    tolerance: Duration | None = None
    """Replay window; default ``AUTOCLOCK_WEBHOOK_TOLERANCE_S``."""


class SignatureSpec(_Strict):
    """How a mapped source's deliveries are signed (HMAC with the source's secret)."""

    algorithm: Literal["hmac-sha256", "hmac-sha1"]
    encoding: Literal["hex", "base64"]
    header: HeaderName
    prefix: str = ""
    """Text before the signature, e.g. ``sha256=`` or ``v1,``; entries without it are skipped."""
    separator: str | None = None
    """The header holds several entries split by this (``" "``, ``","``, ``"|"``); any may match."""
    signed: str = "{body}"
    """What is signed: ``{body}`` (the raw bytes), ``{timestamp}``, ``{id}`` and literal text."""
    timestamp: TimestampSpec | None = None
    id_header: HeaderName | None = None
    """Header with the delivery id: ``{id}`` in ``signed``; the event id if the body has none."""
    key_encoding: Literal["text", "base64"] = "text"
    """How the secret is the HMAC key: its UTF-8 ``text``, or ``base64`` of the key bytes (an
    optional ``whsec_`` prefix dropped, as Standard Webhooks secrets have)."""

    @model_validator(mode="after")
    def _template(self) -> SignatureSpec:
        names = _PLACEHOLDER.findall(self.signed)
        unknown = [n for n in names if n not in SIGNED_PARTS]
        if unknown:
            raise ValueError(
                f"signed: unknown placeholder {{{unknown[0]}}}"
                " (use {body}, {timestamp} and {id})"
            )
        if "body" not in names:
            raise ValueError("signed: the template must contain {body} (else the body is unsigned)")
        if "timestamp" in names and self.timestamp is None:
            raise ValueError("signed: {timestamp} needs a timestamp: block (its header)")
        if "id" in names and self.id_header is None:
            raise ValueError("signed: {id} needs id_header")
        if self.separator == "":
            raise ValueError("separator: must not be empty (omit it for a single value)")
        return self


class AcceptSpec(_Strict):
    """Which events count: anything else is acknowledged (2xx) and ignored with the reason."""

    event_types: Annotated[list[str], Field(min_length=1)]
    """Values of ``fields.event_type`` that are presence events (exact match)."""
    results: Annotated[list[Accepted], Field(min_length=1)] | None = None
    """Values of ``fields.result`` that mean "let in" (``granted``, ``true`` …)."""


DEFAULT_DIRECTIONS: dict[str, Literal["in", "out"]] = {
    "in": "in",
    "out": "out",
    "entry": "in",
    "exit": "out",
    "inbound": "in",
    "outbound": "out",
    "ingress": "in",
    "egress": "out",
    "enter": "in",
    "leave": "out",
}


class FieldsSpec(_Strict):
    """Where the facts of a delivery are, as JMESPath expressions on the JSON body."""

    event_id: Expression | None = None
    """The vendor's event id (dedupe key); default the ``signature.id_header`` (or
    ``webhook-id``) value."""
    event_type: Expression
    result: Expression | None = None
    accept: AcceptSpec
    subject: Expression
    subject_kind: SubjectKindName = "auto"
    """``auto``: an email when it contains ``@``, else a vendor id."""
    occurred_at: Expression
    occurred_at_format: TimeFormat = "auto"
    """``auto`` (ISO-8601 with a zone, or Unix seconds/ms), ``iso8601``, ``unix``, ``unix_ms``,
    or a strptime pattern."""
    occurred_at_timezone: ZoneName | None = None
    """Zone of times that carry none (required for a strptime pattern without ``%z``)."""
    direction: Expression | None = None
    directions: dict[str, Literal["in", "out"]] | None = None
    """Value of ``direction`` → in/out (case-insensitive); default in/out, entry/exit,
    inbound/outbound, ingress/egress, enter/leave."""
    door: Expression | None = None
    door_id: Expression | None = None
    timezone: Expression | None = None
    """IANA zone of the site, used when the person's zone is unknown."""

    @model_validator(mode="after")
    def _consistent(self) -> FieldsSpec:
        if self.accept.results is not None and self.result is None:
            raise ValueError("accept.results needs a result: expression")
        if self.result is not None and self.accept.results is None:
            raise ValueError("result: needs accept.results (the values that mean granted)")
        fmt = self.occurred_at_format
        if "%" in fmt and "%z" not in fmt and self.occurred_at_timezone is None:
            raise ValueError(
                f"occurred_at_format {fmt!r} has no %z: set occurred_at_timezone (IANA zone)"
            )
        if self.directions is not None and self.direction is None:
            raise ValueError("directions: needs a direction: expression")
        return self


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
    signature: SignatureSpec | None = None
    """``mapped`` only: how deliveries are signed."""
    fields: FieldsSpec | None = None
    """``mapped`` (required) and ``standard`` (optional): where the facts are in the body."""

    @model_validator(mode="after")
    def _unsigned_is_explicit(self) -> WebhookSource:
        if self.vendor == "shared_secret" and not self.allow_unsigned:
            raise ValueError("vendor shared_secret needs allow_unsigned: true (it cannot sign)")
        if self.signature is not None and self.vendor != "mapped":
            raise ValueError(f"signature: is for vendor mapped (vendor {self.vendor} has its own)")
        if self.fields is not None and self.vendor not in ("mapped", "standard"):
            raise ValueError(f"fields: is for vendors mapped and standard, not {self.vendor}")
        if self.vendor == "mapped":
            if self.fields is None:
                raise ValueError("vendor mapped needs a fields: block")
            if self.signature is None and not self.allow_unsigned:
                raise ValueError("vendor mapped needs a signature: block (or allow_unsigned: true)")
            has_id = self.signature is not None and self.signature.id_header is not None
            if self.fields.event_id is None and not has_id:
                raise ValueError(
                    "fields.event_id is required (or signature.id_header): it is the dedupe key"
                )
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
    all_: list[When] | None = Field(default=None, alias="all", min_length=1)
    """Every one of these condition sets holds."""
    any_: list[When] | None = Field(default=None, alias="any", min_length=1)
    """At least one of these condition sets holds."""
    not_: When | None = Field(default=None, alias="not")
    """This condition set does not hold."""


class Do(_Strict):
    action: Verb
    contract_id: int | None = None
    task_id: int | None = None
    description: str | None = None
    """Template: ``{person.name}``, ``{trigger.attributes[door]}``, ``{local_time}`` …"""


#: The results a rule's ``notify:`` reports when it names no ``on:``.
NOTIFY_ON = (Result.STARTED, Result.STOPPED, Result.REJECTED, Result.FAILED, Result.EXPIRED)


class NotifySpec(_Strict):
    """Who hears about this rule's outcomes: ``notify: {to: [person, manager]}``."""

    to: list[Recipient] = Field(min_length=1)
    on: list[Result] = list(NOTIFY_ON)
    """The results that notify (default: started, stopped, rejected, failed, expired)."""


class RuleSpec(_Strict):
    name: Name
    on: On
    when: When = When()
    do: Do
    max_delay: Duration | None = None
    """Latest acceptable delay between the trigger and the call; later ends ``expired``."""
    notify: NotifySpec | None = None


class Policy(_Strict):
    max_delay: Duration = timedelta(minutes=30)
    match: Literal["first"] = "first"
    """When several rules match, the first in file order decides (the others are reported)."""


class Closure(_Strict):
    """Planned days without automation (a plant shutdown, a strike day, an office closure).

    Checked like holidays: on the trigger's local date in each person's zone. A trigger for a
    selected person on a closure day ends ``paused``.
    """

    name: Name
    dates: list[date] = []
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    """``from``-``to``: every day in between, both included."""
    people: list[Email] = []
    groups: list[str] = []
    """Both empty: everyone."""
    reason: str | None = None

    @model_validator(mode="after")
    def _days(self) -> Closure:
        ranged = self.from_ is not None or self.to is not None
        if bool(self.dates) == ranged:
            raise ValueError("a closure needs either dates or from and to")
        if ranged and (self.from_ is None or self.to is None):
            raise ValueError("a closure range needs both from and to")
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise ValueError(f"closure ends ({self.to}) before it starts ({self.from_})")
        return self

    def covers(self, day: date) -> bool:
        """True when ``day`` is one of the closure's days."""
        if self.from_ is not None and self.to is not None:
            return self.from_ <= day <= self.to
        return day in self.dates


#: Who hears about an outcome class whatever its rule says (``notify: defaults:``).
NOTIFY_DEFAULTS: dict[Result, list[str]] = {
    Result.REJECTED: ["channel:operators"],
    Result.FAILED: ["channel:operators"],
}


class NotifyPolicy(_Strict):
    """``notify:`` at the top of rules.yaml."""

    defaults: dict[Result, list[Recipient]] = Field(
        default_factory=lambda: {k: list(v) for k, v in NOTIFY_DEFAULTS.items()}
    )
    """Recipients per outcome class, for every outcome of that class (with or without a rule).
    The built-in default sends ``rejected`` and ``failed`` to ``channel:operators`` when that
    channel is configured."""
    templates: dict[Result, NotifyTemplate] = {}
    """Message bodies per result, replacing the built-in ones (Jinja2, see docs)."""
    flags: list[Recipient] = ["person", "manager"]
    """Who hears about a review flag an outcome raises (the console's flags), once per flag."""
    quiet_hours: tuple[LocalTime, LocalTime] | None = None
    """``[from, to)`` in each recipient's zone: notifications wait for ``to``, then go as one
    digest."""


class RulesFile(_Strict):
    policy: Policy = Policy()
    notify: NotifyPolicy = NotifyPolicy()
    closures: list[Closure] = []
    rules: list[RuleSpec] = []
