"""Check that deployment files name only commands and settings the code has.

The Dockerfile, ``deploy/compose.yaml`` and the Kubernetes manifests under ``deploy/k8s/``
start ``autoclock`` with arguments and set environment variables. This module collects every
such :class:`Invocation` (which arguments follow the entry point, which variables are set,
with their literal values where the file gives one) and checks them against the code:

- the arguments must parse with the click CLI (:data:`worker.cli.main`): the command and its
  subcommands exist, options and their values are valid;
- every variable is an env name of :class:`worker.settings.Settings` (``REDIS_URL`` among
  them) or ``AUTOCLOCK_WEBHOOK_SECRET_<NAME>`` for a webhook source in ``rules/sources.yaml``;
- the literal values, together with the image's defaults, pass the settings model.

Every ``check_*`` / ``*_problems`` function returns a list of human-readable problems; empty
means consistent.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import AliasChoices

from worker.cli import main as cli_main
from worker.errors import ConfigError
from worker.settings import Settings, load_settings, webhook_secret_env

__all__ = [
    "INTERPRETER_ENV",
    "ROOT",
    "Dockerfile",
    "Invocation",
    "check_invocations",
    "command_problems",
    "compose_invocations",
    "dockerfile_invocations",
    "env_file",
    "env_name_problems",
    "k8s_documents",
    "k8s_invocations",
    "parse_dockerfile",
    "settings_env_names",
    "settings_value_problems",
    "webhook_secret_names",
]

ROOT = Path(__file__).resolve().parents[2]

#: Variables the image sets for the Python interpreter itself, not for autoclock (Dockerfile only).
INTERPRETER_ENV = frozenset({"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"})


@dataclass
class Invocation:
    """One container/service that runs the autoclock image."""

    where: str
    args: list[str]
    env: dict[str, str | None] = field(default_factory=dict)
    """Variable name -> literal value, or None when the file does not state it."""
    problems: list[str] = field(default_factory=list)
    """What is wrong before any name is compared (missing env file, unknown ConfigMap ...)."""


# ------------------------------------------------------------------------------ the code


def settings_env_names() -> frozenset[str]:
    """Every environment variable name the settings model reads (its validation aliases)."""
    names: set[str] = set()
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(name.upper())
    return frozenset(names)


def webhook_secret_names(sources_yaml: Path = ROOT / "rules" / "sources.yaml") -> frozenset[str]:
    """``AUTOCLOCK_WEBHOOK_SECRET_<NAME>`` for every webhook source in ``sources_yaml``."""
    data = yaml.safe_load(sources_yaml.read_text(encoding="utf-8")) or {}
    return frozenset(webhook_secret_env(hook["name"]) for hook in data.get("webhooks") or [])


def command_problems(args: list[str]) -> list[str]:
    """Why ``autoclock <args>`` would not parse (empty list: it would)."""
    if not args:
        return ["no autoclock command given"]
    if any(arg in ("-h", "--help", "--version") for arg in args):
        return [f"`autoclock {' '.join(args)}` only prints help/version"]
    shown = "autoclock " + " ".join(args)
    try:
        ctx = cli_main.make_context("autoclock", list(args))
        command: click.Command = cli_main
        while isinstance(command, click.Group):
            protected = getattr(ctx, "_protected_args", None)
            if protected is None:  # click < 8.2
                protected = ctx.protected_args
            rest = [*protected, *ctx.args]
            if not rest:
                if command.invoke_without_command:
                    break
                return [f"`{shown}`: `{ctx.command_path}` needs a subcommand"]
            name, sub, rest = command.resolve_command(ctx, rest)
            if sub is None or name is None:
                return [f"`{shown}`: no such command {rest[:1]}"]
            ctx = sub.make_context(name, rest, parent=ctx)
            command = sub
    except click.exceptions.ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a group given no subcommand
            return [f"`{shown}` needs a subcommand"]
        return [f"`{shown}`: {exc.format_message().splitlines()[0]}"]
    return []


def env_name_problems(
    names: Iterable[str],
    *,
    extra_allowed: Iterable[str] = (),
    sources: frozenset[str] | None = None,
) -> list[str]:
    """Names that are neither a setting nor a webhook secret of a known source."""
    allowed = settings_env_names() | frozenset(extra_allowed)
    secrets = webhook_secret_names() if sources is None else sources
    problems = []
    for name in sorted(set(names)):
        if name in allowed or name in secrets:
            continue
        if name.startswith("AUTOCLOCK_WEBHOOK_SECRET_"):
            problems.append(
                f"{name}: no webhook source in rules/sources.yaml has this secret name "
                f"(known: {', '.join(sorted(secrets)) or 'none'})"
            )
        else:
            problems.append(f"{name}: not a setting of worker/settings.py")
    return problems


def settings_value_problems(env: Mapping[str, str]) -> list[str]:
    """Validate literal values with the settings model, read from the environment as at run time."""
    saved = dict(os.environ)
    try:
        for name in settings_env_names():
            os.environ.pop(name, None)
        os.environ.update({k: v for k, v in env.items() if k in settings_env_names()})
        load_settings(_env_file=None)
    except ConfigError as exc:
        return exc.problems
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return []


def check_invocations(
    invocations: Iterable[Invocation], image_env: Mapping[str, str] | None = None
) -> list[str]:
    """Every problem of every invocation: commands, variable names, literal values."""
    base = dict(image_env or {})
    problems: list[str] = []
    for inv in invocations:
        problems += [f"{inv.where}: {p}" for p in inv.problems]
        problems += [f"{inv.where}: {p}" for p in command_problems(inv.args)]
        problems += [f"{inv.where}: {p}" for p in env_name_problems(inv.env)]
        literal = {**base, **{k: v for k, v in inv.env.items() if v is not None}}
        problems += [f"{inv.where}: {p}" for p in settings_value_problems(literal)]
    return problems


# ------------------------------------------------------------------------------ Dockerfile


@dataclass
class Dockerfile:
    """What the final stage of a Dockerfile says about the process it runs."""

    entrypoint: list[str] | None
    cmd: list[str] | None
    env: dict[str, str]
    user: str | None
    healthcheck: str | None
    problems: list[str]


def _instructions(text: str) -> Iterator[tuple[str, str]]:
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if logical and line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        keyword, _, rest = logical.partition(" ")
        yield keyword.upper(), rest.strip()
        logical = ""


def _exec_form(value: str, keyword: str, problems: list[str]) -> list[str] | None:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        problems.append(f"{keyword} must use the JSON exec form (signals reach the process)")
        return None
    if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
        problems.append(f"{keyword} must be a JSON list of strings")
        return None
    return parsed


def parse_dockerfile(text: str) -> Dockerfile:
    """Parse the final stage: ENTRYPOINT, CMD, ENV, USER and HEALTHCHECK."""
    result = Dockerfile(None, None, {}, None, None, [])
    for keyword, rest in _instructions(text):
        if keyword == "FROM":  # a new stage starts from scratch
            result = Dockerfile(None, None, {}, None, None, result.problems)
        elif keyword == "ENV":
            tokens = shlex.split(rest)
            if tokens and "=" not in tokens[0]:  # legacy `ENV NAME value`
                result.env[tokens[0]] = " ".join(tokens[1:])
            else:
                for token in tokens:
                    name, _, value = token.partition("=")
                    result.env[name] = value
        elif keyword == "ENTRYPOINT":
            result.entrypoint = _exec_form(rest, keyword, result.problems)
        elif keyword == "CMD":
            result.cmd = _exec_form(rest, keyword, result.problems)
        elif keyword == "USER":
            result.user = rest
        elif keyword == "HEALTHCHECK":
            result.healthcheck = rest
    return result


def dockerfile_invocations(image: Dockerfile, where: str = "Dockerfile") -> list[Invocation]:
    """The image's default process (ENTRYPOINT + CMD) and its ENV (interpreter vars aside)."""
    env: dict[str, str | None] = {k: v for k, v in image.env.items() if k not in INTERPRETER_ENV}
    inv = Invocation(f"{where}: ENTRYPOINT+CMD", [], env, list(image.problems))
    inv.args = _after_entrypoint(image.entrypoint, image.cmd or [], inv)
    return [inv]


