"""The session's real control plane.

The `cluster` fixture builds the binaries when the cache lacks them (never skips: CI must
fail rather than pass silently) and starts a dedicated cluster in `.cluster/pytest/` with its
own ports and pod CIDR, so it never touches one started by `make cluster-up`; it stops every
process at the end of the session. A failing test's report names the log folder.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from kubernetes import client

from localcluster import LocalCluster
from localcluster.build import REPO_ROOT

# Overridable so that two test sessions (say, a developer's and an agent's) can run side by
# side: each needs its own state folder and its own pod CIDR (pod IPs are local addresses).
STATE_DIR = Path(os.environ.get("MODELWARDEN_TEST_CLUSTER", REPO_ROOT / ".cluster" / "pytest"))
POD_CIDR = os.environ.get("MODELWARDEN_TEST_POD_CIDR", "127.21.0.0/16")
TEST_IMAGES = {
    "localtest/http-echo": ["{python}", "-m", "http.server", "--bind", "{pod_ip}", "{port}"],
    "localtest/crash": ["{python}", "-c", "print('boom', flush=True); raise SystemExit(3)"],
    "localtest/succeed": ["{python}", "-c", "print('done')"],
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
