"""Load and check the files under ``rules/``: every problem, each with its file and line.

:func:`load_ruleset` reads ``people.yaml`` and ``rules.yaml`` (required) and
``sources.yaml`` (optional), validates them against :mod:`worker.rules.schema`, then checks
what a schema alone cannot: references between the files (groups, people, calendars,
sources), duplicate identities, holiday regions, templates, empty windows. It either
returns a :class:`Ruleset` or raises :class:`~worker.errors.RulesError` whose ``problems``
lists *every* mistake as ``path:line: reason`` — never just the first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, TypeVar, get_args

from pydantic import BaseModel, TypeAdapter, ValidationError

from worker.errors import RulesError
from worker.rules.directory import Directory, Person, normalise_id
from worker.rules.facts import supported_regions
from worker.rules.schema import (
    CalendarSource,
    Defaults,
    Do,
    Name,
    On,
    PeopleFile,
    PersonSpec,
    Policy,
    RulesFile,
    RuleSpec,
    ScheduleSource,
    SourcesFile,
    Vendor,
    WebhookSource,
    When,
)
from worker.rules.templates import check_template
from worker.rules.yamlsource import Path as YPath
from worker.rules.yamlsource import YamlDocument, parse_yaml

__all__ = [
    "PEOPLE_FILE",
    "RULES_FILE",
    "SOURCES_FILE",
    "Ruleset",
    "check_ruleset",
    "load_ruleset",
]

PEOPLE_FILE = "people.yaml"
SOURCES_FILE = "sources.yaml"
RULES_FILE = "rules.yaml"
_FILE_ORDER = {PEOPLE_FILE: 0, SOURCES_FILE: 1, RULES_FILE: 2}
_MAX_BYTES = 20 * 1024 * 1024

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Ruleset:
    """A loaded, checked ruleset: the directory, the rules in file order, policy, sources."""

    directory: Directory
    rules: tuple[RuleSpec, ...]
    policy: Policy
    sources: SourcesFile
    root: Path
    groups: tuple[str, ...] = ()

    def rule(self, name: str) -> RuleSpec | None:
        """The rule called ``name``, or ``None``."""
        return next((r for r in self.rules if r.name == name), None)

    def webhook(self, name: str) -> WebhookSource | None:
        """The webhook source called ``name``, or ``None``."""
        return next((w for w in self.sources.webhooks if w.name == name), None)

    def calendar(self, name: str) -> CalendarSource | None:
        """The calendar source called ``name``, or ``None``."""
        return next((c for c in self.sources.calendars if c.name == name), None)

    def schedule(self, name: str) -> ScheduleSource | None:
        """The schedule called ``name``, or ``None``."""
        return next((s for s in self.sources.schedules if s.name == name), None)

    def summary(self) -> str:
        """One line: how many people, groups, sources and rules."""
        s = self.sources
        return (
            f"{len(self.directory)} people, {len(self.groups)} groups, "
            f"{len(s.webhooks)} webhook sources, {len(s.calendars)} calendars, "
            f"{len(s.schedules)} schedules, {len(self.rules)} rules"
        )


def load_ruleset(rules_dir: Path, *, default_timezone: str = "UTC") -> Ruleset:
    """Load ``rules_dir``; raise :class:`RulesError` listing every problem as ``path:line: reason``.

    People without a ``timezone`` get ``defaults.timezone``, else ``default_timezone``
    (the ``AUTOCLOCK_TIMEZONE`` setting).
    """
    ruleset, problems = check_ruleset(rules_dir, default_timezone=default_timezone)
    if ruleset is None:
        raise RulesError(problems)
    return ruleset


def check_ruleset(
    rules_dir: Path, *, default_timezone: str = "UTC"
) -> tuple[Ruleset | None, list[str]]:
    """Like :func:`load_ruleset`, but return ``(ruleset or None, problems)`` instead of raising."""
    loader = _Loader(Path(rules_dir), default_timezone)
    return loader.run()


# ------------------------------------------------------------------ internals


@dataclass
class _File:
    name: str
    label: str
    doc: YamlDocument
    raw: dict[str, Any] = field(default_factory=dict)
    broken: bool = False
    """Unreadable or unparsable: references into it are not checked (they would all fail)."""


class _Loader:
    def __init__(self, root: Path, default_timezone: str) -> None:
        self.root = root
        self.default_timezone = default_timezone
        self.problems: list[tuple[int, int, int, str]] = []
        self.sources_known = True  # False when sources.yaml could not be read or parsed
        self.people_known = True  # False when people.yaml could not be read or parsed

    # -- reporting

    def add(self, file: _File | str, line: int, reason: str) -> None:
        name = file.name if isinstance(file, _File) else file
        label = file.label if isinstance(file, _File) else str(self.root / file)
        self.problems.append(
            (_FILE_ORDER.get(name, 9), line, len(self.problems), f"{label}:{line}: {reason}")
        )

    def at(self, file: _File, path: YPath, reason: str) -> None:
        self.add(file, file.doc.line_of(path), reason)

    # -- the run

    def run(self) -> tuple[Ruleset | None, list[str]]:
        if not self.root.is_dir():
            return None, [f"{self.root}:1: rules directory not found"]
        people_f = self._read(PEOPLE_FILE, required=True)
        sources_f = self._read(SOURCES_FILE, required=False)
        rules_f = self._read(RULES_FILE, required=True)

        people_file = self._validate(people_f, PeopleFile)
        sources_file = self._validate(sources_f, SourcesFile)
        rules_file = self._validate(rules_f, RulesFile)

        # Field by field, so one bad value does not hide the cross-file mistakes around it.
        defaults = _fields(Defaults, people_f.raw.get("defaults"))
        groups = self._items(people_f, "groups", Name)
        people = self._records(people_f, "people", PersonSpec)
        webhooks = self._records(sources_f, "webhooks", WebhookSource)
        calendars = self._records(sources_f, "calendars", CalendarSource)
        schedules = self._records(sources_f, "schedules", ScheduleSource)
        rules = self._records(rules_f, "rules", RuleSpec)
        policy = _fields(Policy, rules_f.raw.get("policy"))

        declared = self._check_groups(people_f, groups)
        self.sources_known = not sources_f.broken
        self.people_known = not people_f.broken
        emails = self._check_people(people_f, defaults, people, declared, webhooks, calendars)
        self._check_sources(sources_f, webhooks, calendars, schedules, emails, declared)
        self._check_rules(rules_f, rules, policy, emails, declared, webhooks, calendars, schedules)

        problems = [text for *_, text in sorted(self.problems)]
        if problems or people_file is None or sources_file is None or rules_file is None:
            return None, problems or [f"{self.root}:1: invalid rules"]
        persons = [self._person(spec, people_file.defaults) for spec in people_file.people]
        vendors = {w.name: w.vendor for w in sources_file.webhooks}
        ruleset = Ruleset(
            directory=Directory(persons, vendors=vendors),
            rules=tuple(rules_file.rules),
            policy=rules_file.policy,
            sources=sources_file,
            root=self.root,
            groups=tuple(people_file.groups),
        )
        return ruleset, []

    def _read(self, name: str, *, required: bool) -> _File:
        path = self.root / name
        file = _File(name, str(path), YamlDocument(None))
        if not path.exists():
            if required:
                self.add(file, 1, f"required file {name} is missing")
            return file
        try:
            if path.stat().st_size > _MAX_BYTES:
                file.broken = True
                self.add(file, 1, f"file is larger than {_MAX_BYTES // (1024 * 1024)} MiB")
                return file
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            file.broken = True
            self.add(file, 1, "file is not UTF-8 text")
            return file
        except OSError as exc:
            file.broken = True
            self.add(file, 1, f"cannot read: {exc.strerror or exc}")
            return file
        file.doc = parse_yaml(text)
        for problem in file.doc.problems:
            self.add(file, problem.line, problem.reason)
        file.broken = file.doc.data is None and bool(file.doc.problems)
        if file.doc.data is None:
            file.raw = {}
        elif isinstance(file.doc.data, dict):
            file.raw = file.doc.data
        else:
            file.broken = True
            self.add(
                file,
                file.doc.line_of(()),
                f"the top level of {name} must be a mapping of keys (got a "
                f"{type(file.doc.data).__name__})",
            )
        return file

    def _validate(self, file: _File, model: type[M]) -> M | None:
        try:
            return model.model_validate(file.raw)
        except ValidationError as exc:
            seen: set[tuple[int, str]] = set()
            for err in exc.errors():
                loc = tuple(err["loc"])
                line = file.doc.line_of(loc)
                where = _where(loc)
                if (line, where) in seen:  # the other branches of a union: one message is enough
                    continue
                seen.add((line, where))
                self.add(file, line, f"{where}: {_message(err)}" if where else _message(err))
            return None

    def _items(self, file: _File, key: str, item: Any) -> list[tuple[int, Any]]:
        """The list items under ``key`` that are valid on their own, with their index."""
        values = file.raw.get(key)
        if not isinstance(values, list):
            return []
        adapter = _adapter(item)
        out: list[tuple[int, Any]] = []
        for index, value in enumerate(values):
            try:
                out.append((index, adapter.validate_python(value)))
            except ValidationError:
                continue  # reported by _validate
        return out

    def _records(self, file: _File, key: str, model: type[BaseModel]) -> list[tuple[int, _Rec]]:
        """Each list item under ``key`` as the dict of its fields that are valid on their own."""
        values = file.raw.get(key)
        if not isinstance(values, list):
            return []
        return [(i, _fields(model, v)) for i, v in enumerate(values) if isinstance(v, dict)]

    # -- cross-checks

    def _check_groups(self, f: _File, groups: list[tuple[int, str]]) -> set[str]:
        declared: dict[str, int] = {}
        for index, group in groups:
            if group in declared:
                self.at(f, ("groups", index), f"group {group!r} is declared twice")
            declared.setdefault(group, index)
        return set(declared)

    def _check_people(
        self,
        f: _File,
        defaults: _Rec,
        people: list[tuple[int, _Rec]],
        declared: set[str],
        webhooks: list[tuple[int, _Rec]],
        calendars: list[tuple[int, _Rec]],
    ) -> set[str]:
        self._check_region(f, ("defaults",), defaults.get("country"), defaults.get("subdivision"))
        vendor_keys = {w["name"] for _, w in webhooks if "name" in w} | set(get_args(Vendor))
        calendar_names = {c["name"] for _, c in calendars if "name" in c}
        owners: dict[int, str] = {i: p.get("email", f"people[{i}]") for i, p in people}
        emails: dict[str, int] = {}
        badges: dict[str, int] = {}
        vendor_ids: dict[tuple[str, str], int] = {}
        user_ids: dict[int, int] = {}

        def other(i: int, j: int) -> str:
            if i == j:
                return "this person"
            return f"{owners[j]} (line {f.doc.line_of(('people', j))})"

        for i, p in people:
            here: YPath = ("people", i)
            email = p.get("email")
            if email is not None:
                if email in emails:
                    self.at(
                        f,
                        (*here, "email"),
                        f"email {email} is also used by {other(i, emails[email])}",
                    )
                emails.setdefault(email, i)
            user_id = p.get("user_id")
            if user_id is not None:
                if user_id in user_ids:
                    self.at(
                        f,
                        (*here, "user_id"),
                        f"user_id {user_id} is also used by {other(i, user_ids[user_id])}",
                    )
                user_ids.setdefault(user_id, i)
            for k, badge in enumerate(p.get("badges", ())):
                norm = normalise_id(badge)
                if not norm:
                    self.at(f, (*here, "badges", k), "empty badge id")
                    continue
                if norm in badges:
                    self.at(
                        f,
                        (*here, "badges", k),
                        f"badge {badge!r} is also listed for {other(i, badges[norm])}",
                    )
                badges.setdefault(norm, i)
            for key, value in p.get("vendor_ids", {}).items():
                if key not in vendor_keys and self.sources_known:
                    self.at(
                        f,
                        (*here, "vendor_ids", key),
                        f"vendor_ids key {key!r} is neither a webhook source in "
                        f"{SOURCES_FILE} nor a vendor{_suggest(key, vendor_keys)}",
                    )
                ident = (key, normalise_id(value))
                if ident in vendor_ids:
                    self.at(
                        f,
                        (*here, "vendor_ids", key),
                        f"{key} id {value!r} is also used by {other(i, vendor_ids[ident])}",
                    )
                vendor_ids.setdefault(ident, i)
            for k, cal in enumerate(p.get("calendars", ())):
                if cal not in calendar_names and self.sources_known:
                    self.at(
                        f,
                        (*here, "calendars", k),
                        f"unknown calendar {cal!r}: not a calendar source in {SOURCES_FILE}"
                        f"{_suggest(cal, calendar_names)}",
                    )
            self._check_group_refs(f, (*here, "groups"), p.get("groups"), declared)
            if p.get("country") or p.get("subdivision"):
                country = p.get("country") or defaults.get("country")
                self._check_region(f, here, country, p.get("subdivision"))
        return set(emails)

    def _check_region(self, f: _File, path: YPath, country: str | None, sub: str | None) -> None:
        regions = supported_regions()
        if country is None:
            if sub is not None:
                self.at(f, (*path, "subdivision"), "a subdivision needs a country")
            return
        if country not in regions:
            self.at(
                f,
                (*path, "country"),
                f"unknown country {country!r} for public holidays (use an ISO 3166-1 "
                f"alpha-2 code such as DE, US, AU){_suggest(country, regions)}",
            )
        elif sub is not None and sub not in regions[country]:
            self.at(
                f,
                (*path, "subdivision"),
                f"unknown subdivision {sub!r} of {country} (known: "
                f"{', '.join(sorted(regions[country]))})",
            )

    def _check_group_refs(
        self, f: _File, path: YPath, groups: Iterable[str] | None, declared: set[str]
    ) -> None:
        for k, group in enumerate(groups or ()):
            if group not in declared and self.people_known:
                known = ", ".join(sorted(declared)) if declared else "none"
                self.at(
                    f,
                    (*path, k),
                    f"unknown group {group!r}: not declared in "
                    f"{PEOPLE_FILE} groups (declared: {known}){_suggest(group, declared)}",
                )

    def _check_people_refs(
        self, f: _File, path: YPath, people: Iterable[str] | None, emails: set[str]
    ) -> None:
        for k, email in enumerate(people or ()):
            if email not in emails and self.people_known:
                self.at(
                    f,
                    (*path, k),
                    f"unknown person {email}: not in {PEOPLE_FILE}{_suggest(email, emails)}",
                )

    def _check_names(self, f: _File, section: str, items: list[tuple[int, _Rec]]) -> None:
        names: dict[str, int] = {}
        what = "rule" if section == "rules" else section[:-1]
        for i, item in items:
            name = item.get("name")
            if name is None:
                continue
            if name in names:
                first = f.doc.line_of((section, names[name]))
                self.at(
                    f,
                    (section, i, "name"),
                    f"{what} name {name!r} is used twice (first on line {first})",
                )
            names.setdefault(name, i)

    def _check_sources(
        self,
        f: _File,
        webhooks: list[tuple[int, _Rec]],
        calendars: list[tuple[int, _Rec]],
        schedules: list[tuple[int, _Rec]],
        emails: set[str],
        declared: set[str],
    ) -> None:
        self._check_names(f, "webhooks", webhooks)
        self._check_names(f, "calendars", calendars)
        self._check_names(f, "schedules", schedules)
        for i, cal in calendars:
            person = cal.get("person")
            if person is not None and person not in emails and self.people_known:
                self.at(
                    f,
                    ("calendars", i, "person"),
                    f"unknown person {person}: not in {PEOPLE_FILE}{_suggest(person, emails)}",
                )
            path = cal.get("path")
            if path is not None and not (self.root / path).is_file():
                self.at(
                    f,
                    ("calendars", i, "path"),
                    f"calendar file {path} not found (relative to {self.root})",
                )
        for i, sched in schedules:
            self._check_people_refs(f, ("schedules", i, "people"), sched.get("people"), emails)
            self._check_group_refs(f, ("schedules", i, "groups"), sched.get("groups"), declared)
            if sched.get("weekdays") == []:
                self.at(f, ("schedules", i, "weekdays"), "empty weekdays: it would never fire")

    def _check_rules(
        self,
        f: _File,
        rules: list[tuple[int, _Rec]],
        policy: _Rec,
        emails: set[str],
        declared: set[str],
        webhooks: list[tuple[int, _Rec]],
        calendars: list[tuple[int, _Rec]],
        schedules: list[tuple[int, _Rec]],
    ) -> None:
        delay = policy.get("max_delay")
        if delay is not None and delay <= timedelta(0):
            self.at(f, ("policy", "max_delay"), "max_delay must be positive")
        known = {
            "webhook": {w["name"] for _, w in webhooks if "name" in w},
            "calendar": {c["name"] for _, c in calendars if "name" in c},
            "schedule": {s["name"] for _, s in schedules if "name" in s},
        }
        self._check_names(f, "rules", rules)
        for i, rule in rules:
            here: YPath = ("rules", i)
            on = rule.get("on")
            if isinstance(on, On):
                self._check_source_ref(f, (*here, "on", "source"), on.source, known)
            when = rule.get("when")
            if isinstance(when, When):
                self._check_people_refs(f, (*here, "when", "people"), when.people, emails)
                self._check_group_refs(f, (*here, "when", "groups"), when.groups, declared)
                if when.weekdays is not None and not when.weekdays:
                    self.at(
                        f, (*here, "when", "weekdays"), "empty weekdays: the rule never matches"
                    )
                if when.between is not None and when.between[0] == when.between[1]:
                    self.at(
                        f, (*here, "when", "between"), "empty time window: from and to are equal"
                    )
            delay = rule.get("max_delay")
            if delay is not None and delay <= timedelta(0):
                self.at(f, (*here, "max_delay"), "max_delay must be positive")
            do = rule.get("do")
            if isinstance(do, Do) and do.description is not None:
                why = check_template(do.description)
                if why:
                    self.at(f, (*here, "do", "description"), why)

    def _check_source_ref(
        self, f: _File, path: YPath, pattern: str, known: Mapping[str, set[str]]
    ) -> None:
        if any(ch in pattern for ch in "*?[") or not self.sources_known:
            return  # a glob may legitimately match nothing yet
        prefix, _, name = pattern.partition(":")
        if prefix in known and name not in known[prefix]:
            self.at(
                f,
                path,
                f"unknown source {pattern!r}: no {prefix} named {name!r} in "
                f"{SOURCES_FILE}{_suggest(name, known[prefix])}",
            )
        elif prefix not in known and pattern != "manual":
            self.at(
                f,
                path,
                f"unknown source {pattern!r}: use webhook:<name>, "
                "calendar:<name>, schedule:<name>, manual, or a glob such as webhook:*",
            )

    def _person(self, spec: PersonSpec, defaults: Defaults) -> Person:
        country = spec.country or defaults.country
        subdivision = (
            spec.subdivision if spec.country else (spec.subdivision or defaults.subdivision)
        )
        return Person(
            email=spec.email,
            name=spec.name,
            user_id=spec.user_id,
            timezone=spec.timezone or defaults.timezone or self.default_timezone,
            country=country,
            subdivision=subdivision,
            badges=tuple(b.strip() for b in spec.badges),
            vendor_ids=MappingProxyType(dict(spec.vendor_ids)),
            calendars=tuple(spec.calendars),
            contract_id=spec.contract_id if spec.contract_id is not None else defaults.contract_id,
            task_id=spec.task_id if spec.task_id is not None else defaults.task_id,
            groups=tuple(spec.groups),
        )


_Rec = dict[str, Any]


def _fields(model: type[BaseModel], raw: Any) -> _Rec:
    """The fields of ``raw`` that are valid on their own (plus defaults of absent ones).

    Used only for cross-checks: the errors of the invalid fields are reported by the
    whole-file validation.
    """
    out: _Rec = {}
    if raw is not None and not isinstance(raw, dict):
        return out
    raw = raw or {}
    for name, info in model.model_fields.items():
        if name not in raw:
            if not info.is_required():
                out[name] = info.get_default(call_default_factory=True)
            continue
        try:
            out[name] = _field_adapter(model, name).validate_python(raw[name])
        except ValidationError:
            continue
    return out


@lru_cache(maxsize=256)
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    annotation: Any = info.annotation
    if info.metadata:
        annotation = Annotated[(annotation, *info.metadata)]
    return TypeAdapter(annotation)


@lru_cache(maxsize=32)
def _adapter(item: Any) -> TypeAdapter[Any]:
    return TypeAdapter(item)


_LABEL = re.compile(r"^[A-Za-z_][\w-]*$")


def _where(loc: tuple[Any, ...]) -> str:
    """``("rules", 2, "when", "between", 0)`` → ``rules[2].when.between[0]``.

    Pydantic's union-branch labels (``list[...]``, ``function-after[...]``) are dropped.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and (_LABEL.match(part) or "@" in part):
            out += f".{part}" if out else part
    return out


@lru_cache(maxsize=1)
def _all_keys() -> frozenset[str]:
    keys: set[str] = set()
    for model in (
        PeopleFile,
        Defaults,
        PersonSpec,
        SourcesFile,
        WebhookSource,
        CalendarSource,
        ScheduleSource,
        RulesFile,
        Policy,
        RuleSpec,
        On,
        When,
        Do,
    ):
        keys.update(model.model_fields)
    return frozenset(keys)


def _suggest(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _message(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    loc = err["loc"]
    value = err.get("input")
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        return f"unknown key {key!r}{_suggest(key, _all_keys())}"
    if kind == "missing":
        return "required key is missing"
    if kind in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return f'expected text, got the number {value}: quote it, e.g. "{value}"'
    if kind == "model_type" or kind == "dict_type":
        return f"expected a mapping of keys, got {_show(value)}"
    if kind == "list_type":
        return f"expected a list, got {_show(value)}"
    return f"{msg} (got {_show(value)})"


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
