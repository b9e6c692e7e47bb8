"""Deployment files name only commands and settings the code has, and keep their promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.consistency import (
    INTERPRETER_ENV,
    ROOT,
    Invocation,
    check_invocations,
    command_problems,
    compose_invocations,
    dockerfile_invocations,
    env_file,
    k8s_documents,
    k8s_invocations,
    parse_dockerfile,
    settings_env_names,
)
from worker.rules.load import load_ruleset
from worker.settings import webhook_secret_env

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
IMAGE = parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8"))
IMAGE_ENV = {k: v for k, v in IMAGE.env.items() if k not in INTERPRETER_ENV}
DEFAULT_CMD = IMAGE.cmd or []
ENTRYPOINT = IMAGE.entrypoint or []
SECRET_NAMES = re.compile(r"^(WEBWORK_TOKEN|AUTOCLOCK_WEBHOOK_SECRET_\w+)$")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def _k8s() -> list[tuple[str, dict[str, Any]]]:
    return k8s_documents(K8S)


def _all_invocations() -> list[Invocation]:
    return [
        *dockerfile_invocations(IMAGE),
        *compose_invocations(_compose(), "deploy/compose.yaml", DEPLOY, DEFAULT_CMD),
        *k8s_invocations(_k8s(), DEFAULT_CMD, ENTRYPOINT),
    ]


def _check_k8s_text(text: str) -> list[str]:
    docs = [("bad.yaml", d) for d in yaml.safe_load_all(text)]
    return check_invocations(k8s_invocations(docs, DEFAULT_CMD, ENTRYPOINT), IMAGE_ENV)


def _check_compose_text(text: str, base: Path) -> list[str]:
    invocations = compose_invocations(yaml.safe_load(text), "bad-compose.yaml", base, DEFAULT_CMD)
    return check_invocations(invocations, IMAGE_ENV)


def _deployment(args: list[str], env: list[dict[str, Any]]) -> str:
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bad"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "registry.example.com/team/autoclock:1.2.3",
                            "args": args,
                            "env": env,
                        }
                    ]
                }
            }
        },
    }
    return yaml.safe_dump(doc)


# ---------------------------------------------------------------- the real files are consistent


def test_every_deployment_file_names_only_existing_commands_and_settings() -> None:
    """Dockerfile, compose and every k8s manifest start real commands with real settings."""
    invocations = _all_invocations()
    assert check_invocations(invocations, IMAGE_ENV) == []
    # Not vacuous: each role is found where it is deployed.
    roles = {(inv.where.split(":")[0], inv.args[0]) for inv in invocations}
    for where in ("deploy/compose.yaml", "deploy/k8s/worker.yaml"):
        assert any(w == where for w, _ in roles), where
    for role in ("worker", "webhooks", "scheduler"):
        assert ("deploy/compose.yaml", role) in roles
        assert any(w.startswith("deploy/k8s/") and r == role for w, r in roles), role
    assert ("Dockerfile", "run") in roles
    names = {name for inv in invocations for name in inv.env}
    assert {"REDIS_URL", "WEBWORK_TOKEN", "AUTOCLOCK_WEBHOOK_SECRET_KISI_HQ"} <= names


def test_settings_names_come_from_the_model() -> None:
    """The allowed names are the settings model's env names, REDIS_URL among them."""
    names = settings_env_names()
    assert {
        "REDIS_URL",
        "WEBWORK_TOKEN",
        "AUTOCLOCK_RULES_DIR",
        "AUTOCLOCK_WORKER_THREADS",
    } <= names
    assert "webwork_token" not in names


# ---------------------------------------------------------------- the check catches mistakes


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["wroker"], "No such command 'wroker'"),
        (["dlq", "replayy", "--all"], "No such command 'replayy'"),
        (["dlq"], "needs a subcommand"),
        (["worker", "--thread", "4"], "No such option '--thread'"),
        (["webhooks", "--port", "99999"], "Invalid value for '--port'"),
        (["worker", "--help"], "only prints help"),
    ],
)
def test_check_fails_on_a_manifest_naming_a_nonexistent_command(
    args: list[str], expected: str
) -> None:
    """A k8s Deployment running a command (or option) the CLI lacks is reported."""
    problems = _check_k8s_text(_deployment(args, []))
    assert len(problems) == 1, problems
    assert expected in problems[0]
    assert "bad.yaml: Deployment bad container c" in problems[0]


