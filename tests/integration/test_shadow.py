"""Shadow end to end: the stable pods' sidecars mirror live requests to the new version's pods,
callers only ever get the stable answer, and the shadow is promoted when agreement and
analysis hold for the shadow duration — or aborted when agreement falls short."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
from kubernetes import client

from modelwarden.demo.harness import (
    Tally,
    TrafficLoop,
    patch_slot,
    slot_status,
    wait_for,
)

NS, SLOT = "shadow", "fraud-shadow"


@pytest.fixture(scope="module")
def api(
    demo_slot: Callable[..., AbstractContextManager[client.ApiClient]],
) -> Iterator[client.ApiClient]:
    with demo_slot(
        NS,
        SLOT,
        ("v1", "v2", "v3"),
        replicas=2,
        strategy={
            "type": "Shadow",
            "shadow": {"duration": "30s", "mirrorPercent": 100, "minAgreement": 0.95},
        },
    ) as api:
        yield api


def status(api: client.ApiClient) -> dict:
    return slot_status(api, NS, SLOT)


def test_shadow_promotes_on_agreement_and_aborts_on_disagreement(api: client.ApiClient) -> None:
    wait_for("v1 Healthy", lambda: status(api).get("phase") == "Healthy", 180)
    traffic = TrafficLoop(api, NS, SLOT, "fraud", rate=40).start()
    try:
        # When v2 (the same scores) is shadowed
        patch_slot(api, NS, SLOT, {"spec": {"version": "fraud-v2"}})
        wait_for("shadowing", lambda: status(api).get("canaryVersion") == "fraud-v2", 60)
        traffic.reset()

        # Then callers are answered by v1 pods only while v2 receives copies: the tally is
        # taken once v2's copies are measured and kept only if v1 was still stable after it
        def shadowed_tally() -> Tally | None:
            if status(api).get("analysis", {}).get("samples", 0) == 0:
                return None
            tally = traffic.reset()
            assert status(api).get("stableVersion") == "fraud-v1", "promoted before measured"
            return tally

        during: Tally = wait_for("v2 measured while shadowing", shadowed_tally, 90)
        assert during.pods
        assert all("-fraud-v1-" in pod for pod in during.pods), during.pods
        # And after the shadow duration with full agreement, v2 is promoted
        wait_for("v2 promoted", lambda: status(api).get("stableVersion") == "fraud-v2", 120)
        # When v3 (errors and shifted scores) is shadowed, its disagreement aborts it
        patch_slot(api, NS, SLOT, {"spec": {"version": "fraud-v3"}})
        wait_for("v3 aborted", lambda: status(api).get("phase") == "Aborted", 120)
        assert status(api)["stableVersion"] == "fraud-v2"
        assert "agreement" in status(api)["message"] or "error rate" in status(api)["message"]
        assert traffic.tally.codes.get("500", 0) == 0  # callers never saw v3's errors
    finally:
        traffic.stop()
