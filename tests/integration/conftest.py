"""The session's real control plane.

The `cluster` fixture builds the binaries when the cache lacks them (never skips: CI must
fail rather than pass silently) and starts a dedicated cluster in `.cluster/pytest/` with its
own ports and pod CIDR, so it never touches one started by `make cluster-up`; it stops every
process at the end of the session. A failing test's report names the log folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from localcluster import LocalCluster
from localcluster.build import REPO_ROOT
from modelwarden.demo.harness import OperatorProcess

# Overridable so that two test sessions (say, a developer's and an agent's) can run side by
# side: each needs its own state folder and its own pod CIDR (pod IPs are local addresses).
STATE_DIR = Path(os.environ.get("MODELWARDEN_TEST_CLUSTER", REPO_ROOT / ".cluster" / "pytest"))
POD_CIDR = os.environ.get("MODELWARDEN_TEST_POD_CIDR", "127.21.0.0/16")
TEST_IMAGES = {
    "localtest/http-echo": ["{python}", "-m", "http.server", "--bind", "{pod_ip}", "{port}"],
    "localtest/crash": ["{python}", "-c", "print('boom', flush=True); raise SystemExit(3)"],
    "localtest/succeed": ["{python}", "-c", "print('done')"],
    "localtest/burn": ["{python}", "-c", "while True: pass"],
    # A retraining Job: fails unless the trigger's env and mounted JSON agree.
    "localtest/retrain": [
        "{python}",
        "-c",
        "import json, os, pathlib; e = os.environ; "
        "doc = json.loads(pathlib.Path(e['MODELWARDEN_RETRAIN_TRIGGER_FILE']).read_text()); "
        "assert doc['reason'] == e['MODELWARDEN_RETRAIN_REASON'], doc; "
        "print('retrain', doc['verdict'], doc['samples'], len(doc['checks']))",
    ],
    "localtest/show": [
        "{python}",
        "-c",
        "import os, sys, pathlib; e = os.environ; "
        "print(e['MY_IP'], e['MY_NAME'], e['PASSWORD'], e['CM_greeting'], "
        "pathlib.Path(sys.argv[1]).read_text())",
    ],
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is an integration test."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.failed and "cluster" in getattr(item, "fixturenames", ()):
        report.sections.append(("local cluster", f"component logs: {STATE_DIR / 'logs'}"))


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    local = LocalCluster(STATE_DIR, images=TEST_IMAGES, pod_cidr=POD_CIDR)
    local.stop()  # leftovers of an interrupted session: start afresh, never reuse
    try:
        local.start()
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def core(cluster: LocalCluster) -> client.CoreV1Api:
    return client.CoreV1Api(cluster.api_client())


DEMO = REPO_ROOT / "manifests" / "demo"


@contextmanager
def _demo_slot(
    cluster: LocalCluster,
    log_dir: Path,
    namespace: str,
    slot: str,
    versions: tuple[str, ...],
    operator_args: tuple[str, ...] = (),
    **spec: Any,
) -> Iterator[client.ApiClient]:
    """Given an operator process (with ``operator_args`` as extra ``modelwarden run`` flags)
    and a namespace holding the demo's ModelVersions (``versions``, e.g. ``("v1", "v2")``)
    and a slot made from the demo ModelDeployment with ``spec`` overriding its fields; the
    operator stops when the block ends."""

    log = log_dir / "operator.log"
    operator = OperatorProcess(cluster.kubeconfig, log, extra_args=operator_args).start()
    cluster.kubectl_run("create", "namespace", namespace)
    for version in versions:
        manifest = DEMO / f"modelversion-{version}.yaml"
        cluster.kubectl_run("apply", "-n", namespace, "-f", str(manifest))
    body = yaml.safe_load((DEMO / "modeldeployment.yaml").read_text())
    body["metadata"]["name"] = slot
    body["spec"].update(spec)
    client.CustomObjectsApi(cluster.api_client()).create_namespaced_custom_object(
        "modelwarden.io", "v1alpha1", namespace, "modeldeployments", body
    )
    try:
        yield cluster.api_client()
    finally:
        operator.stop()
        print(f"operator log: {log_dir / 'operator.log'}")


@pytest.fixture(scope="module")
def demo_slot(
    cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., AbstractContextManager[client.ApiClient]]:
    """``demo_slot(namespace, slot, versions, **spec)``: see :func:`_demo_slot`."""

    def start(
        namespace: str,
        slot: str,
        versions: tuple[str, ...],
        operator_args: tuple[str, ...] = (),
        **spec: Any,
    ) -> AbstractContextManager[client.ApiClient]:
        log_dir = tmp_path_factory.mktemp(f"operator-{namespace}")
        return _demo_slot(cluster, log_dir, namespace, slot, versions, operator_args, **spec)

    return start
