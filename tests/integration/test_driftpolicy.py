"""DriftPolicy end to end: the real operator process, real evaluator sidecars and sample model
servers as pod processes, traffic whose features really shift (``generate_rows(shift=)``).

One slot goes through the chapters in order (each needs the one before): no traffic is
InsufficientData and does nothing, unshifted traffic is Stable, a mild shift is a Warning
with an alert, a strong shift is Critical with one retraining Job per cooldown carrying the
trigger, and a biased model promoted to stable breaches demographic parity, which rolls the
slot back to the standby version; finally labels posted to the sidecars by request id feed
the checks that need ground truth (equal opportunity, accuracy).
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from typing import Any, cast

import pytest
import yaml
from kubernetes import client

from localcluster import LocalCluster
from modelwarden.decide.children import EVALUATOR_PORT, version_label
from modelwarden.demo.harness import OperatorProcess, TrafficLoop, get_slot, patch_slot
from modelwarden.examples.fraud import (
    generate_rows,
    labels_for,
    reference_profile,
    score_rows,
    v2_request,
)

NS, SLOT = "drift", "fraud"
GROUP, VERSION = "modelwarden.io", "v1alpha1"
MIN_SAMPLES = 100


def model_version(name: str, version: str, *extra_args: str) -> dict[str, Any]:
    digest = "sha256:" + "ab" * 32
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelVersion",
        "metadata": {"name": name, "labels": {"modelwarden.io/model": "fraud"}},
        "spec": {
            "model": "fraud",
            "version": version,
            "artifact": {"uri": f"s3://models/fraud/{version}", "digest": digest},
            "runtime": {
                "image": "modelwarden/sample-model:0.1.0",
                "port": 8080,
                "protocol": "kserve-v2",
                "args": ["--name", "fraud", "--version", version, *extra_args],
            },
            "lineage": {"dataSnapshot": digest, "codeCommit": "9f8d111", "configHash": digest},
            "riskTier": 4,  # experimental: no approvals needed before a promotion
            "owner": "drift-team",
        },
    }


SLOT_MANIFEST = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "ModelDeployment",
    "metadata": {"name": SLOT},
    "spec": {
        "model": "fraud",
        "version": "fraud-v1",
        "replicas": 2,
        "strategy": {
            "type": "Canary",
            "canary": {"steps": [{"setWeight": 50}, {"pause": {"duration": "3s"}}]},
        },
        "analysis": {"interval": "5s", "minSamples": 20, "checks": [{"errorRate": {"max": 0.1}}]},
        "rollback": {"onCriticalAlerts": {"count": 1, "window": "10m"}, "standbyVersions": 1},
    },
}

DATA_POLICY = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "DriftPolicy",
    "metadata": {"name": "fraud-data"},
    "spec": {
        "deployment": SLOT,
        "reference": {"configMapRef": {"name": "fraud-ref"}},
        "window": {"duration": "5s", "minSamples": MIN_SAMPLES},
        "interval": "5s",
        "consecutiveEvaluations": 2,
        "features": [{"name": "amount", "method": "psi", "warning": 0.1, "critical": 1.0}],
        "actions": {"warning": ["alert"], "critical": ["alert", "retrain"]},
        "retraining": {
            "cooldown": "1h",
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "train", "image": "localtest/retrain:1"}],
                        }
                    },
                }
            },
        },
    },
}

FAIRNESS_POLICY = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "DriftPolicy",
    "metadata": {"name": "fraud-fairness"},
    "spec": {
        "deployment": SLOT,
        "reference": {"configMapRef": {"name": "fraud-ref"}},
        "window": {"duration": "5s", "minSamples": MIN_SAMPLES},
        "interval": "5s",
        "consecutiveEvaluations": 2,
        "fairness": {
            "attributes": ["channel"],
            "metrics": ["demographicParity"],
            "maxDifference": 0.06,
            "severity": "Critical",
        },
        "actions": {"critical": ["rollback"]},
    },
}


LABELS_POLICY = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "DriftPolicy",
    "metadata": {"name": "fraud-labels"},
    "spec": {
        "deployment": SLOT,
        "reference": {"configMapRef": {"name": "fraud-ref"}},
        "window": {"duration": "5s", "minSamples": MIN_SAMPLES},
        "interval": "5s",
        "fairness": {
            "attributes": ["channel"],
            "metrics": ["equalOpportunity"],
            "maxDifference": 0.5,
            "severity": "Warning",
        },
        "performance": {"metric": "accuracy", "baseline": 0.9, "maxDrop": 0.2},
        "actions": {"warning": [], "critical": []},
    },
}


class World:
    def __init__(self, cluster: LocalCluster, operator: OperatorProcess) -> None:
        self.cluster, self.operator = cluster, operator
        self.api = cluster.api_client()
        self.custom = client.CustomObjectsApi(self.api)
        self.core = client.CoreV1Api(self.api)
        self.batch = client.BatchV1Api(self.api)
        self.traffic = TrafficLoop(self.api, NS, SLOT, "fraud", rate=60)

    def apply(self, *docs: dict[str, Any]) -> None:
        done = self.cluster.kubectl_run(
            "apply", "-n", NS, "-f", "-", input=yaml.safe_dump_all(docs)
        )
        assert done.returncode == 0, done.stderr

    def policy(self, name: str = "fraud-data") -> dict[str, Any]:
        body = self.custom.get_namespaced_custom_object(GROUP, VERSION, NS, "driftpolicies", name)
        status: dict[str, Any] = cast(dict[str, Any], body).get("status") or {}
        return status

    def events(self, name: str = "fraud-data") -> list[str]:
        found = self.core.list_namespaced_event(NS, field_selector=f"involvedObject.name={name}")
        return [e.reason or "" for e in found.items]

    def jobs(self, policy: str = "fraud-data") -> list[Any]:
        selector = f"modelwarden.io/drift-policy={policy}"
        return list(self.batch.list_namespaced_job(NS, label_selector=selector).items)

    def eventually(self, what: str, check: Any, timeout: float = 120) -> Any:
        return self.operator.wait(
            what,
            check,
            timeout,
            context=lambda: f"policy status: {json.dumps(self.policy(), indent=1)}",
        )

    def verdict_held(self, verdict: str, times: int = 2, name: str = "fraud-data") -> bool:
        status = self.policy(name)
        return status.get("verdict") == verdict and status.get("consecutive", 0) >= times


@pytest.fixture(scope="module")
def world(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    operator = OperatorProcess(cluster.kubeconfig, log, evaluator_window="5s").start()
    w = World(cluster, operator)
    w.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    profile = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fraud-ref"},
               "data": {"profile.json": reference_profile().to_json()}}  # fmt: skip
    # A biased v2: the same features, +2 on the logit, which widens the gap between channels.
    w.apply(profile, model_version("fraud-v1", "1.0.0"))
    w.apply(model_version("fraud-v2", "2.0.0", "--shift", "2.0"))
    # The policy first, so the slot's sidecars start with its profile mounted.
    w.apply(DATA_POLICY)
    w.apply(SLOT_MANIFEST)
    w.eventually("slot Healthy", lambda: get_slot(w.api, NS, SLOT).get("status", {}).get(
        "phase") == "Healthy", 180)  # fmt: skip
    w.traffic.interval = 0.5  # 2 requests/s: far below minSamples per 5 s window
    w.traffic.start()
    try:
        yield w
    finally:
        w.traffic.stop()
        operator.stop()
        print(f"operator log: {log}")


def test_low_traffic_is_insufficient_data_and_does_nothing(world: World) -> None:
    world.eventually("answers", lambda: world.traffic.tally.codes["200"] >= 5, 60)
    # Then the policy keeps saying InsufficientData, evaluation after evaluation, also once
    # the low traffic reaches the judged window (the first windows may be empty)
    world.eventually(
        "InsufficientData ×3 on a window with samples",
        lambda: world.verdict_held("InsufficientData", 3) and world.policy().get("samples", 0),
    )
    status = world.policy()
    assert 0 < status["samples"] < MIN_SAMPLES, status
    assert f"{MIN_SAMPLES} needed" in status["message"]
    # And no action was taken
    assert status.get("actionsTaken", []) == []
    assert world.jobs() == []
    assert "DriftAlert" not in world.events()


def test_unshifted_traffic_is_stable(world: World) -> None:
    world.traffic.interval = 1 / 60
    world.eventually("Stable ×2", lambda: world.verdict_held("Stable"))
    status = world.policy()
    assert status["samples"] >= MIN_SAMPLES
    (check,) = status["checks"]
    assert (check["feature"], check["method"], check["severity"]) == ("amount", "psi", "Ok")
    assert check["statistic"] < 0.1
    assert status["stableVersion"] == "fraud-v1"


def test_mild_shift_is_a_warning_that_alerts_once(world: World) -> None:
    world.traffic.shift = 0.5
    world.eventually("Warning ×3", lambda: world.verdict_held("Warning", 3))
    status = world.policy()
    (check,) = status["checks"]
    assert check["severity"] == "Warning"
    assert 0.1 <= check["statistic"] < 1.0
    assert check["threshold"] == 0.1
    assert check["since"]
    assert f"samples since {check['since'][11:16]} UTC" in check["message"]
    assert status["actionsTaken"] == ["Warning/alert"]
    assert world.events().count("DriftAlert") == 1
    assert world.jobs() == []


def test_strong_shift_is_critical_and_retrains_once_per_cooldown(world: World) -> None:
    world.traffic.shift = 2.0
    world.eventually("Critical ×2", lambda: world.verdict_held("Critical"))
    world.eventually("one Job", lambda: len(world.jobs()) == 1, 30)
    status = world.policy()
    job = world.jobs()[0]
    assert status["lastRetrain"]["job"] == job.metadata.name
    assert job.metadata.owner_references[0].kind == "DriftPolicy"
    env = {e.name: e.value for e in job.spec.template.spec.containers[0].env}
    assert env["MODELWARDEN_RETRAIN_VERDICT"] == "Critical"
    assert env["MODELWARDEN_RETRAIN_REASON"].startswith("Critical drift: PSI of amount")
    assert env["MODELWARDEN_RETRAIN_VERSION"] == "fraud-v1"
    assert int(env["MODELWARDEN_RETRAIN_SAMPLES"]) >= MIN_SAMPLES
    data = world.core.read_namespaced_config_map(job.metadata.name, NS).data or {}
    trigger = json.loads(data["trigger.json"])
    assert trigger["reason"] == env["MODELWARDEN_RETRAIN_REASON"]
    assert trigger["checks"][0]["statistic"] >= 1.0

    # And the Job really ran with that input (it fails unless env and file agree)
    def succeeded() -> bool:
        found = world.batch.read_namespaced_job(job.metadata.name, NS).status
        return found is not None and (found.succeeded or 0) >= 1

    world.eventually("Job complete", succeeded, 60)
    # And while the breach lasts, three more evaluations start no second Job
    evaluated = status["lastEvaluation"]
    world.eventually(
        "3 more evaluations",
        lambda: (
            world.policy()["consecutive"] >= status["consecutive"] + 3
            and world.policy()["lastEvaluation"] > evaluated
        ),
    )
    assert len(world.jobs()) == 1
    assert world.policy()["actionsTaken"] == ["Warning/alert", "Critical/alert", "Critical/retrain"]
    assert world.events().count("RetrainTriggered") == 1


def send_labelled_batch(world: World, version: str, seed: int, rows: int = 600) -> None:
    """One request straight to each ready pod's sidecar, then its ground truth by request id
    (labels drawn from the unbiased model's scores, as real outcomes would be)."""
    secret = world.core.read_namespaced_secret(f"{SLOT}-evaluator-token", NS)
    token = base64.b64decode((secret.data or {})["token"]).decode()
    selector = f"modelwarden.io/slot={SLOT},modelwarden.io/version={version_label(version)}"
    for index, pod in enumerate(world.core.list_namespaced_pod(NS, label_selector=selector).items):
        conditions = (pod.status.conditions if pod.status else None) or []
        ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
        ip = pod.status.pod_ip if pod.status else None
        if not ready or not ip or (pod.metadata and pod.metadata.deletion_timestamp):
            continue
        batch = generate_rows(rows, seed=seed * 100 + index)
        request_id = f"labelled-{seed}-{index}"
        headers = {"Content-Type": "application/json", "x-request-id": request_id}
        base = f"http://{ip}:{EVALUATOR_PORT}"
        infer = urllib.request.Request(
            f"{base}/v2/models/fraud/infer", json.dumps(v2_request(batch)).encode(), headers
        )
        with urllib.request.urlopen(infer, timeout=5) as answer:
            assert answer.status == 200
        labels = labels_for(score_rows(batch), seed=seed)
        feedback = urllib.request.Request(
            f"{base}/v1/feedback",
            json.dumps({"items": [{"request_id": request_id, "labels": labels}]}).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(feedback, timeout=5) as answer:
            assert json.loads(answer.read())["joined"] == 1


def test_fairness_breach_rolls_back_to_the_standby(world: World) -> None:
    world.traffic.shift = 0.0
    world.eventually("Stable again", lambda: world.verdict_held("Stable"))
    # Given the biased v2 promoted to stable, v1 on standby
    patch_slot(world.api, NS, SLOT, {"spec": {"version": "fraud-v2"}})

    def slot() -> dict[str, Any]:
        status: dict[str, Any] = get_slot(world.api, NS, SLOT).get("status") or {}
        return status

    world.eventually(
        "v2 promoted",
        lambda: slot().get("stableVersion") == "fraud-v2" and slot().get("phase") == "Healthy",
        180,
    )
    assert slot()["standbyVersions"] == ["fraud-v1"]
    # When a fairness policy watches it
    world.apply(FAIRNESS_POLICY)
    # Then demographic parity across channels breaches critically, twice in a row
    world.eventually(
        "fairness Critical", lambda: world.verdict_held("Critical", name="fraud-fairness")
    )
    # And the slot rolls back to v1 through its own onCriticalAlerts policy
    world.eventually("rolled back", lambda: slot().get("stableVersion") == "fraud-v1", 60)
    assert slot()["phase"] == "RolledBack"
    alerts = [a for a in slot()["alerts"] if a["source"] == "driftpolicy/fraud-fairness"]
    assert [(a["severity"], a["name"]) for a in alerts] == [("Critical", "DriftCritical")]
    # (the policy posts its Event after handing the alert over, so it may trail the rollback)
    world.eventually("RollbackRequested event", lambda: "RollbackRequested" in world.events(
        "fraud-fairness"), 30)  # fmt: skip
    assert world.events("fraud-fairness").count("RollbackRequested") == 1
    fairness = world.policy("fraud-fairness")
    check = fairness["checks"][0]
    assert check["method"] == "demographic_parity_difference"
    assert check["statistic"] >= 0.06


def test_labelled_feedback_feeds_equal_opportunity_and_performance(world: World) -> None:
    # Given a policy whose checks need ground truth, on v1 (stable again)
    world.apply(LABELS_POLICY)
    seeds = iter(range(1, 10_000))

    def labelled_checks() -> list[dict[str, Any]]:
        checks: list[dict[str, Any]] = world.policy("fraud-labels").get("checks", [])
        judged = [c for c in checks if c["severity"] != "InsufficientData"]
        return judged if len(judged) == 2 else []

    # When labelled batches are posted to the sidecars by request id
    def judged_or_send() -> list[dict[str, Any]]:
        judged = labelled_checks()
        if not judged:
            send_labelled_batch(world, "fraud-v1", next(seeds))
        return judged

    world.eventually("labelled checks judged", judged_or_send)
    # Then equal opportunity and accuracy are computed from the joined labels
    fairness, performance = labelled_checks()
    assert (fairness["method"], fairness["feature"]) == ("equal_opportunity_difference", "channel")
    assert fairness["samples"] >= MIN_SAMPLES // 10
    assert fairness["statistic"] is not None
    assert performance["method"] == "accuracy"
    assert performance["samples"] >= MIN_SAMPLES // 10
    assert performance["severity"] == "Ok"


def test_missing_profile_is_explained_in_status_and_event(world: World) -> None:
    # Given a policy whose reference ConfigMap does not exist (named to sort after the others,
    # so the slot's sidecars keep the first policy's profile)
    broken = json.loads(json.dumps(DATA_POLICY))
    broken["metadata"]["name"] = "zz-broken"
    broken["spec"]["reference"]["configMapRef"]["name"] = "no-such-profile"
    world.apply(broken)
    # Then its status and an Event say why it cannot evaluate, and nothing is acted on
    expected = f"reference ConfigMap {NS}/no-such-profile not found"
    world.eventually("explained", lambda: world.policy("zz-broken").get("message") == expected, 30)
    world.eventually("event", lambda: "CannotEvaluate" in world.events("zz-broken"), 10)
    assert world.policy("zz-broken")["verdict"] == "InsufficientData"
    assert world.jobs("zz-broken") == []


PREDICTION_POLICY = {
    "apiVersion": f"{GROUP}/{VERSION}",
    "kind": "DriftPolicy",
    "metadata": {"name": "fraud-prediction"},
    "spec": {
        "deployment": SLOT,
        "reference": {"configMapRef": {"name": "fraud-ref"}},
        "window": {"duration": "5s", "minSamples": MIN_SAMPLES // 2},
        "interval": "5s",
        "prediction": {"method": "psi", "warning": 0.1, "critical": 0.5},
        "actions": {"warning": [], "critical": []},
    },
}


def test_a_canary_breaching_a_policy_is_aborted_by_its_analysis(world: World) -> None:
    def slot() -> dict[str, Any]:
        status: dict[str, Any] = get_slot(world.api, NS, SLOT).get("status") or {}
        return status

    # Given v1 serving, a policy on the prediction distribution (no actions of its own), and
    # an analysis that judges each canary by that policy
    world.apply(PREDICTION_POLICY)
    checks = [
        {"errorRate": {"max": 0.1}},
        {"driftPolicy": {"name": "fraud-prediction", "failOn": "Critical"}},
    ]
    analysis = {"interval": "5s", "minSamples": 20, "failureLimit": 0, "checks": checks}
    patch_slot(world.api, NS, SLOT, {"spec": {"version": "fraud-v1", "analysis": analysis}})
    world.eventually(
        "Healthy on v1",
        lambda: slot().get("stableVersion") == "fraud-v1" and slot().get("phase") == "Healthy",
        120,
    )
    stable = lambda: world.verdict_held("Stable", 1, "fraud-prediction")  # noqa: E731
    world.eventually("v1 predictions Stable", stable)
    # When v2, whose scores are shifted (+2 on the logit), is rolled out as a canary
    patch_slot(world.api, NS, SLOT, {"spec": {"version": "fraud-v2"}})
    # Then the policy judges the canary's own traffic Critical while the stable's stays
    # Stable, and the slot's analysis aborts the rollout on the canary's verdict
    world.eventually("aborted", lambda: slot().get("phase") == "Aborted", 180)
    assert "DriftPolicy fraud-prediction is Critical" in slot()["analysis"]["message"]
    policy = world.policy("fraud-prediction")
    assert (policy["canary"]["version"], policy["canary"]["verdict"]) == ("fraud-v2", "Critical")
    assert policy["verdict"] == "Stable"
    assert slot()["stableVersion"] == "fraud-v1"