def test_check_fails_on_a_compose_service_naming_a_nonexistent_command(tmp_path: Path) -> None:
    """A compose service built from this repo with an unknown command is reported."""
    text = """
services:
  w:
    build: {context: ..}
    command: ["schedular"]
  r:
    image: redis:7.4-alpine
    command: ["redis-server", "--appendonly", "yes"]
"""
    problems = _check_compose_text(text, tmp_path)
    assert problems == [
        "bad-compose.yaml: services.w: `autoclock schedular`: "
        "No such command 'schedular'. Did you mean 'scheduler'?"
    ]


def test_check_fails_on_an_entrypoint_that_is_not_autoclock(tmp_path: Path) -> None:
    """Overriding the entry point with something else is reported, not silently skipped."""
    text = """
services:
  w:
    image: autoclock:local
    entrypoint: ["python", "-m", "worker"]
    command: ["worker"]
"""
    problems = _check_compose_text(text, tmp_path)
    assert any("not the autoclock entry point" in p for p in problems), problems


def test_check_fails_on_a_manifest_naming_an_unknown_variable() -> None:
    """A misspelt setting in a k8s manifest is reported with its name."""
    problems = _check_k8s_text(
        _deployment(["worker"], [{"name": "AUTOCLOCK_WORKER_THREAD", "value": "4"}])
    )
    assert problems == [
        "bad.yaml: Deployment bad container c: AUTOCLOCK_WORKER_THREAD: "
        "not a setting of worker/settings.py"
    ]


def test_check_fails_on_a_webhook_secret_for_an_unknown_source() -> None:
    """A secret for a webhook source the rules do not define is reported."""
    env = [
        {"name": webhook_secret_env("kisi-hq"), "valueFrom": {"secretKeyRef": {"name": "s"}}},
        {"name": "AUTOCLOCK_WEBHOOK_SECRET_BRIVO", "valueFrom": {"secretKeyRef": {"name": "s"}}},
    ]
    problems = _check_k8s_text(_deployment(["webhooks"], env))
    assert len(problems) == 1, problems
    assert "AUTOCLOCK_WEBHOOK_SECRET_BRIVO: no webhook source" in problems[0]


def test_check_fails_on_unknown_names_in_env_files_and_config_maps(tmp_path: Path) -> None:
    """Unknown names arriving through env_file, environment lists and envFrom are reported."""
    (tmp_path / "site.env").write_text("# comment\nWEBWORK_TOKEN=x\nWEBWORK_RPMS=30\n")
    text = """
services:
  w:
    image: ${AUTOCLOCK_IMAGE:-ghcr.io/acme/autoclock:2}
    command: worker
    env_file: [site.env]
    environment: ["REDIS_URL=redis://redis:6379/0", "AUTOCLOCK_TIMEZONES=UTC"]
  m:
    image: autoclock:local
    env_file:
      - path: missing.env
        required: true
"""
    problems = _check_compose_text(text, tmp_path)
    assert "bad-compose.yaml: services.w: WEBWORK_RPMS: not a setting of worker/settings.py" in (
        problems
    )
    assert any("AUTOCLOCK_TIMEZONES: not a setting" in p for p in problems)
    assert any("services.m: env_file missing.env does not exist" in p for p in problems)

    k8s = """
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {AUTOCLOCK_LOG_LEVL: info}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
        - name: c
          image: autoclock
          args: [worker]
          envFrom:
            - configMapRef: {name: cfg}
            - configMapRef: {name: nowhere}
"""
    problems = _check_k8s_text(k8s)
    assert any("AUTOCLOCK_LOG_LEVL: not a setting" in p for p in problems), problems
    assert any("ConfigMap 'nowhere', defined nowhere" in p for p in problems), problems


def test_check_fails_on_a_value_the_settings_refuse() -> None:
    """A known setting with a value the settings model refuses is reported."""
    problems = _check_k8s_text(
        _deployment(["worker"], [{"name": "AUTOCLOCK_LOG_FORMAT", "value": "jsonl"}])
    )
    assert len(problems) == 1, problems
    assert "AUTOCLOCK_LOG_FORMAT" in problems[0]


