"""The Helm chart on the real local control plane.

Every object the chart renders (default values, and every switch on) must pass the API
server's own validation in a server-side dry run, the monitoring kinds included: the
ServiceMonitor, PodMonitor and PrometheusRule CRDs of prometheus-operator are fetched through
the Go module proxy like the Gateway API CRDs. Then `helm install` runs the operator as a pod
with nothing but the chart's ServiceAccount and RBAC: it must serve the demo slot, export its
metrics and take an alert shaped by the chart's rules on its webhook, without one refusal.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcluster import LocalCluster
from localcluster.build import REPO_ROOT, cache_root
from modelwarden.demo.harness import wait_for
from unit.chart.helmtool import ALL_OPTIONS, CHART, helm_binary

PROMETHEUS_OPERATOR = "v0.85.0"
MONITORING_CRDS = ("podmonitors", "prometheusrules", "servicemonitors")
RELEASE_NS = "chart-system"
WATCHED = ("chart-a", "chart-b")  # watchNamespaces of the all-options render
DEMO_NS, SLOT = "chart-demo", "fraud"
DEMO = REPO_ROOT / "manifests" / "demo"


def monitoring_crd_files() -> list[Path]:
    """prometheus-operator's CRDs for the three kinds the chart renders, cached."""
    dest = cache_root() / "prometheus-operator" / PROMETHEUS_OPERATOR
    files = [dest / f"monitoring.coreos.com_{plural}.yaml" for plural in MONITORING_CRDS]
    if all(f.is_file() for f in files):
        return files
    print(f"[chart tests] fetching prometheus-operator {PROMETHEUS_OPERATOR} CRDs", file=sys.stderr)
    module = f"github.com/prometheus-operator/prometheus-operator@{PROMETHEUS_OPERATOR}"
    dest.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        ["go", "mod", "download", "-json", module],
        cwd=dest,  # outside any Go module: no go.mod or go.sum is touched
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    src = Path(json.loads(out)["Dir"]) / "example" / "prometheus-operator-crd"
    for f in files:
        shutil.copyfile(src / f.name, f)
    return files


def kubectl(cluster: LocalCluster, *args: str, stdin: str | None = None) -> str:
    done = cluster.kubectl_run(*args, input=stdin, check=False)
    assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return str(done.stdout)


def helm(cluster: LocalCluster, *args: str) -> str:
    argv = [str(helm_binary()), "--kubeconfig", str(cluster.kubeconfig), *args]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def chart_cluster(cluster: LocalCluster) -> Iterator[LocalCluster]:
    """The session's cluster plus the monitoring CRDs and the namespaces the renders name;
    all removed afterwards, so later modules find the cluster as it was."""
    for crd in monitoring_crd_files():
        kubectl(cluster, "apply", "--server-side", "--force-conflicts", "-f", str(crd))
    names = [f"{plural}.monitoring.coreos.com" for plural in MONITORING_CRDS]
    kubectl(cluster, "wait", "--for=condition=Established", "--timeout=60s", "crd", *names)
    namespaces = (RELEASE_NS, *WATCHED, "chart-monitoring", DEMO_NS)
    for namespace in namespaces:
        cluster.kubectl_run("create", "namespace", namespace, check=False)  # may exist
    kubectl(cluster, "get", "namespace", *namespaces)
    yield cluster
    cluster.kubectl_run("delete", "namespace", *namespaces, "--wait=false", check=False)
    cluster.kubectl_run("delete", "crd", *names, "--wait=false", check=False)


RENDERS = {
    "default": [],
    "all": [
        "-f", str(ALL_OPTIONS),
        "--set", f"watchNamespaces={{{','.join(WATCHED)}}}",
        "--set", "grafanaDashboards.namespace=chart-monitoring",
    ],
}  # fmt: skip


@pytest.mark.parametrize("values", RENDERS.values(), ids=RENDERS.keys())
def test_every_rendered_object_passes_server_validation(
    chart_cluster: LocalCluster, values: list[str]
) -> None:
    rendered = helm(
        chart_cluster, "template", "mw", str(CHART), "-n", RELEASE_NS, "--include-crds", *values
    )
    out = kubectl(
        chart_cluster,
        "apply", "--server-side", "--force-conflicts", "--field-manager=chart-test",
        "--dry-run=server", "--validate=strict", "-f", "-",  # each object names its namespace
        stdin=rendered,
    )  # fmt: skip
    applied = [line for line in out.splitlines() if line.strip()]
    assert len(applied) == len([doc for doc in yaml.safe_load_all(rendered) if doc]), out
    assert all(line.endswith("(server dry run)") for line in applied), out


