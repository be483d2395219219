"""The retraining Job a DriftPolicy starts, and the ConfigMap with the trigger it reads.

The training code gets the *why* in two forms: short environment variables for scripts and
a JSON file with every check's numbers for code that wants to weight or select data by what
drifted. The Job is owned by the DriftPolicy (deleted with it); its output is a new
ModelVersion that goes through the gates like any other — nothing here deploys anything.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelwarden.api.base import API_VERSION
from modelwarden.api.driftpolicy import DriftPolicyStatus
from modelwarden.decide.children import LABEL_MANAGED_BY, bounded_name
from modelwarden.decide.stamps import iso

Obj = dict[str, Any]
TRIGGER_DIR = "/var/run/modelwarden/retrain"
TRIGGER_FILE = "trigger.json"
LABEL_POLICY = "modelwarden.io/drift-policy"
ENV_PREFIX = "MODELWARDEN_RETRAIN_"


@dataclass(frozen=True)
class PolicyRef:
    name: str
    namespace: str
    uid: str
    deployment: str


def job_name(policy: str, at: datetime) -> str:
    """``<policy>-retrain-<epoch seconds>``: one name per trigger, so a retry is a conflict.

    >>> from datetime import UTC
    >>> job_name("fraud-drift", datetime(2026, 11, 23, 10, 5, tzinfo=UTC))
    'fraud-drift-retrain-1795428300'
    """
    return bounded_name(f"{policy}-retrain-{int(at.timestamp())}")


def trigger_document(
    policy: PolicyRef, status: DriftPolicyStatus, reason: str, at: datetime
) -> Obj:
    """What the training code is told: reason, window, sample size and every check."""
    return {
        "policy": policy.name,
        "namespace": policy.namespace,
        "deployment": policy.deployment,
        "version": status.stable_version,
        "reason": reason,
        "verdict": status.verdict,
        "at": iso(at),
        "window": status.window,
        "samples": status.samples,
        "checks": [c.model_dump(by_alias=True, mode="json") for c in status.checks],
    }


def _owned(policy: PolicyRef, name: str) -> Obj:
    return {
        "name": name,
        "namespace": policy.namespace,
        "labels": {LABEL_MANAGED_BY: "modelwarden", LABEL_POLICY: policy.name},
        "ownerReferences": [
            {
                "apiVersion": API_VERSION,
                "kind": "DriftPolicy",
                "name": policy.name,
                "uid": policy.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }


def trigger_configmap(name: str, policy: PolicyRef, document: Obj) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _owned(policy, name),
        "data": {TRIGGER_FILE: json.dumps(document, indent=1, sort_keys=True)},
    }


def retrain_job(name: str, policy: PolicyRef, template: Obj, document: Obj) -> Obj:
    """A batch/v1 Job from ``retraining.jobTemplate`` with the trigger in every container's
    env and the JSON mounted at ``/var/run/modelwarden/retrain/trigger.json``."""
    spec = copy.deepcopy(template.get("spec") or {})
    pod = spec.setdefault("template", {}).setdefault("spec", {})
    pod.setdefault("restartPolicy", "Never")
    pod.setdefault("volumes", []).append({"name": "retrain-trigger", "configMap": {"name": name}})
    env = [
        {"name": f"{ENV_PREFIX}{key.upper()}", "value": str(document[key])}
        for key in ("reason", "verdict", "window", "samples", "deployment", "version", "policy")
    ]
    env.append({"name": f"{ENV_PREFIX}TRIGGER_FILE", "value": f"{TRIGGER_DIR}/{TRIGGER_FILE}"})
    for container in pod.get("containers", []):
        container.setdefault("env", []).extend(env)
        container.setdefault("volumeMounts", []).append(
            {"name": "retrain-trigger", "mountPath": TRIGGER_DIR, "readOnly": True}
        )
    metadata = _owned(policy, name)
    metadata["labels"].update((template.get("metadata") or {}).get("labels") or {})
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}
