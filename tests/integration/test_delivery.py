"""Progressive delivery end to end: the real operator process, real evaluator sidecars and
sample model servers running as pod processes, traffic through the slot's Service.

One slot goes through the demo's story in order (each test is a chapter and needs the one
before): v1 serves, v2 is promoted by canary, v3 fails analysis and is aborted, the abort
survives a scale change, alerts roll back, halt stops inference, resume restores it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from localcluster import LocalCluster
from modelwarden.decide.children import SidecarSettings
from modelwarden.demo.harness import (
    AlertmanagerProcess,
    OperatorProcess,
    TrafficLoop,
    get_slot,
    patch_slot,
)

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "manifests" / "demo"
NS, SLOT = "delivery", "fraud"


class World:
    """Given/When/Then vocabulary over one namespace of the session's cluster."""

    def __init__(self, cluster: LocalCluster, operator: OperatorProcess) -> None:
        self.cluster, self.operator = cluster, operator
        self.api = cluster.api_client()
        self.traffic = TrafficLoop(self.api, NS, SLOT, "fraud", rate=60)

    def kubectl(self, *args: str) -> str:
        done = self.cluster.kubectl_run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def status(self) -> dict[str, Any]:
        return get_slot(self.api, NS, SLOT).get("status") or {}

    def condition(self, type_: str) -> str:
        found = [c for c in self.status().get("conditions", []) if c["type"] == type_]
        return found[0]["status"] if found else ""

    def eventually(self, what: str, check: Any, timeout: float = 180) -> Any:
        return self.operator.wait(
            what, check, timeout, context=lambda: f"status: {json.dumps(self.status(), indent=1)}"
        )

    def deployment_replicas(self, version: str) -> int | None:
        apps = client.AppsV1Api(self.api)
        items = apps.list_namespaced_deployment(
            NS, label_selector=f"modelwarden.io/slot={SLOT},modelwarden.io/version={version}"
        ).items
        return items[0].spec.replicas if items else None

    def pods(self, version: str) -> list[str]:
        selector = f"modelwarden.io/slot={SLOT},modelwarden.io/version={version}"
        found = client.CoreV1Api(self.api).list_namespaced_pod(NS, label_selector=selector)
        return [p.metadata.name for p in found.items]

    def events(self) -> list[str]:
        core = client.CoreV1Api(self.api)
        found = core.list_namespaced_event(NS, field_selector=f"involvedObject.name={SLOT}")
        return [e.reason for e in found.items]


