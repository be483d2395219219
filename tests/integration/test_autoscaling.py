"""The real HPA controller scales a slot on the real CPU use of its pods, through the slot's
/scale subresource, and the operator splits every new total by the canary's weight.

Given/When/Then on the local control plane: the controller-manager's HPA controller reads
`metrics.k8s.io` (served from the pod processes' measured CPU, see `localcluster.usage`),
so load is made by sending traffic, never by writing /scale.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
import yaml
from kubernetes import client

from localcluster import LocalCluster
from localcluster.build import REPO_ROOT
from modelwarden.demo.harness import (
    TrafficLoop,
    patch_slot,
    slot_status,
    version_replicas,
    wait_for,
)

NS, SLOT = "autoscale", "fraud-hpa"
# The pods' CPU requests are 50m per container (model server and sidecar): 100m per pod.
# Measured: idle pods use 5-10 % (the sidecar answering the operator's report pulls), busy
# ones well over 100 %, so 40 % leaves a wide margin on either side on a slow machine.
TARGET_CPU = 40


@pytest.fixture(scope="module")
def api(
    demo_slot: Callable[..., AbstractContextManager[client.ApiClient]],
) -> Iterator[client.ApiClient]:
    with demo_slot(
        NS,
        SLOT,
        ("v1", "v2"),
        replicas=2,
        autoscaling={
            "minReplicas": 2,
            "maxReplicas": 4,
            "targetCpuUtilization": TARGET_CPU,
            "scaleDownStabilizationSeconds": 0,
        },
        strategy={"type": "Canary", "canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}},
    ) as api:
        yield api


def status(api: client.ApiClient, slot: str = SLOT) -> dict:
    return slot_status(api, NS, slot)


def condition(api: client.ApiClient, type_: str, slot: str = SLOT) -> dict:
    found = [c for c in status(api, slot).get("conditions", []) if c["type"] == type_]
    return found[0] if found else {}


def split(api: client.ApiClient) -> tuple[int | None, int | None]:
    return version_replicas(api, NS, SLOT, "fraud-v1"), version_replicas(api, NS, SLOT, "fraud-v2")


def hpa(cluster: LocalCluster) -> dict:
    result = cluster.kubectl_run("get", "hpa", "-n", NS, SLOT, "-o", "json")
    return json.loads(result.stdout)


def utilisation(cluster: LocalCluster) -> int | None:
    """The average CPU utilisation (% of requests) the HPA last computed."""
    current = hpa(cluster).get("status", {}).get("currentMetrics") or [{}]
    value = current[0].get("resource", {}).get("current", {}).get("averageUtilization")
    return None if value is None else int(value)


def describe(cluster: LocalCluster) -> str:
    """What the HPA saw and did, for a failing assertion's message."""
    top = cluster.kubectl_run("top", "pod", "-n", NS, "--containers", check=False)
    only_hpa = "involvedObject.kind=HorizontalPodAutoscaler"
    events = cluster.kubectl_run(
        "get", "events", "-n", NS, "--field-selector", only_hpa, check=False
    )
    return f"{json.dumps(hpa(cluster).get('status'), indent=1)}\n{top.stdout}\n{events.stdout}"


