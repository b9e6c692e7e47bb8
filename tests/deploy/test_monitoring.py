"""deploy/monitoring: the alert rules pass promtool, each alert has a unit test that fires it,
the PrometheusRule carries the same rules, and every metric the rules and the dashboard name
is one autoclock serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import redis
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.consistency import ROOT, k8s_documents
from worker.admin.metrics import metrics_renderer
from worker.metrics import ProcessMetrics
from worker.store import Keys

MONITORING = ROOT / "deploy" / "monitoring"

#: The alerts issue 16 asks for, by what they watch.
REQUIRED_ALERTS = {
    "AutoclockDeadLettersGrowing",  # dead letters growing
    "AutoclockOutcomesFailedOrRejected",  # failed or rejected outcomes
    "AutoclockWebWorkUnauthorized",  # WebWork 401
    "AutoclockWebWorkRateLimited",  # 429s
    "AutoclockActionPastDeadline",  # an action waiting longer than its deadline allows
    "AutoclockNoSchedulerLeader",  # no scheduler leader
    "AutoclockCalendarFeedStale",  # a stale feed
    "AutoclockRedisMemoryNearLimit",  # Redis memory near maxmemory
    "AutoclockWorkerRestarting",  # workers restarting
}


def _yaml(name: str) -> Any:
    return yaml.safe_load((MONITORING / name).read_text(encoding="utf-8"))


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: apt-get install prometheus (Debian), as .ci/run does"
    return subprocess.run(
        [tool, *args], cwd=MONITORING, capture_output=True, text=True, timeout=120, check=False
    )


def _alerts() -> list[dict[str, Any]]:
    return [r for g in _yaml("alerts.yaml")["groups"] for r in g["rules"] if "alert" in r]


def test_promtool_checks_the_rules_and_their_unit_tests_pass() -> None:
    """`promtool check rules` and `promtool test rules` (as CI runs them) succeed."""
    check = _promtool("check", "rules", "alerts.yaml")
    assert check.returncode == 0, check.stdout + check.stderr
    test = _promtool("test", "rules", "alerts.test.yaml")
    assert test.returncode == 0, test.stdout + test.stderr


def test_every_alert_asked_for_exists_and_has_a_test_that_fires_it() -> None:
    """Each alert is fired (a non-empty exp_alerts) by at least one promtool test case."""
    names = {a["alert"] for a in _alerts()}
    assert names >= REQUIRED_ALERTS
    fired = {
        case["alertname"]
        for test in _yaml("alerts.test.yaml")["tests"]
        for case in test.get("alert_rule_test") or []
        if case.get("exp_alerts")
    }
    assert names - fired == set()


def test_the_prometheus_rule_holds_the_same_rules() -> None:
    rule = _yaml("prometheusrule.yaml")
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"]["groups"] == _yaml("alerts.yaml")["groups"]


def _served_names(redis_client: redis.Redis, namespace: str) -> set[str]:
    render, _ = metrics_renderer(redis_client, Keys(namespace), process=ProcessMetrics())
    names: set[str] = set()
    for family in text_string_to_metric_families(render().decode()):
        names.add(family.name)  # a labelled family with no series yet still has HELP/TYPE
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ()))
        names.update(s.name for s in family.samples)
    return names


_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
_METRIC = re.compile(r"\b((?:autoclock|process)_[a-z_]+)\b")


def test_rules_and_dashboard_name_only_metrics_autoclock_serves(
    redis_client: redis.Redis, namespace: str
) -> None:
    """A renamed metric would silence an alert or blank a panel: every name used is served."""
    served = _served_names(redis_client, namespace)
    exprs = [a["expr"] for a in _alerts()]
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exprs += [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {name for expr in exprs for name in _METRIC.findall(expr)}
    assert used, exprs
    assert used - served == set()


def test_the_service_monitor_scrapes_the_admin_port_of_every_role() -> None:
    monitor = _yaml("servicemonitor.yaml")
    services = {
        d["metadata"]["name"]: d
        for _, d in k8s_documents(ROOT / "deploy" / "k8s")
        if d.get("kind") == "Service"
    }
    admin = services["autoclock-admin"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= admin["metadata"]["labels"].items()
    assert [e["port"] for e in monitor["spec"]["endpoints"]] == [
        p["name"] for p in admin["spec"]["ports"]
    ]
    assert all(e["path"] == "/metrics" for e in monitor["spec"]["endpoints"])
    pods = [
        d["spec"]["template"]
        for _, d in k8s_documents(ROOT / "deploy" / "k8s")
        if d.get("kind") == "Deployment" and "autoclock" in str(d["spec"]["template"])
    ]
    roles = set()
    for pod in pods:
        if admin["spec"]["selector"].items() <= pod["metadata"]["labels"].items():
            roles.add(pod["metadata"]["labels"]["app.kubernetes.io/component"])
            ports = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
            assert "admin" in ports
    assert roles == {"worker", "webhooks", "scheduler"}
