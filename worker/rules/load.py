"""Read the files under ``rules/`` and build a :class:`Ruleset`, or list every problem.

:func:`load_ruleset` reads ``people.yaml`` and ``rules.yaml`` (required) and
``sources.yaml`` (optional), validates them against :mod:`worker.rules.schema`, then runs
the cross-checks of :mod:`worker.rules.checks`. It either returns a :class:`Ruleset` or
raises :class:`~worker.errors.RulesError` whose ``problems`` lists *every* mistake as
``path:line: reason`` — never just the first.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from worker.errors import RulesError
from worker.rules import checks
from worker.rules.checks import File, Rec, Records, Report
from worker.rules.directory import Directory, Person
from worker.rules.messages import message, where
from worker.rules.ruleset import PEOPLE_FILE, RULES_FILE, SOURCES_FILE, Ruleset
from worker.rules.schema import (
    CalendarSource,
    Closure,
    Defaults,
    Name,
    NotifyPolicy,
    PeopleFile,
    PersonSpec,
    Policy,
    RulesFile,
    RuleSpec,
    ScheduleSource,
    SourcesFile,
    WebhookSource,
)
from worker.rules.yamlsource import YamlDocument, parse_yaml

__all__ = ["check_ruleset", "load_ruleset"]

_MAX_BYTES = 20 * 1024 * 1024

M = TypeVar("M", bound=BaseModel)


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
    root = Path(rules_dir)
    if not root.is_dir():
        return None, [f"{root}:1: rules directory not found"]
    report = Report(root)
    people_f = _read(report, PEOPLE_FILE, required=True)
    sources_f = _read(report, SOURCES_FILE, required=False)
    rules_f = _read(report, RULES_FILE, required=True)

    people_file = _validate(report, people_f, PeopleFile)
    sources_file = _validate(report, sources_f, SourcesFile)
    rules_file = _validate(report, rules_f, RulesFile)

    _cross_check(report, people_f, sources_f, rules_f)

    problems = report.texts()
    if problems or people_file is None or sources_file is None or rules_file is None:
        return None, problems or [f"{root}:1: invalid rules"]
    persons = [_person(spec, people_file.defaults, default_timezone) for spec in people_file.people]
    vendors = {w.name: w.vendor for w in sources_file.webhooks}
    ruleset = Ruleset(
        directory=Directory(persons, vendors=vendors),
        rules=tuple(rules_file.rules),
        policy=rules_file.policy,
        sources=sources_file,
        root=root,
        groups=tuple(people_file.groups),
        closures=tuple(rules_file.closures),
        notify=rules_file.notify,
        version=_version(people_f, sources_f, rules_f),
    )
    return ruleset, []


def _version(*files: File) -> str:
    """The first 12 hex digits of a SHA-256 over the files' names and texts."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.name}\0{len(file.text)}\0{file.text}".encode())
    return digest.hexdigest()[:12]


def _cross_check(report: Report, people_f: File, sources_f: File, rules_f: File) -> None:
    """Field by field, so one bad value does not hide the cross-file mistakes around it."""
    report.sources_known = not sources_f.broken
    report.people_known = not people_f.broken
    sources = {
        "webhooks": _records(sources_f, "webhooks", WebhookSource),
        "calendars": _records(sources_f, "calendars", CalendarSource),
        "schedules": _records(sources_f, "schedules", ScheduleSource),
    }
    declared = checks.check_groups(report, people_f, _items(people_f, "groups", Name))
    emails = checks.check_people(
        report,
        people_f,
        _fields(Defaults, people_f.raw.get("defaults")),
        _records(people_f, "people", PersonSpec),
        declared,
        sources,
    )
    checks.check_sources(report, sources_f, sources, emails, declared)
    checks.check_policy(report, rules_f, _fields(Policy, rules_f.raw.get("policy")))
    checks.check_closures(
        report, rules_f, _records(rules_f, "closures", Closure), (emails, declared)
    )
    checks.check_rules(
        report, rules_f, _records(rules_f, "rules", RuleSpec), (emails, declared), sources
    )
    checks.check_notify(report, rules_f, _fields(NotifyPolicy, rules_f.raw.get("notify")), declared)


