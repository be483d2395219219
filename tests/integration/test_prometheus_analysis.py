"""A canary judged by a PromQL check against a real Prometheus.

Prometheus scrapes every evaluator sidecar's /metrics on its pod IP, with the labels the
chart's PodMonitor gives (namespace, deployment, version); the operator
(``--prometheus-url``) fills the check's ``{{version}}`` with the canary and aborts the
rollout when the canary's error share breaks the bound. Debian's Prometheus is built without
Kubernetes service discovery, so a thread here lists the pods and writes Prometheus'
file_sd targets, the documented way to plug in outside discovery.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from modelwarden.decide.children import EVALUATOR_PORT
from modelwarden.demo.harness import TrafficLoop, free_port, patch_slot, slot_status, wait_for

NS, SLOT = "promql", "fraud-prom"
# The canary's share of 5xx answers; "or vector(0)" so that no errors at all is 0, not "no data".
ERROR_SHARE = (
    '(sum(rate(modelwarden_evaluator_requests_total{namespace="{{namespace}}",'
    'version="{{version}}",code="5xx"}[15s])) or vector(0))'
    ' / sum(rate(modelwarden_evaluator_requests_total{namespace="{{namespace}}",'
    'version="{{version}}"}[15s]))'
)


def targets(core: client.CoreV1Api) -> list[dict[str, object]]:
    """file_sd entries for every running pod of the namespace: the evaluator port, labelled
    as the chart's PodMonitor labels them."""
    found = []
    for pod in core.list_namespaced_pod(NS, label_selector="modelwarden.io/slot").items:
        if pod.status.pod_ip and pod.metadata.deletion_timestamp is None:
            labels = pod.metadata.labels or {}
            found.append({
                "targets": [f"{pod.status.pod_ip}:{EVALUATOR_PORT}"],
                "labels": {
                    "namespace": NS,
                    "pod": pod.metadata.name,
                    "deployment": labels.get("modelwarden.io/slot", ""),
                    "version": labels.get("modelwarden.io/version", ""),
                },
            })  # fmt: skip
    return found


def discover(core: client.CoreV1Api, path: Path, stop: threading.Event) -> None:
    """Keep Prometheus' targets file in step with the pods (atomic rewrites on change)."""
    written = None
    while not stop.wait(0.5):
        try:
            current = targets(core)
        except Exception:  # the API server busy for a moment: try again next round
            continue
        if current != written:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(current))
            tmp.replace(path)
            written = current


@pytest.fixture(scope="module")
def prometheus(core: client.CoreV1Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("the prometheus binary is missing: make system-deps installs it")
    folder = tmp_path_factory.mktemp("prometheus")
    sd_file = folder / "targets.json"
    sd_file.write_text("[]")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "modelwarden-evaluators",
                "file_sd_configs": [{"files": [str(sd_file)], "refresh_interval": "1s"}],
            }
        ],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    stop = threading.Event()
    threading.Thread(target=discover, args=(core, sd_file, stop), daemon=True).start()
    port = free_port()
    with (folder / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [binary, f"--config.file={folder / 'prometheus.yml'}",
             f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        process.terminate()
        process.wait(timeout=10)
        print(f"prometheus log: {folder / 'prometheus.log'}")


def instant(prometheus: str, query: str) -> list[dict[str, object]]:
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            result: list[dict[str, object]] = json.loads(response.read())["data"]["result"]
            return result
    except OSError:
        return []


@pytest.fixture(scope="module")
def api(
    demo_slot: Callable[..., AbstractContextManager[client.ApiClient]], prometheus: str
) -> Iterator[client.ApiClient]:
    analysis = {
        "interval": "5s",
        "minSamples": 40,
        "failureLimit": 0,
        "checks": [{"prometheus": {"query": ERROR_SHARE, "max": 0.05}}],
    }
    with demo_slot(
        NS,
        SLOT,
        ("v1", "v3"),
        ("--prometheus-url", prometheus),
        replicas=2,
        analysis=analysis,
        strategy={"type": "Canary", "canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}},
    ) as api:
        yield api


def test_prometheus_check_on_the_canary_aborts_a_failing_rollout(
    api: client.ApiClient, prometheus: str
) -> None:
    def status() -> dict[str, object]:
        return slot_status(api, NS, SLOT)

    # Given v1 serving traffic, its sidecars scraped by Prometheus through pod discovery
    wait_for("v1 Healthy", lambda: status().get("phase") == "Healthy", 180)
    traffic = TrafficLoop(api, NS, SLOT, "fraud", rate=40).start()
    try:
        v1_series = f'modelwarden_evaluator_requests_total{{version="fraud-v1",namespace="{NS}"}}'
        wait_for("v1 series in Prometheus", lambda: instant(prometheus, v1_series), 120)
        # When v3, which fails 30 % of its requests, is rolled out as a canary
        patch_slot(api, NS, SLOT, {"spec": {"version": "fraud-v3"}})
        # Then the check, evaluated for the canary ({{version}} = fraud-v3), breaks its bound
        # and the rollout is aborted back to v1
        wait_for(
            "aborted by the prometheus check",
            lambda: status().get("phase") == "Aborted",
            180,
            explain=lambda: json.dumps(status(), indent=1),
        )
    finally:
        traffic.stop()
    analysis = status()["analysis"]
    assert isinstance(analysis, dict)
    assert "modelwarden_evaluator_requests_total" in str(analysis["message"]), analysis
    assert "> max 0.05" in str(analysis["message"]), analysis
    assert status()["stableVersion"] == "fraud-v1"