@pytest.fixture(scope="module")
def world(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    operator = OperatorProcess(cluster.kubeconfig, log).start()
    w = World(cluster, operator)
    w.kubectl("create", "namespace", NS)
    for version in ("v1", "v2", "v3"):
        w.kubectl("apply", "-n", NS, "-f", str(DEMO / f"modelversion-{version}.yaml"))
    try:
        yield w
    finally:
        w.traffic.stop()
        operator.stop()
        print(f"operator log: {log}")


def test_v1_serves_traffic(world: World) -> None:
    # Given the demo slot pointing at fraud-v1
    world.kubectl("apply", "-n", NS, "-f", str(DEMO / "modeldeployment.yaml"))
    # Then it becomes Healthy and Promoted with all four pods of v1
    world.eventually("Healthy", lambda: world.status().get("phase") == "Healthy")
    assert world.condition("Promoted") == "True"
    assert world.deployment_replicas("fraud-v1") == 4
    # And the model answers through the evaluator sidecars
    world.traffic.start()
    world.eventually("answers", lambda: world.traffic.tally.codes["200"] >= 30, 60)


def test_good_canary_is_promoted(world: World) -> None:
    # When the spec names fraud-v2
    world.traffic.reset()
    patch_slot(world.api, NS, SLOT, {"spec": {"version": "fraud-v2"}})
    # Then a canary runs with weight 25 and the replicas split 3/1
    world.eventually(
        "canary at 25 %",
        lambda: (
            world.status().get("canaryWeight") == 25 and world.deployment_replicas("fraud-v2") == 1
        ),
        120,
    )
    assert world.deployment_replicas("fraud-v1") == 3
    # And eventually v2 is stable, v1 is kept as a scaled-down standby
    world.eventually(
        "v2 promoted",
        lambda: (
            world.status().get("stableVersion") == "fraud-v2"
            and world.status().get("phase") == "Healthy"
        ),
        300,
    )
    assert world.status()["standbyVersions"] == ["fraud-v1"]
    assert world.deployment_replicas("fraud-v1") == 0
    assert world.deployment_replicas("fraud-v2") == 4
    assert {"RolloutStarted", "Promoted"} <= set(world.events())
    # And the analysis that promoted it saw real traffic
    assert world.status()["analysis"]["samples"] >= 40
    # And no request failed on the way, scale-downs included: a removed pod drains (preStop)
    # after it has left the Service's endpoints, instead of refusing requests sent its way
    world.eventually("v1 pods gone", lambda: not world.pods("fraud-v1"), 60)
    time.sleep(SidecarSettings().drain_seconds + 2)  # past their processes' SIGTERM
    tally = world.traffic.reset()
    assert set(tally.codes) == {"200"}, tally.codes
    assert tally.codes["200"] > 100


def test_failed_analysis_aborts_to_stable(world: World) -> None:
    # When the spec names fraud-v3, which fails 30 % of requests
    patch_slot(world.api, NS, SLOT, {"spec": {"version": "fraud-v3"}})
    # Then the rollout aborts: all traffic on v2, v3 scaled to zero
    world.eventually("aborted", lambda: world.status().get("phase") == "Aborted", 300)
    status = world.status()
    assert status["stableVersion"] == "fraud-v2"
    assert status["canaryWeight"] == 0
    assert "error rate" in status["analysis"]["message"]
    world.eventually("v3 at zero", lambda: world.deployment_replicas("fraud-v3") == 0, 30)
    assert world.condition("Progressing") == "False"


def test_abort_stays_aborted_when_replicas_change(world: World) -> None:
    aborted_at = world.status()["abortedAt"]
    # When the slot is scaled through its /scale subresource
    world.kubectl("scale", "-n", NS, f"mdep/{SLOT}", "--replicas=6")
    # Then stable takes all six and the failed version stays at zero
    world.eventually("v2 at six", lambda: world.deployment_replicas("fraud-v2") == 6, 60)
    time.sleep(5)
    status = world.status()
    assert status["phase"] == "Aborted"
    assert status["abortedAt"] == aborted_at
    assert world.deployment_replicas("fraud-v3") == 0


def test_halt_stops_inference_and_resume_restores_it(world: World) -> None:
    world.traffic.reset()
    # When the slot is halted
    started = time.monotonic()
    patch_slot(world.api, NS, SLOT, {"spec": {"halt": True, "haltReason": "test"}})
    world.eventually("phase Halted", lambda: world.status().get("phase") == "Halted", 30)

    def refused() -> bool:
        tally = world.traffic.reset()
        return sum(tally.codes.values()) > 0 and tally.model_answers == 0

    # Then every request is refused by the sidecars and none reaches a model
    world.eventually("all refused", refused, 10)
    time.sleep(3)
    during = world.traffic.reset()
    assert during.model_answers == 0, during.codes
    assert during.codes["503"] > 0
    assert world.condition("Halted") == "True"
    assert world.status()["halted"]["reason"] == "test"
    # How fast is measured, not asserted: the figure goes to the test output for the notes.
    print(f"halt: first refusal {world.traffic.first_refusal_after(started)}s after the patch")
    # When it is resumed, answers flow again
    patch_slot(world.api, NS, SLOT, {"spec": {"halt": False}})
    world.eventually("answers again", lambda: world.traffic.tally.codes["200"] >= 20, 60)
    world.eventually("Halted=False", lambda: world.condition("Halted") == "False", 30)


def _alert(name: str) -> dict[str, Any]:
    return {
        "labels": {
            "alertname": name,
            "severity": "critical",
            "namespace": NS,
            "modelwarden_io_deployment": SLOT,
        },
        "annotations": {"summary": f"{name} on {SLOT}"},
    }


def test_critical_alerts_roll_back_to_the_standby(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given v2 serving (v3 dropped from the spec) with v1 on standby
    patch_slot(world.api, NS, SLOT, {"spec": {"version": "fraud-v2"}})
    world.eventually("Healthy on v2", lambda: world.status().get("phase") == "Healthy", 60)
    # And an operator webhook that refuses alerts without its bearer token
    webhook = f"http://127.0.0.1:{world.operator.alerts_port}/alerts"
    forged = json.dumps({"alerts": [_alert("Forged"), _alert("Forged2")]}).encode()
    request = urllib.request.Request(webhook, data=forged, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    # And a real Alertmanager routing to it with the token
    alertmanager = AlertmanagerProcess(
        webhook,
        tmp_path_factory.mktemp("alertmanager"),
        bearer_token_file=world.operator.alerts_token_file,
    ).start()
    try:
        # When Prometheus-style clients fire two critical alerts for the slot
        alertmanager.fire([_alert("HighErrorRate"), _alert("LatencyBudgetBurn")])
        # Then the slot rolls back to v1 at once
        world.eventually("rolled back", lambda: world.status().get("phase") == "RolledBack", 60)
    finally:
        alertmanager.stop()
    status = world.status()
    assert status["stableVersion"] == "fraud-v1"
    assert {a["name"] for a in status["alerts"]} >= {"HighErrorRate", "LatencyBudgetBurn"}
    assert not {"Forged", "Forged2"} & {a["name"] for a in status["alerts"]}
    world.eventually("v1 scaled up", lambda: (world.deployment_replicas("fraud-v1") or 0) > 0, 30)
    assert "RolledBack" in world.events()
