"""Cross-checks a schema alone cannot do: one function per section of the rules files.

References between the files (groups, people, calendars, sources), duplicate identities,
holiday regions, templates and empty windows. Each check reports into a :class:`Report`
as ``path:line: reason``; none stops at the first problem. The checks see each section as
*records*: the fields of an item that are valid on their own, so one bad value does not
hide the mistakes around it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

from worker.rules.directory import normalise_id
from worker.rules.facts import supported_regions
from worker.rules.messages import suggest
from worker.rules.ruleset import PEOPLE_FILE, RULES_FILE, SOURCES_FILE
from worker.rules.schema import Do, NotifySpec, On, Vendor, When
from worker.rules.templates import check_template
from worker.rules.yamlsource import Path as YPath
from worker.rules.yamlsource import YamlDocument

__all__ = [
    "File",
    "Rec",
    "Records",
    "Report",
    "check_closures",
    "check_groups",
    "check_notify",
    "check_people",
    "check_policy",
    "check_recipients",
    "check_rules",
    "check_sources",
]

_FILE_ORDER = {PEOPLE_FILE: 0, SOURCES_FILE: 1, RULES_FILE: 2}

Rec = dict[str, Any]
"""The fields of one item that are valid on their own."""
Records = list[tuple[int, Rec]]
"""The records of a list section, with their index in the list."""


@dataclass
class File:
    """One file of the rules directory: its name, label (path) and parsed YAML."""

    name: str
    label: str
    doc: YamlDocument
    raw: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    broken: bool = False
    """Unreadable or unparsable: references into it are not checked (they would all fail)."""


@dataclass
class Report:
    """Every problem found, sorted by file, line, then discovery order."""

    root: Path
    sources_known: bool = True
    """False when sources.yaml could not be read or parsed: references into it go unchecked."""
    people_known: bool = True
    """False when people.yaml could not be read or parsed."""
    problems: list[tuple[int, int, int, str]] = field(default_factory=list)

    def add(self, file: File | str, line: int, reason: str) -> None:
        """Record ``reason`` at ``line`` of ``file``."""
        name = file.name if isinstance(file, File) else file
        label = file.label if isinstance(file, File) else str(self.root / file)
        self.problems.append(
            (_FILE_ORDER.get(name, 9), line, len(self.problems), f"{label}:{line}: {reason}")
        )

    def at(self, file: File, path: YPath, reason: str) -> None:
        """Record ``reason`` at the line of ``path`` in ``file``."""
        self.add(file, file.doc.line_of(path), reason)

    def texts(self) -> list[str]:
        """The problems as ``path:line: reason`` lines, in order."""
        return [text for *_, text in sorted(self.problems)]


# ---------------------------------------------------------------- people.yaml


def check_groups(report: Report, f: File, groups: list[tuple[int, str]]) -> set[str]:
    """Groups declared twice; returns the declared groups."""
    declared: dict[str, int] = {}
    for index, group in groups:
        if group in declared:
            report.at(f, ("groups", index), f"group {group!r} is declared twice")
        declared.setdefault(group, index)
    return set(declared)


@dataclass
class _Unique:
    """Identities already claimed in people.yaml, by kind, with the index of the owner."""

    report: Report
    f: File
    owners: dict[int, str]
    seen: dict[str, dict[object, int]] = field(default_factory=dict)

    def claim(self, kind: str, key: object, i: int, path: YPath, what: str) -> None:
        taken = self.seen.setdefault(kind, {})
        if key in taken:
            self.report.at(self.f, path, f"{what} {self._other(i, taken[key])}")
        taken.setdefault(key, i)

    def _other(self, i: int, j: int) -> str:
        if i == j:
            return "this person"
        return f"{self.owners[j]} (line {self.f.doc.line_of(('people', j))})"


def check_people(
    report: Report,
    f: File,
    defaults: Rec,
    people: Records,
    declared: set[str],
    sources: Mapping[str, Records],
) -> set[str]:
    """Unique identities, known vendors/calendars/groups, holiday regions; returns the emails."""
    _check_region(report, f, ("defaults",), defaults.get("country"), defaults.get("subdivision"))
    vendor_keys = _names(sources.get("webhooks", [])) | set(get_args(Vendor))
    calendar_names = _names(sources.get("calendars", []))
    unique = _Unique(report, f, {i: p.get("email", f"people[{i}]") for i, p in people})
    for i, p in people:
        here: YPath = ("people", i)
        _check_identity(unique, i, here, p)
        _check_badges(unique, i, here, p.get("badges", ()))
        _check_vendor_ids(unique, i, here, p.get("vendor_ids", {}), vendor_keys)
        for k, cal in enumerate(p.get("calendars", ())):
            if cal not in calendar_names and report.sources_known:
                report.at(
                    f,
                    (*here, "calendars", k),
                    f"unknown calendar {cal!r}: not a calendar source in {SOURCES_FILE}"
                    f"{suggest(cal, calendar_names)}",
                )
        check_group_refs(report, f, (*here, "groups"), p.get("groups"), declared)
        if p.get("country") or p.get("subdivision"):
            country = p.get("country") or defaults.get("country")
            _check_region(report, f, here, country, p.get("subdivision"))
    emails = {str(k) for k in unique.seen.get("email", {})}
    for i, p in people:
        manager = p.get("manager")
        if manager is None:
            continue
        if manager == p.get("email"):
            report.at(f, ("people", i, "manager"), "a person cannot be their own manager")
        elif manager not in emails:
            report.at(
                f,
                ("people", i, "manager"),
                f"unknown manager {manager}: not in {PEOPLE_FILE}{suggest(manager, emails)}",
            )
    return emails


def _check_identity(unique: _Unique, i: int, here: YPath, p: Rec) -> None:
    email = p.get("email")
    if email is not None:
        unique.claim("email", email, i, (*here, "email"), f"email {email} is also used by")
    user_id = p.get("user_id")
    if user_id is not None:
        unique.claim(
            "user_id", user_id, i, (*here, "user_id"), f"user_id {user_id} is also used by"
        )


def _check_badges(unique: _Unique, i: int, here: YPath, badges: Iterable[str]) -> None:
    for k, badge in enumerate(badges):
        norm = normalise_id(badge)
        if not norm:
            unique.report.at(unique.f, (*here, "badges", k), "empty badge id")
            continue
        unique.claim("badge", norm, i, (*here, "badges", k), f"badge {badge!r} is also listed for")


def _check_vendor_ids(
    unique: _Unique, i: int, here: YPath, ids: Mapping[str, str], vendor_keys: set[str]
) -> None:
    report = unique.report
    for key, value in ids.items():
        if key == "mapped":
            report.at(
                unique.f,
                (*here, "vendor_ids", key),
                "vendor_ids key 'mapped' would match every mapped source (unrelated door "
                "systems): use the source's name",
            )
        elif key not in vendor_keys and report.sources_known:
            report.at(
                unique.f,
                (*here, "vendor_ids", key),
                f"vendor_ids key {key!r} is neither a webhook source in "
                f"{SOURCES_FILE} nor a vendor{suggest(key, vendor_keys)}",
            )
        unique.claim(
            "vendor",
            (key, normalise_id(value)),
            i,
            (*here, "vendor_ids", key),
            f"{key} id {value!r} is also used by",
        )


def _check_region(
    report: Report, f: File, path: YPath, country: str | None, sub: str | None
) -> None:
    regions = supported_regions()
    if country is None:
        if sub is not None:
            report.at(f, (*path, "subdivision"), "a subdivision needs a country")
        return
    if country not in regions:
        report.at(
            f,
            (*path, "country"),
            f"unknown country {country!r} for public holidays (use an ISO 3166-1 "
            f"alpha-2 code such as DE, US, AU){suggest(country, regions)}",
        )
    elif sub is not None and sub not in regions[country]:
        report.at(
            f,
            (*path, "subdivision"),
            f"unknown subdivision {sub!r} of {country} (known: "
            f"{', '.join(sorted(regions[country]))})",
        )


# ---------------------------------------------------------------- references


def check_group_refs(
    report: Report, f: File, path: YPath, groups: Iterable[str] | None, declared: set[str]
) -> None:
    """Every group named at ``path`` is declared in people.yaml."""
    for k, group in enumerate(groups or ()):
        if group not in declared and report.people_known:
            known = ", ".join(sorted(declared)) if declared else "none"
            report.at(
                f,
                (*path, k),
                f"unknown group {group!r}: not declared in "
                f"{PEOPLE_FILE} groups (declared: {known}){suggest(group, declared)}",
            )


def check_people_refs(
    report: Report, f: File, path: YPath, people: Iterable[str] | None, emails: set[str]
) -> None:
    """Every person named at ``path`` is in people.yaml."""
    for k, email in enumerate(people or ()):
        if email not in emails and report.people_known:
            report.at(
                f,
                (*path, k),
                f"unknown person {email}: not in {PEOPLE_FILE}{suggest(email, emails)}",
            )


def _check_names(report: Report, f: File, section: str, items: Records) -> None:
    names: dict[str, int] = {}
    what = "rule" if section == "rules" else section[:-1]
    for i, item in items:
        name = item.get("name")
        if name is None:
            continue
        if name in names:
            first = f.doc.line_of((section, names[name]))
            report.at(
                f,
                (section, i, "name"),
                f"{what} name {name!r} is used twice (first on line {first})",
            )
        names.setdefault(name, i)


def _names(records: Records) -> set[str]:
    return {r["name"] for _, r in records if "name" in r}


# ---------------------------------------------------------------- sources.yaml


def check_sources(
    report: Report, f: File, sources: Mapping[str, Records], emails: set[str], declared: set[str]
) -> None:
    """Unique names; calendars' people and files; schedules' people, groups, weekdays."""
    for section in ("webhooks", "calendars", "schedules"):
        _check_names(report, f, section, sources.get(section, []))
    for i, cal in sources.get("calendars", []):
        person = cal.get("person")
        if person is not None and person not in emails and report.people_known:
            report.at(
                f,
                ("calendars", i, "person"),
                f"unknown person {person}: not in {PEOPLE_FILE}{suggest(person, emails)}",
            )
        path = cal.get("path")
        if path is not None and not (report.root / path).is_file():
            report.at(
                f,
                ("calendars", i, "path"),
                f"calendar file {path} not found (relative to {report.root})",
            )
    for i, sched in sources.get("schedules", []):
        here: YPath = ("schedules", i)
        check_people_refs(report, f, (*here, "people"), sched.get("people"), emails)
        check_group_refs(report, f, (*here, "groups"), sched.get("groups"), declared)
        if sched.get("weekdays") == []:
            report.at(f, (*here, "weekdays"), "empty weekdays: it would never fire")


# ---------------------------------------------------------------- rules.yaml


def check_closures(
    report: Report, f: File, closures: Records, people: tuple[set[str], set[str]]
) -> None:
    """Unique names; known people and groups."""
    emails, declared = people
    _check_names(report, f, "closures", closures)
    for i, closure in closures:
        here: YPath = ("closures", i)
        check_people_refs(report, f, (*here, "people"), closure.get("people"), emails)
        check_group_refs(report, f, (*here, "groups"), closure.get("groups"), declared)


def check_policy(report: Report, f: File, policy: Rec) -> None:
    """A positive max_delay."""
    delay = policy.get("max_delay")
    if delay is not None and delay <= timedelta(0):
        report.at(f, ("policy", "max_delay"), "max_delay must be positive")


def check_rules(
    report: Report,
    f: File,
    rules: Records,
    people: tuple[set[str], set[str]],
    sources: Mapping[str, Records],
) -> None:
    """Unique names; known sources, people and groups; non-empty windows; templates.

    ``people`` is ``(emails, declared groups)``.
    """
    known = {
        "webhook": _names(sources.get("webhooks", [])),
        "calendar": _names(sources.get("calendars", [])),
        "schedule": _names(sources.get("schedules", [])),
    }
    _check_names(report, f, "rules", rules)
    for i, rule in rules:
        here: YPath = ("rules", i)
        on = rule.get("on")
        if isinstance(on, On):
            _check_source_ref(report, f, (*here, "on", "source"), on.source, known)
        when = rule.get("when")
        if isinstance(when, When):
            _check_when(report, f, (*here, "when"), when, people)
        delay = rule.get("max_delay")
        if delay is not None and delay <= timedelta(0):
            report.at(f, (*here, "max_delay"), "max_delay must be positive")
        notify = rule.get("notify")
        if isinstance(notify, NotifySpec):
            check_recipients(report, f, (*here, "notify", "to"), notify.to, people[1])
        do = rule.get("do")
        if isinstance(do, Do) and do.description is not None:
            why = check_template(do.description)
            if why:
                report.at(f, (*here, "do", "description"), why)


def check_notify(report: Report, f: File, notify: Rec, declared: set[str]) -> None:
    """``notify:`` at the top of rules.yaml: the groups its recipients name are declared."""
    for result, recipients in (notify.get("defaults") or {}).items():
        check_recipients(report, f, ("notify", "defaults", str(result)), recipients, declared)
    check_recipients(report, f, ("notify", "flags"), notify.get("flags") or (), declared)


def check_recipients(
    report: Report, f: File, path: YPath, recipients: Iterable[str], declared: set[str]
) -> None:
    """Every ``group:NAME`` among ``recipients`` names a declared group."""
    for k, recipient in enumerate(recipients):
        kind, _, name = recipient.partition(":")
        if kind == "group" and name not in declared and report.people_known:
            report.at(
                f,
                (*path, k),
                f"unknown group {name!r} in recipient {recipient!r}: not declared in "
                f"{PEOPLE_FILE} groups{suggest(name, declared)}",
            )


def _check_when(
    report: Report, f: File, here: YPath, when: When, people: tuple[set[str], set[str]]
) -> None:
    emails, declared = people
    check_people_refs(report, f, (*here, "people"), when.people, emails)
    check_group_refs(report, f, (*here, "groups"), when.groups, declared)
    if when.weekdays is not None and not when.weekdays:
        report.at(f, (*here, "weekdays"), "empty weekdays: the rule never matches")
    if when.between is not None and when.between[0] == when.between[1]:
        report.at(f, (*here, "between"), "empty time window: from and to are equal")
    for key, items in (("all", when.all_), ("any", when.any_)):
        for k, inner in enumerate(items or ()):
            _check_when(report, f, (*here, key, k), inner, people)
    if when.not_ is not None:
        _check_when(report, f, (*here, "not"), when.not_, people)


def _check_source_ref(
    report: Report, f: File, path: YPath, pattern: str, known: Mapping[str, set[str]]
) -> None:
    if any(ch in pattern for ch in "*?[") or not report.sources_known:
        return  # a glob may legitimately match nothing yet
    prefix, _, name = pattern.partition(":")
    if prefix in known and name not in known[prefix]:
        report.at(
            f,
            path,
            f"unknown source {pattern!r}: no {prefix} named {name!r} in "
            f"{SOURCES_FILE}{suggest(name, known[prefix])}",
        )
    elif prefix not in known and pattern != "manual":
        report.at(
            f,
            path,
            f"unknown source {pattern!r}: use webhook:<name>, "
            "calendar:<name>, schedule:<name>, manual, or a glob such as webhook:*",
        )
