"""Blue-green end to end: the new colour runs at full size behind the preview Service with no
live traffic, is switched in after passing analysis, and the old colour drains after the
scale-down delay."""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from kubernetes import client

from localcluster.traffic import ServiceClient
from modelwarden.demo.harness import (
    TrafficLoop,
    patch_slot,
    slot_status,
    version_replicas,
    wait_for,
)
from modelwarden.examples.fraud import generate_rows, v2_request

NS, SLOT = "bluegreen", "fraud-bg"


@pytest.fixture(scope="module")
def api(
    demo_slot: Callable[..., AbstractContextManager[client.ApiClient]],
) -> Iterator[client.ApiClient]:
    with demo_slot(
        NS,
        SLOT,
        ("v1", "v2"),
        replicas=2,
        strategy={
            "type": "BlueGreen",
            "blueGreen": {"autoPromotionSeconds": 15, "scaleDownDelaySeconds": 10},
        },
    ) as api:
        yield api


def status(api: client.ApiClient) -> dict:
    return slot_status(api, NS, SLOT)


def replicas(api: client.ApiClient, version: str) -> int | None:
    return version_replicas(api, NS, SLOT, version)


def versions_answering(
    api: client.ApiClient, service: str, n: int = 20
) -> collections.Counter[str]:
    """Which version's pods answered ``n`` requests sent to ``service``."""
    target = ServiceClient(client.CoreV1Api(api), NS, service)
    seen: collections.Counter[str] = collections.Counter()
    for seed in range(n):
        body = v2_request(generate_rows(1, seed=seed))
        answer = target.post_json("/v2/models/fraud/infer", json.dumps(body).encode())
        assert answer.status == 200, answer.body
        seen["fraud-v2" if "-fraud-v2-" in answer.pod else "fraud-v1"] += 1
    return seen


def test_blue_green_switch(api: client.ApiClient) -> None:
    # Given the slot serving v1
    wait_for("v1 Healthy", lambda: status(api).get("phase") == "Healthy", 180)
    traffic = TrafficLoop(api, NS, SLOT, "fraud", rate=40).start()
    try:
        # When the spec names v2
        patch_slot(api, NS, SLOT, {"spec": {"version": "fraud-v2"}})
        # Then v2 runs at full size as the preview while live traffic stays on v1
        wait_for("preview ready", lambda: replicas(api, "fraud-v2") == 2, 60)
        wait_for(
            "preview pods answer",
            lambda: (
                client.AppsV1Api(api)
                .list_namespaced_deployment(NS, label_selector="modelwarden.io/version=fraud-v2")
                .items[0]
                .status.ready_replicas
                == 2
            ),
            60,
        )
        assert status(api)["canaryVersion"] == "fraud-v2"
        assert versions_answering(api, SLOT) == {"fraud-v1": 20}
        assert versions_answering(api, f"{SLOT}-preview") == {"fraud-v2": 20}
        # When smoke traffic exercises the preview (its analysis needs samples: no promotion
        # on too few), then after the automatic promotion delay v2 is switched in
        smoke = TrafficLoop(api, NS, f"{SLOT}-preview", "fraud", rate=40).start()
        try:
            wait_for("switched", lambda: status(api).get("stableVersion") == "fraud-v2", 120)
        finally:
            smoke.stop()
        wait_for("main serves v2", lambda: versions_answering(api, SLOT) == {"fraud-v2": 20}, 30)
        # And the old colour is kept warm for the scale-down delay, then drained
        assert status(api)["standbyVersions"] == ["fraud-v1"]
        wait_for("old colour drained", lambda: replicas(api, "fraud-v1") == 0, 60)
        time.sleep(1)
        assert traffic.tally.codes.get("500", 0) == 0
    finally:
        traffic.stop()