class Installed:
    """The release installed with `helm install`, and its operator pod's address and log."""

    def __init__(self, cluster: LocalCluster, notes: str) -> None:
        self.cluster, self.notes = cluster, notes

    def pod(self) -> dict[str, Any]:
        out = kubectl(
            self.cluster, "get", "pods", "-n", RELEASE_NS, "-o", "json",
            "-l", "app.kubernetes.io/instance=mw,app.kubernetes.io/name=modelwarden",
        )  # fmt: skip
        [pod] = json.loads(out)["items"]
        assert isinstance(pod, dict)
        return pod

    def url(self, port: int, path: str) -> str:
        return f"http://{self.pod()['status']['podIP']}:{port}{path}"

    def log(self) -> str:
        pod = self.pod()["metadata"]
        name = f"{RELEASE_NS}_{pod['name']}_{pod['uid'][:8]}_operator.log"
        path = self.cluster.log_dir / "pods" / name
        return path.read_text(errors="replace") if path.exists() else f"(no log at {path})"

    def slot(self) -> dict[str, Any]:
        out = kubectl(self.cluster, "get", "modeldeployment", SLOT, "-n", DEMO_NS, "-o", "json")
        slot: dict[str, Any] = json.loads(out)
        return slot

    def eventually(self, what: str, check: Any, timeout: float = 180) -> Any:
        def permitted() -> Any:  # a refusal fails at once, not after the timeout
            assert "Forbidden" not in (log := self.log()), f"RBAC refused:\n{log[-6000:]}"
            return check()

        try:
            return wait_for(what, permitted, timeout, interval=1.0)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\noperator log:\n{self.log()[-6000:]}") from exc


@pytest.fixture(scope="module")
def installed(chart_cluster: LocalCluster) -> Iterator[Installed]:
    out = helm(
        chart_cluster, "install", "mw", str(CHART), "-n", RELEASE_NS,
        "--set", f"watchNamespaces={{{DEMO_NS}}}",
        # Pods are processes on the host here: listen on the pod's address, not on every one.
        "--set", "bindHost=$(POD_IP)",
        "--set", "evaluatorWindow=5s",
        "--wait", "--timeout", "3m",
    )  # fmt: skip
    try:
        yield Installed(chart_cluster, out)
    finally:
        # The slot goes while its operator still runs, then the operator.
        chart_cluster.kubectl_run("delete", "modeldeployment", SLOT, "-n", DEMO_NS, check=False)
        helm(chart_cluster, "uninstall", "mw", "-n", RELEASE_NS, "--wait", "--timeout", "2m")


def test_installed_operator_serves_a_slot_with_the_charts_rbac(installed: Installed) -> None:
    cluster = installed.cluster
    kubectl(cluster, "apply", "-n", DEMO_NS, "-f", str(DEMO / "modelversion-v1.yaml"))
    kubectl(cluster, "apply", "-n", DEMO_NS, "-f", str(DEMO / "modeldeployment.yaml"))
    installed.eventually(
        "the slot Healthy",
        lambda: (installed.slot().get("status") or {}).get("phase") == "Healthy",
    )
    with urllib.request.urlopen(installed.url(8085, "/metrics"), timeout=5) as response:
        metrics = response.read().decode()
    labels = f'deployment="{SLOT}",namespace="{DEMO_NS}",phase="Healthy"'
    assert f"modelwarden_rollout_phase{{{labels}}} 1.0" in metrics
    # NOTES.txt tells where to point Alertmanager.
    assert f"url: http://mw-modelwarden.{RELEASE_NS}.svc:9095/alerts" in installed.notes
    assert "Forbidden" not in installed.log()


def test_alert_from_the_chart_rules_lands_on_its_slot(installed: Installed) -> None:
    # Labels as ModelwardenDriftCritical fires them (see tests/unit/chart/rules_test.yaml).
    labels = {
        "alertname": "ModelwardenDriftCritical",
        "severity": "critical",
        "namespace": DEMO_NS,
        "policy": "fraud-drift",
        "deployment": SLOT,
        "modelwarden_io_deployment": SLOT,
    }
    payload = {
        "version": "4",
        "status": "firing",
        "receiver": "modelwarden",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "startsAt": "2026-11-23T10:00:00Z",
                "fingerprint": "c0ffee",
            }
        ],
    }

    def post(token: str) -> urllib.request.Request:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return urllib.request.Request(
            installed.url(9095, "/alerts"),
            data=json.dumps(payload).encode(),
            headers=headers,
            method="POST",
        )

    # An alert without the chart's token is refused
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(post(""), timeout=10)
    assert refused.value.code == 401
    # With the token of the Secret the chart generated, it is recorded on its slot
    encoded = kubectl(
        installed.cluster, "get", "secret", "mw-modelwarden-alerts-token", "-n", RELEASE_NS,
        "-o", "jsonpath={.data.token}",
    )  # fmt: skip
    with urllib.request.urlopen(post(base64.b64decode(encoded).decode()), timeout=10) as response:
        assert json.loads(response.read()) == {"received": 1, "recorded": 1}
    alerts = (installed.slot().get("status") or {}).get("alerts") or []
    assert {"name": "ModelwardenDriftCritical", "severity": "Critical"}.items() <= alerts[
        -1
    ].items()
    assert "Forbidden" not in installed.log()
