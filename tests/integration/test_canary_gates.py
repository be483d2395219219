"""A canary held at a manual gate: scaling the slot (what an HPA does through /scale) splits
the new total by weight, and `promote` (the command annotation) releases the gate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from kubernetes import client

from localcluster import LocalCluster
from modelwarden.demo.harness import (
    TrafficLoop,
    patch_slot,
    slot_status,
    version_replicas,
    wait_for,
)

NS, SLOT = "gates", "fraud-gated"


@pytest.fixture(scope="module")
def api(
    demo_slot: Callable[..., AbstractContextManager[client.ApiClient]],
) -> Iterator[client.ApiClient]:
    with demo_slot(
        NS,
        SLOT,
        ("v1", "v2"),
        strategy={"type": "Canary", "canary": {"steps": [{"setWeight": 25}, {"pause": {}}]}},
    ) as api:
        yield api


def status(api: client.ApiClient) -> dict:
    return slot_status(api, NS, SLOT)


def replicas(api: client.ApiClient, version: str) -> int | None:
    return version_replicas(api, NS, SLOT, version)


def test_scale_splits_by_weight_and_promote_releases_the_gate(
    api: client.ApiClient, cluster: LocalCluster
) -> None:
    wait_for("v1 Healthy", lambda: status(api).get("phase") == "Healthy", 180)
    traffic = TrafficLoop(api, NS, SLOT, "fraud", rate=40).start()
    try:
        # Given a canary of v2 held at a manual gate at 25 % of 4 replicas (3 + 1)
        patch_slot(api, NS, SLOT, {"spec": {"version": "fraud-v2"}})
        wait_for("paused at the gate", lambda: status(api).get("phase") == "Paused", 120)
        assert (replicas(api, "fraud-v1"), replicas(api, "fraud-v2")) == (3, 1)
        # When the slot's total goes to 8 through the /scale subresource (as an HPA would)
        done = cluster.kubectl_run("scale", "-n", NS, f"mdep/{SLOT}", "--replicas=8")
        assert done.returncode == 0, done.stderr
        # Then both sides grow in proportion (6 + 2) and the rollout stays at the gate
        wait_for(
            "6 + 2",
            lambda: (replicas(api, "fraud-v1"), replicas(api, "fraud-v2")) == (6, 2),
            60,
        )
        assert status(api)["phase"] == "Paused"
        assert status(api)["replicas"] == 8
        # When someone promotes (the annotation kubectl warden promote sets)
        patch_slot(
            api,
            NS,
            SLOT,
            {"metadata": {"annotations": {"modelwarden.io/command": "promote@test-1"}}},
        )
        # Then the gate opens and v2 is promoted once its final analysis passes
        wait_for("promoted", lambda: status(api).get("stableVersion") == "fraud-v2", 120)
        wait_for("v2 takes all 8", lambda: replicas(api, "fraud-v2") == 8, 60)
        assert status(api)["lastCommand"] == "promote@test-1"
    finally:
        traffic.stop()
