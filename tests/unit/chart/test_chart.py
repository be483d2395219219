"""The Helm chart, rendered by a real helm: lint, what each switch renders, the operator's
command line (parsed by `modelwarden run` itself), RBAC against the kinds the operator
touches, the CRDs helm installs, and the PrometheusRule it ships."""

from __future__ import annotations

import base64
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcluster.build import REPO_ROOT
from modelwarden.cli.run_cmd import run as run_command
from modelwarden.decide.governance_file import parse_governance
from modelwarden.k8s.kube import KINDS
from unit.chart.helmtool import (
    ALL_OPTIONS,
    CHART,
    RULES,
    Obj,
    by_kind,
    helm_binary,
    promtool_binary,
    render,
    run,
)

DEFAULT_KINDS = ["ClusterRole", "ClusterRole", "ClusterRoleBinding", "ClusterRoleBinding",
                 "Deployment", "Secret", "Service", "ServiceAccount"]  # fmt: skip


def operator_container(objects: list[Obj]) -> Obj:
    [deployment] = by_kind(objects, "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def run_flags(objects: list[Obj]) -> dict[str, Any]:
    """The container's arguments, parsed by the `modelwarden run` command they are for."""
    args = operator_container(objects)["args"]
    assert args[0] == "run"
    context = run_command.make_context("modelwarden run", list(args[1:]))
    return dict(context.params)


def cluster_role(objects: list[Obj], name: str) -> Obj:
    [role] = [o for o in by_kind(objects, "ClusterRole") if o["metadata"]["name"] == name]
    return role


def grants(role: Obj, group: str, resource: str) -> set[str]:
    verbs: set[str] = set()
    for rule in role["rules"]:
        if group in rule["apiGroups"] and resource in rule["resources"]:
            verbs |= set(rule["verbs"])
    return verbs


@pytest.mark.parametrize("values", [[], ["-f", str(ALL_OPTIONS)]], ids=["default", "all"])
def test_helm_lint_strict(values: list[str]) -> None:
    out = run([helm_binary(), "lint", "--strict", CHART, *values]).stdout
    assert "0 chart(s) failed" in out


def test_default_render() -> None:
    objects = render()
    assert sorted(o["kind"] for o in objects) == DEFAULT_KINDS
    flags = run_flags(objects)
    assert flags["namespaces"] == ()  # every namespace, through ClusterRoleBindings
    assert flags["sidecar_image"] == operator_container(objects)["image"]
    assert (flags["metrics_port"], flags["alerts_port"], flags["webhook_port"]) == (8085, 9095, 0)
    assert flags["evaluator_window"] == "60s"
    assert not flags["verbose"]
    # The alert webhook requires the token of the generated Secret, mounted where the flag says
    [secret] = by_kind(objects, "Secret")
    assert secret["metadata"]["name"] == "mw-modelwarden-alerts-token"
    assert len(base64.b64decode(secret["data"]["token"])) == 48
    assert flags["alerts_token_file"] == "/var/run/modelwarden/alerts/token"
    assert flags["governance_config"] == ""  # the documented defaults
    # Probes ask the operator's event loop itself, not just a listening socket
    container = operator_container(objects)
    assert flags["health_port"] == 8086
    assert {"name": "health", "containerPort": 8086} in container["ports"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert token_volume(objects) == "mw-modelwarden-alerts-token"


def token_volume(objects: list[Obj]) -> str:
    """The Secret mounted at the directory of ``--alerts-token-file``."""
    [deployment] = by_kind(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [mount] = [
        m for m in operator_container(objects)["volumeMounts"]
        if m["mountPath"] == "/var/run/modelwarden/alerts"
    ]  # fmt: skip
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["items"] == [{"key": "token", "path": "token"}]
    return str(volume["secret"]["secretName"])


def test_all_options_render() -> None:
    objects = render("-f", str(ALL_OPTIONS))
    flags = run_flags(objects)
    assert flags["namespaces"] == ("risk", "mail")
    assert flags["sidecar_image"] == "example.com/evaluator:1.2.3"
    assert flags["prometheus_url"] == "http://prometheus-operated.monitoring:9090"
    assert flags["webhook_port"] == 9443
    assert flags["webhook_host"] == "mw-modelwarden.modelwarden-system.svc"
    assert flags["verbose"]
    # A Secret of the user's own holds the alert token: the chart makes none
    assert by_kind(objects, "Secret") == []
    assert token_volume(objects) == "my-alerts-token"
    # The governance policy is a ConfigMap the operator reads (and accepts) at start
    assert flags["governance_config"] == "/etc/modelwarden/governance/governance.yaml"
    [policy] = [c for c in by_kind(objects, "ConfigMap") if "governance.yaml" in c["data"]]
    config = parse_governance(yaml.safe_load(policy["data"]["governance.yaml"]))
    assert config.role_groups["ml-lead"] == ("oidc:ml-leads",)
    assert config.lineage_required_tiers == frozenset({1})
    # Namespaced permissions only where it watches; no cluster-wide binding of them.
    bindings = by_kind(objects, "RoleBinding")
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["mail", "risk"]
    assert {b["roleRef"]["name"] for b in bindings} == {"mw-modelwarden"}
    [cluster_binding] = by_kind(objects, "ClusterRoleBinding")
    assert cluster_binding["roleRef"]["name"] == "mw-modelwarden-cluster"
    [service] = by_kind(objects, "Service")
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {
        "metrics": 8085,
        "alerts": 9095,
        "webhook": 9443,
    }
    [monitor] = by_kind(objects, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["honorLabels"] is True
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    [pod_monitor] = by_kind(objects, "PodMonitor")
    assert pod_monitor["spec"]["namespaceSelector"] == {"matchNames": ["risk", "mail"]}


def test_dashboards_configmaps_hold_the_dashboard_files() -> None:
    objects = render("-f", str(ALL_OPTIONS))
    shipped: dict[str, Any] = {}
    for config_map in by_kind(objects, "ConfigMap"):
        if "governance.yaml" in config_map["data"]:
            continue
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert config_map["metadata"]["namespace"] == "monitoring"
        assert config_map["metadata"]["annotations"] == {"grafana_folder": "modelwarden"}
        shipped |= {name: json.loads(text) for name, text in config_map["data"].items()}
    files = {p.name: json.loads(p.read_text()) for p in (CHART / "dashboards").glob("*.json")}
    assert shipped == files
    assert len(files) == 2


def test_operator_pod_is_locked_down() -> None:
    objects = render()
    container = operator_container(objects)
    pod = by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    port_names = {p["name"] for p in container["ports"]}
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in port_names


def test_rbac_covers_every_kind_the_operator_touches() -> None:
    role = cluster_role(render(), "mw-modelwarden")
    for kind, (group_version, plural) in KINDS.items():
        needed = {"create"} if kind == "Event" else {"get"}
        assert grants(role, group_version.rpartition("/")[0], plural) >= needed, kind
    for plural in ("modeldeployments", "modelversions", "driftpolicies"):
        assert grants(role, "modelwarden.io", plural) >= {"list", "watch", "patch"}
        assert grants(role, "modelwarden.io", f"{plural}/status") >= {"patch"}
    # Least privilege: no wildcards, secrets never listed, pods never written.
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
    assert grants(role, "", "secrets") == {"get", "create"}
    assert grants(role, "", "pods") == {"get", "list"}


def test_webhook_configurations_only_with_the_webhook() -> None:
    group, resource = "admissionregistration.k8s.io", "mutatingwebhookconfigurations"
    assert grants(cluster_role(render(), "mw-modelwarden-cluster"), group, resource) == set()
    on = cluster_role(render("--set", "webhook.enabled=true"), "mw-modelwarden-cluster")
    assert grants(on, group, resource) >= {"create", "patch"}


def test_more_than_one_replica_is_refused() -> None:
    with pytest.raises(AssertionError, match="without leader election"):
        render("--set", "replicas=2")


def test_packaged_chart_ships_the_repo_crds(tmp_path: Path) -> None:
    run([helm_binary(), "package", CHART, "--destination", tmp_path])
    [package] = tmp_path.glob("modelwarden-*.tgz")
    with tarfile.open(package) as archive:
        shipped = {
            Path(member.name).name: archive.extractfile(member).read()  # type: ignore[union-attr]
            for member in archive.getmembers()
            if member.isfile() and Path(member.name).parent.name == "crds"
        }
    repo = {p.name: p.read_bytes() for p in (REPO_ROOT / "crds").glob("*.yaml")}
    assert sorted(shipped) == sorted(repo)
    assert shipped == repo


def test_rendered_prometheus_rule_is_the_rule_file(tmp_path: Path) -> None:
    [rule] = by_kind(render("--set", "prometheusRule.enabled=true"), "PrometheusRule")
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    extracted = tmp_path / "rendered.rules.yaml"
    extracted.write_text(yaml.safe_dump(rule["spec"]))
    run([promtool_binary(), "check", "rules", extracted])


def test_the_dockerfile_builds_the_image_the_chart_runs() -> None:
    # The image is not built here (no Docker engine); what the chart relies on is checked.
    dockerfile = (REPO_ROOT / "Dockerfile").read_text().splitlines()
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = (REPO_ROOT / "pyproject.toml").read_text()
    pod = by_kind(render(), "Deployment")[0]["spec"]["template"]["spec"]
    assert 'ENTRYPOINT ["modelwarden"]' in dockerfile
    assert operator_container(render())["command"] == ["modelwarden"]
    assert f"USER {pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" in (
        dockerfile
    )
    assert f'version = "{chart["appVersion"]}"' in project  # `make image` tags this version