def _after_entrypoint(entrypoint: list[str] | None, args: list[str], inv: Invocation) -> list[str]:
    """The arguments autoclock receives; a problem on ``inv`` if it is not autoclock that runs."""
    if entrypoint is None:
        inv.problems.append("no ENTRYPOINT: the image must run the autoclock entry point")
        return args
    if not entrypoint or Path(entrypoint[0]).name != "autoclock":
        inv.problems.append(f"runs {entrypoint!r}, not the autoclock entry point")
        return args
    return [*entrypoint[1:], *args]


# ------------------------------------------------------------------------------ compose


_INTERPOLATION = re.compile(r"\$\{([^}:]+)(?::?-([^}]*))?\}")


def _image_name(image: str) -> str:
    """``registry/path/autoclock:tag`` -> ``autoclock``; ``${X:-autoclock:local}`` -> default."""
    match = _INTERPOLATION.fullmatch(image.strip())
    if match:
        image = match.group(2) or ""
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def env_file(text: str) -> dict[str, str | None]:
    """Parse a docker/compose env file: ``NAME=value`` lines, comments and blanks ignored."""
    values: dict[str, str | None] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.removeprefix("export ").strip()
        values[name] = value.strip().strip("'\"") if sep else None
    return values


def _literal(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return None if "${" in text else text


def compose_invocations(
    doc: Mapping[str, Any], where: str, base_dir: Path, default_cmd: list[str]
) -> list[Invocation]:
    """Every compose service that runs the autoclock image (built here or named autoclock)."""
    found: list[Invocation] = []
    for name, service in (doc.get("services") or {}).items():
        image = str(service.get("image") or "")
        if "build" not in service and _image_name(image) != "autoclock":
            continue
        inv = Invocation(f"{where}: services.{name}", [])
        command = service.get("command")
        args = shlex.split(command) if isinstance(command, str) else list(command or default_cmd)
        entrypoint = service.get("entrypoint")
        if isinstance(entrypoint, str):
            entrypoint = shlex.split(entrypoint)
        if entrypoint is not None:
            args = _after_entrypoint(list(entrypoint), args if command else [], inv)
        inv.args = [str(a) for a in args]
        env = inv.env
        files = service.get("env_file") or []
        for item in [files] if isinstance(files, str | dict) else files:
            path = item if isinstance(item, str) else item["path"]
            file = base_dir / path
            if file.exists():
                env.update(env_file(file.read_text(encoding="utf-8")))
            elif isinstance(item, str) or item.get("required", True):
                inv.problems.append(f"env_file {path} does not exist")
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            for entry in environment:
                key, sep, value = str(entry).partition("=")
                env[key] = _literal(value) if sep else None
        else:
            env.update({str(k): _literal(v) for k, v in environment.items()})
        found.append(inv)
    return found


# ------------------------------------------------------------------------------ Kubernetes


def k8s_documents(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every YAML document under ``directory`` (recursively), with its file name."""
    docs = []
    for path in sorted(directory.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict):
                shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                docs.append((str(shown), doc))
    return docs


def _pod_spec(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return (spec.get("template") or {}).get("spec")
    if kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        return (job.get("template") or {}).get("spec")
    return None


def k8s_invocations(
    docs: list[tuple[str, dict[str, Any]]], default_cmd: list[str], image_entrypoint: list[str]
) -> list[Invocation]:
    """Every container running the autoclock image, with env from ``env`` and ``envFrom``."""
    config_maps = {
        d["metadata"]["name"]: d.get("data") or {} for _, d in docs if d.get("kind") == "ConfigMap"
    }
    secrets = {
        d["metadata"]["name"]: {**(d.get("data") or {}), **(d.get("stringData") or {})}
        for _, d in docs
        if d.get("kind") == "Secret"
    }
    found: list[Invocation] = []
    for path, doc in docs:
        pod = _pod_spec(doc)
        if pod is None:
            continue
        for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
            if _image_name(str(container.get("image") or "")) != "autoclock":
                continue
            name = f"{doc['kind']} {doc['metadata']['name']} container {container.get('name')}"
            inv = Invocation(f"{path}: {name}", [])
            entrypoint = container.get("command") or image_entrypoint
            args = container.get("args")
            if args is None:
                args = [] if container.get("command") else default_cmd
            inv.args = _after_entrypoint(list(entrypoint), [str(a) for a in args], inv)
            env = inv.env
            for source in container.get("envFrom") or []:
                prefix = source.get("prefix", "")
                if "configMapRef" in source:
                    ref, table, what = source["configMapRef"], config_maps, "ConfigMap"
                else:
                    ref, table, what = source.get("secretRef", {}), secrets, "Secret"
                if ref.get("name") not in table:
                    inv.problems.append(
                        f"envFrom names {what} {ref.get('name')!r}, defined nowhere"
                    )
                    continue
                for key, value in table[ref["name"]].items():
                    env[prefix + key] = str(value) if what == "ConfigMap" else None
            for item in container.get("env") or []:
                env[item["name"]] = _literal(item["value"]) if "value" in item else None
            found.append(inv)
    return found
