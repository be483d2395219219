"""The retraining Job: the trigger reaches every container as env and as a mounted file."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

from modelwarden.api.driftpolicy import CheckStatus, DriftPolicyStatus
from modelwarden.decide.retrain_job import (
    PolicyRef,
    job_name,
    retrain_job,
    trigger_configmap,
    trigger_document,
)

AT = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)
POLICY = PolicyRef("fraud-drift", "risk", "uid-1", "fraud")
TEMPLATE = {
    "metadata": {"labels": {"team": "risk"}},
    "spec": {
        "backoffLimit": 1,
        "template": {
            "spec": {
                "containers": [
                    {"name": "train", "image": "t", "env": [{"name": "A", "value": "1"}]},
                    {"name": "side", "image": "s"},
                ]
            }
        },
    },
}


def document() -> dict[str, object]:
    status = DriftPolicyStatus(
        verdict="Critical",
        samples=12_400,
        window="w",
        stable_version="fraud-v1",
        checks=[CheckStatus(kind="data", feature="amount", method="psi", statistic=0.31)],
    )
    return trigger_document(POLICY, status, "Critical drift: PSI of amount 0.31", AT)


def test_every_container_gets_the_trigger_env_and_file() -> None:
    name = job_name(POLICY.name, AT)
    before = copy.deepcopy(TEMPLATE)
    job = retrain_job(name, POLICY, TEMPLATE, document())
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["volumes"] == [{"name": "retrain-trigger", "configMap": {"name": name}}]
    for container in pod["containers"]:
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["MODELWARDEN_RETRAIN_REASON"] == "Critical drift: PSI of amount 0.31"
        assert env["MODELWARDEN_RETRAIN_SAMPLES"] == "12400"
        assert env["MODELWARDEN_RETRAIN_VERSION"] == "fraud-v1"
        path = "/var/run/modelwarden/retrain/trigger.json"
        assert env["MODELWARDEN_RETRAIN_TRIGGER_FILE"] == path
        assert container["volumeMounts"][-1]["mountPath"] == "/var/run/modelwarden/retrain"
    assert pod["containers"][0]["env"][0] == {"name": "A", "value": "1"}
    assert job["spec"]["backoffLimit"] == 1
    assert job["metadata"]["labels"]["team"] == "risk"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "DriftPolicy"
    assert before == TEMPLATE  # the policy's template is never mutated


def test_configmap_holds_the_checks() -> None:
    config_map = trigger_configmap("j", POLICY, document())
    loaded = json.loads(config_map["data"]["trigger.json"])
    assert loaded["checks"][0]["statistic"] == 0.31
    assert loaded["deployment"] == "fraud"
    assert config_map["metadata"]["labels"]["modelwarden.io/drift-policy"] == "fraud-drift"