def test_hpa_scales_the_slot_on_cpu_and_the_operator_splits_by_weight(
    api: client.ApiClient, cluster: LocalCluster
) -> None:
    # Given v1 serving on the HPA's minimum of 2 pods and a canary of v2 held at a manual gate
    # at 50 % (1 + 1)
    wait_for("v1 Healthy", lambda: status(api).get("phase") == "Healthy", 180)
    patch_slot(api, NS, SLOT, {"spec": {"version": "fraud-v2"}})
    wait_for("paused at the gate", lambda: status(api).get("phase") == "Paused", 120)
    assert split(api) == (1, 1)
    # When heavy traffic makes the pods busy
    loops = [TrafficLoop(api, NS, SLOT, "fraud", rate=200).start() for _ in range(4)]
    try:
        # Then the HPA controller raises the slot's /scale to its maximum of 4 and the
        # operator splits it 2 + 2: both versions grow, neither at the other's expense
        wait_for(
            "HPA scales to 4",
            lambda: hpa(cluster).get("status", {}).get("desiredReplicas") == 4,
            180,
            explain=lambda: describe(cluster),
        )
        wait_for("2 + 2", lambda: split(api) == (2, 2), 60)
        wait_for("status says 4", lambda: status(api)["replicas"] == 4, 30)
        assert status(api)["phase"] == "Paused"
        assert condition(api, "Autoscaling")["status"] == "True"
        busy = utilisation(cluster)
    finally:
        for loop in loops:
            loop.stop()
    served = sum(loop.tally.model_answers for loop in loops)
    print(f"under load: {served} requests answered by a model, HPA saw {busy} % CPU")
    # When the traffic stops, Then the HPA scales back to 2 (no stabilisation window) and the
    # split follows, still at the gate
    wait_for(
        "HPA scales back to 2",
        lambda: hpa(cluster).get("status", {}).get("desiredReplicas") == 2,
        180,
        explain=lambda: describe(cluster),
    )
    wait_for("1 + 1", lambda: split(api) == (1, 1), 60)
    wait_for("status says 2", lambda: status(api)["replicas"] == 2, 30)
    assert status(api)["phase"] == "Paused"
    idle = utilisation(cluster)
    print(f"idle: HPA saw {idle} % CPU")
    assert idle is not None
    assert idle < TARGET_CPU


def test_a_slot_that_cannot_autoscale_says_why(
    api: client.ApiClient, cluster: LocalCluster
) -> None:
    # Given a ModelVersion whose model container has no CPU request
    version = yaml.safe_load((REPO_ROOT / "manifests/demo/modelversion-v1.yaml").read_text())
    version["metadata"]["name"] = "fraud-no-request"
    del version["spec"]["runtime"]["resources"]
    # When a slot serving it asks for CPU autoscaling
    slot = yaml.safe_load((REPO_ROOT / "manifests/demo/modeldeployment.yaml").read_text())
    slot["metadata"]["name"] = "fraud-no-request"
    slot["spec"].update(
        version="fraud-no-request",
        replicas=1,
        autoscaling={"minReplicas": 1, "maxReplicas": 2},
    )
    docs = yaml.safe_dump_all([version, slot])
    cluster.kubectl_run("apply", "-n", NS, "-f", "-", input=docs)

    # Then, once its pod is measured, its Autoscaling condition is False with the HPA's own
    # reason and message, naming the container
    def reported() -> bool:
        found = condition(api, "Autoscaling", "fraud-no-request")
        return "missing request for cpu" in found.get("message", "")

    wait_for(
        "Autoscaling=False for the missing request",
        reported,
        120,
        explain=lambda: json.dumps(status(api, "fraud-no-request"), indent=1),
    )
    found = condition(api, "Autoscaling", "fraud-no-request")
    assert (found["status"], found["reason"]) == ("False", "FailedGetResourceMetric")
    assert "in container model of Pod" in found["message"]
    # When autoscaling is removed from its spec
    patch = {"spec": {"autoscaling": None, "replicas": 1}}
    client.CustomObjectsApi(api).patch_namespaced_custom_object(
        "modelwarden.io", "v1alpha1", NS, "modeldeployments", "fraud-no-request", patch
    )

    # Then its HPA is deleted and the condition goes with it
    def hpa_gone() -> bool:
        found = cluster.kubectl_run("get", "hpa", "-n", NS, "fraud-no-request", check=False)
        return found.returncode != 0 and "NotFound" in found.stderr

    wait_for("HPA deleted", hpa_gone, 60)
    wait_for(
        "no Autoscaling condition",
        lambda: not condition(api, "Autoscaling", "fraud-no-request"),
        30,
    )