def test_other_images_are_not_checked_as_autoclock() -> None:
    """Containers of other images (Redis) may take their own arguments and variables."""
    docs = [("x.yaml", yaml.safe_load(_deployment(["wroker"], [])))]
    docs[0][1]["spec"]["template"]["spec"]["containers"][0]["image"] = "redis:7.4-alpine"
    assert k8s_invocations(docs, DEFAULT_CMD, ENTRYPOINT) == []
    assert command_problems(["worker", "--threads", "2"]) == []


# ---------------------------------------------------------------- the Dockerfile


def test_dockerfile_runs_autoclock_as_non_root_with_a_healthcheck_and_no_secrets() -> None:
    """One image, every role by its command: autoclock entry point, `run` default, non-root."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert IMAGE.problems == []
    assert IMAGE.entrypoint == ["autoclock"]
    assert IMAGE.cmd == ["run"]
    assert IMAGE.user is not None
    assert IMAGE.user.split(":")[0] not in ("", "0", "root")
    assert IMAGE.healthcheck is not None
    assert "/healthz" in IMAGE.healthcheck
    froms = re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)
    assert len(froms) >= 3  # uv, builder, runtime
    assert "python:3.11-slim" in text
    assert "uv sync --frozen --no-dev" in text
    assert IMAGE_ENV["AUTOCLOCK_RULES_DIR"] == "/app/rules"
    # No secret is set at build time, in any stage.
    assigned = re.findall(r"^\s*(?:ENV|ARG)\s+(.*)$", text, flags=re.MULTILINE)
    assert not [line for line in assigned if re.search(r"WEBWORK_TOKEN|WEBHOOK_SECRET", line)]
    dockerignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line for line in dockerignore if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*"  # an allowlist: everything out, then what the build needs
    assert "!worker/" in dockerignore
    assert "!.env" not in dockerignore


# ---------------------------------------------------------------- compose


def test_compose_runs_durable_redis_and_every_role() -> None:
    """Compose: Redis with AOF and noeviction on a volume, scalable workers, two schedulers."""
    services = _compose()["services"]
    redis_service = services["redis"]
    assert redis_service["image"].startswith("redis:7")
    assert any(v.endswith(":/data") for v in redis_service["volumes"])
    conf_mount = next(v for v in redis_service["volumes"] if v.startswith("./redis.conf:"))
    assert conf_mount.split(":")[1] in redis_service["command"]
    conf = _redis_conf((DEPLOY / "redis.conf").read_text(encoding="utf-8"))
    assert conf["appendonly"] == "yes"
    assert conf["appendfsync"] == "everysec"
    assert conf["maxmemory-policy"] == "noeviction"
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["scheduler"]["deploy"]["replicas"] == 2
    assert "8080:8080" in services["webhooks"]["ports"]
    for role in ("worker", "webhooks", "scheduler"):
        assert "../rules:/app/rules:ro" in services[role]["volumes"]
        assert services[role]["environment"]["REDIS_URL"].startswith("redis://redis:")
        files = [f["path"] for f in services[role]["env_file"]]
        assert "autoclock.env.example" in files


def test_example_env_file_holds_only_known_settings_and_no_real_secrets() -> None:
    """The example env file names real settings, and its secrets are empty (no usable value)."""
    values = env_file((DEPLOY / "autoclock.env.example").read_text(encoding="utf-8"))
    invocation = Invocation("deploy/autoclock.env.example", ["worker"], dict(values))
    assert check_invocations([invocation], IMAGE_ENV) == []
    secrets = {k: v for k, v in values.items() if SECRET_NAMES.match(k)}
    assert "WEBWORK_TOKEN" in secrets
    assert set(secrets.values()) == {""}
    assert "autoclock.env" in (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()


# ---------------------------------------------------------------- Kubernetes


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in _k8s() if d.get("kind") == kind}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _redis_conf(text: str) -> dict[str, str]:
    pairs = (line.split(None, 1) for line in text.splitlines() if line.strip())
    return {p[0]: p[1].strip() for p in pairs if not p[0].startswith("#") and len(p) == 2}


def test_k8s_deployments_probes_resources_and_disruption_budgets() -> None:
    """k8s: three roles, probes on /healthz and /readyz, requests and limits, PDBs, a Service."""
    deployments = _by_kind("Deployment")
    roles = {
        _container(d)["args"][0]: d
        for d in deployments.values()
        if "autoclock" in _container(d)["image"]
    }
    assert set(roles) == {"worker", "webhooks", "scheduler"}
    assert roles["scheduler"]["spec"]["replicas"] == 2
    for deployment in roles.values():
        resources = _container(deployment)["resources"]
        assert set(resources) == {"requests", "limits"}
        assert {"cpu", "memory"} <= set(resources["requests"]) & set(resources["limits"])
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
    webhooks = _container(roles["webhooks"])
    assert webhooks["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert webhooks["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # The Service reaches the webhook pods on their named port.
    service = _by_kind("Service")["autoclock-webhooks"]
    labels = roles["webhooks"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    port_names = {p["name"] for p in webhooks["ports"]}
    assert all(p["targetPort"] in port_names for p in service["spec"]["ports"])
    # Every role has a PodDisruptionBudget selecting its pods.
    budgets = _by_kind("PodDisruptionBudget").values()
    for deployment in roles.values():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(b["spec"]["selector"]["matchLabels"].items() <= labels.items() for b in budgets)


def test_k8s_secrets_come_from_a_secret_and_rules_from_the_config_map() -> None:
    """Token and webhook secrets are secretKeyRefs; the rules ConfigMap holds valid rules."""
    for inv in k8s_invocations(_k8s(), DEFAULT_CMD, ENTRYPOINT):
        for name, value in inv.env.items():
            if SECRET_NAMES.match(name):
                assert value is None, f"{inv.where}: {name} is a literal, not a secretKeyRef"
    worker = _container(_by_kind("Deployment")["autoclock-worker"])
    token = next(e for e in worker["env"] if e["name"] == "WEBWORK_TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {
        "name": "autoclock-secrets",
        "key": "WEBWORK_TOKEN",
    }
    assert "Secret" not in {d.get("kind") for p, d in _k8s() if "example" not in p}

    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == on_disk
    generator = next(
        g for g in kustomization["configMapGenerator"] if g["name"] == "autoclock-rules"
    )
    rules_dir = K8S / Path(generator["files"][0]).parent
    ruleset = load_ruleset(rules_dir, default_timezone="UTC")
    assert ruleset.directory.people
    for name in ("worker", "webhooks", "scheduler"):
        deployment = _by_kind("Deployment")[f"autoclock-{name}"]
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        mounts = {m["mountPath"]: m for m in _container(deployment)["volumeMounts"]}
        rules_mount = mounts[IMAGE_ENV["AUTOCLOCK_RULES_DIR"]]
        assert rules_mount["readOnly"] is True
        assert volumes[rules_mount["name"]]["configMap"]["name"] == "autoclock-rules"


def test_k8s_redis_has_the_same_durability_settings_as_compose() -> None:
    """The k8s Redis runs one primary on a volume with the compose redis.conf settings."""
    statefulset = _by_kind("StatefulSet")["autoclock-redis"]
    assert statefulset["spec"]["replicas"] == 1
    assert statefulset["spec"]["volumeClaimTemplates"]
    k8s_conf = _redis_conf(_by_kind("ConfigMap")["autoclock-redis-conf"]["data"]["redis.conf"])
    compose_conf = _redis_conf((DEPLOY / "redis.conf").read_text(encoding="utf-8"))
    assert k8s_conf == compose_conf
    config = _by_kind("ConfigMap")["autoclock-config"]["data"]
    service = _by_kind("Service")["autoclock-redis"]
    assert config["REDIS_URL"].startswith(f"redis://{service['metadata']['name']}:6379")


# ---------------------------------------------------------------- linters (CI runs them too)


@pytest.mark.parametrize(
    "argv",
    [["hadolint", "Dockerfile"], ["yamllint", "--strict", "deploy"]],
    ids=["hadolint", "yamllint"],
)
def test_linters_pass_on_the_deployment_files(argv: list[str]) -> None:
    """hadolint finds nothing in the Dockerfile, yamllint nothing under deploy/."""
    tool = Path(sys.executable).parent / argv[0]
    done = subprocess.run(
        [str(tool), *argv[1:]], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