def _read(report: Report, name: str, *, required: bool) -> File:
    path = report.root / name
    file = File(name, str(path), YamlDocument(None))
    if not path.exists():
        if required:
            report.add(file, 1, f"required file {name} is missing")
        return file
    text = _read_text(report, file, path)
    if text is None:
        file.broken = True
        return file
    file.text = text
    file.doc = parse_yaml(text)
    for problem in file.doc.problems:
        report.add(file, problem.line, problem.reason)
    file.broken = file.doc.data is None and bool(file.doc.problems)
    if file.doc.data is None and required and not file.doc.problems:
        # an empty file (or only comments) is an accident, not a site with nobody in it:
        # every trigger would end unknown_person / no_rule while everything looks fine
        what = "people" if name == PEOPLE_FILE else "rules"
        report.add(file, 1, f"{name} is empty: it lists no {what}")
    if file.doc.data is None:
        file.raw = {}
    elif isinstance(file.doc.data, dict):
        file.raw = file.doc.data
    else:
        file.broken = True
        report.add(
            file,
            file.doc.line_of(()),
            f"the top level of {name} must be a mapping of keys (got a "
            f"{type(file.doc.data).__name__})",
        )
    return file


def _read_text(report: Report, file: File, path: Path) -> str | None:
    try:
        if path.stat().st_size > _MAX_BYTES:
            report.add(file, 1, f"file is larger than {_MAX_BYTES // (1024 * 1024)} MiB")
            return None
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        report.add(file, 1, "file is not UTF-8 text")
    except OSError as exc:
        report.add(file, 1, f"cannot read: {exc.strerror or exc}")
    return None


def _validate(report: Report, file: File, model: type[M]) -> M | None:
    try:
        return model.model_validate(file.raw)
    except ValidationError as exc:
        seen: set[tuple[int, str]] = set()
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = file.doc.line_of(loc)
            at = where(loc)
            if (line, at) in seen:  # the other branches of a union: one message is enough
                continue
            seen.add((line, at))
            report.add(file, line, f"{at}: {message(err)}" if at else message(err))
        return None


def _items(file: File, key: str, item: Any) -> list[tuple[int, Any]]:
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


def _records(file: File, key: str, model: type[BaseModel]) -> Records:
    """Each list item under ``key`` as the dict of its fields that are valid on their own."""
    values = file.raw.get(key)
    if not isinstance(values, list):
        return []
    return [(i, _fields(model, v)) for i, v in enumerate(values) if isinstance(v, dict)]


def _fields(model: type[BaseModel], raw: Any) -> Rec:
    """The fields of ``raw`` that are valid on their own (plus defaults of absent ones).

    Used only for cross-checks: the errors of the invalid fields are reported by the
    whole-file validation.
    """
    out: Rec = {}
    if raw is not None and not isinstance(raw, dict):
        return out
    raw = raw or {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in raw:
            if not info.is_required():
                out[name] = info.get_default(call_default_factory=True)
            continue
        try:
            out[name] = _field_adapter(model, name).validate_python(raw[key])
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


def _person(spec: PersonSpec, defaults: Defaults, default_timezone: str) -> Person:
    country = spec.country or defaults.country
    subdivision = spec.subdivision if spec.country else (spec.subdivision or defaults.subdivision)
    return Person(
        email=spec.email,
        name=spec.name,
        user_id=spec.user_id,
        timezone=spec.timezone or defaults.timezone or default_timezone,
        country=country,
        subdivision=subdivision,
        badges=tuple(b.strip() for b in spec.badges),
        vendor_ids=MappingProxyType(dict(spec.vendor_ids)),
        calendars=tuple(spec.calendars),
        contract_id=_first(spec.contract_id, defaults.contract_id),
        task_id=_first(spec.task_id, defaults.task_id),
        groups=tuple(spec.groups),
        manager=spec.manager,
        notify=tuple(spec.notify if spec.notify is not None else (defaults.notify or ())),
    )


def _first(value: int | None, default: int | None) -> int | None:
    return value if value is not None else default
