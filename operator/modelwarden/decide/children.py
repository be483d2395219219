"""The Kubernetes objects a slot owns, built as plain dicts (no client, no I/O).

One builder per object, in the spirit of dask-kubernetes' ``build_scheduler_deployment_spec``:
the handler builds, then server-side-applies. Every object carries an ownerReference to the
ModelDeployment, so deleting the slot garbage-collects everything it created.

Names are derived, never stored: ``workload_name`` and ``version_label`` are pure functions of
the slot and the ModelVersion name, so a retried reconcile addresses the same objects.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from modelwarden import __version__
from modelwarden.api.base import API_VERSION
from modelwarden.api.modeldeployment import Autoscaling
from modelwarden.api.modelversion import Runtime
from modelwarden.decide.plan import Workload

Obj = dict[str, Any]
ServiceRole = Literal["stable", "canary", "preview"]

LABEL_SLOT = "modelwarden.io/slot"
LABEL_VERSION = "modelwarden.io/version"
LABEL_ROLE = "modelwarden.io/role"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"

EVALUATOR_PORT = 9080
CONTROL_DIR = "/var/run/modelwarden/control"
TOKEN_DIR = "/var/run/modelwarden/token"
PROFILE_DIR = "/var/run/modelwarden/profile"
HALT_KEY = "halt"
SHADOW_KEY = "shadow"
TOKEN_KEY = "token"
PROFILE_FILE = "profile.json"

_MAX_NAME = 63
_HASH_LEN = 8


@dataclass(frozen=True)
class SlotRef:
    """The ModelDeployment that owns the objects: enough to name them and to own them."""

    name: str
    namespace: str
    uid: str


@dataclass(frozen=True)
class ProfileRef:
    """The ConfigMap key that holds the reference profile the evaluator compares with."""

    name: str
    key: str = PROFILE_FILE


def _default_resources() -> dict[str, Any]:
    # A CPU request on every container is what lets a CPU-utilisation HPA compute anything.
    return {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}


@dataclass(frozen=True)
class SidecarSettings:
    """How the evaluator sidecar is injected; the operator's flags may override the image."""

    image: str = f"modelwarden/modelwarden:{__version__}"
    resources: dict[str, Any] = field(default_factory=_default_resources)
    window: str = "60s"
    """Tumbling window of the sidecar's summaries; analysis reads the last closed one."""
    drain_seconds: int = 5
    """``preStop`` sleep of every container of a model pod: a pod being removed (scale-down,
    promotion, rollback) keeps answering while Services and meshes stop sending it traffic,
    instead of refusing the requests already on their way. 0 turns it off."""


def bounded_name(text: str) -> str:
    """``text`` when it is a valid DNS label, else a truncated prefix plus a hash of it.

    The hash keeps distinct inputs distinct after truncation and after dots become dashes.
    """
    if len(text) <= _MAX_NAME and "." not in text:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:_HASH_LEN]
    prefix = text.replace(".", "-")[: _MAX_NAME - _HASH_LEN - 1].rstrip("-")
    return f"{prefix}-{digest}"


def workload_name(slot: str, version: str) -> str:
    """The Deployment name of ``version`` in ``slot``: ``<slot>-<version>``, at most 63 chars.

    >>> workload_name("fraud", "fraud-3-2-1")
    'fraud-fraud-3-2-1'
    """
    return bounded_name(f"{slot}-{version}")


def version_label(version: str) -> str:
    """The ``modelwarden.io/version`` label value: label values are limited to 63 chars."""
    return bounded_name(version)


def slot_selector(slot: str) -> str:
    """The label selector of every pod of the slot, for ``status.selector`` (HPA's /scale)."""
    return f"{LABEL_SLOT}={slot}"


def pod_labels(slot: str, version: str) -> dict[str, str]:
    """Labels that identify a version's pods; Services select on them."""
    return {LABEL_SLOT: slot, LABEL_VERSION: version_label(version)}


def owner_reference(slot: SlotRef) -> Obj:
    return {
        "apiVersion": API_VERSION,
        "kind": "ModelDeployment",
        "name": slot.name,
        "uid": slot.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _metadata(slot: SlotRef, name: str, labels: dict[str, str] | None = None) -> Obj:
    return {
        "name": name,
        "namespace": slot.namespace,
        "labels": {LABEL_MANAGED_BY: "modelwarden", LABEL_SLOT: slot.name, **(labels or {})},
        "ownerReferences": [owner_reference(slot)],
    }


def control_configmap_name(slot: str) -> str:
    return bounded_name(f"{slot}-control")


def token_secret_name(slot: str) -> str:
    return bounded_name(f"{slot}-evaluator-token")


def _model_container(runtime: Runtime) -> Obj:
    container: Obj = {
        "name": "model",
        "image": runtime.image,
        "ports": [{"name": "model", "containerPort": runtime.port}],
    }
    # Copies, so that a caller editing the manifest never edits the parsed spec.
    if runtime.args:
        container["args"] = list(runtime.args)
    if runtime.env:
        container["env"] = copy.deepcopy(runtime.env)
    if runtime.resources:
        container["resources"] = copy.deepcopy(runtime.resources)
    return container


def _evaluator_args(
    runtime: Runtime, sidecar: SidecarSettings, profile: ProfileRef | None
) -> list[str]:
    args = [
        "--port", str(EVALUATOR_PORT),
        "--upstream", f"http://$(POD_IP):{runtime.port}",
        "--protocol", runtime.protocol,
        "--token-file", f"{TOKEN_DIR}/{TOKEN_KEY}",
        "--halt-file", f"{CONTROL_DIR}/{HALT_KEY}",
        "--shadow-file", f"{CONTROL_DIR}/{SHADOW_KEY}",
        "--window", sidecar.window,
    ]  # fmt: skip
    if runtime.json_paths is not None:
        # The API takes dotted paths to the lists; the evaluator takes JSON paths to the rows.
        args += ["--feature-path", f"$.{runtime.json_paths.features}[*]"]
        args += ["--prediction-path", f"$.{runtime.json_paths.predictions}[*]"]
    if profile is not None:
        args += ["--profile", f"{PROFILE_DIR}/{PROFILE_FILE}"]
    return args


def _evaluator_container(
    runtime: Runtime, sidecar: SidecarSettings, profile: ProfileRef | None
) -> Obj:
    mounts = [
        {"name": "control", "mountPath": CONTROL_DIR, "readOnly": True},
        {"name": "token", "mountPath": TOKEN_DIR, "readOnly": True},
    ]
    if profile is not None:
        mounts.append({"name": "profile", "mountPath": PROFILE_DIR, "readOnly": True})
    return {
        "name": "evaluator",
        "image": sidecar.image,
        # The subcommand goes in args, not command: the image's entrypoint is `modelwarden`,
        # and the local pod runner (like any stand-in for an entrypoint) appends only args.
        "command": ["modelwarden"],
        "args": ["evaluator", "proxy", *_evaluator_args(runtime, sidecar, profile)],
        "env": [
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "ports": [{"name": "http", "containerPort": EVALUATOR_PORT}],
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": EVALUATOR_PORT},
            "periodSeconds": 2,
        },
        "resources": copy.deepcopy(sidecar.resources),
        "volumeMounts": mounts,
    }


def _volumes(slot: str, profile: ProfileRef | None) -> list[Obj]:
    # Whole-volume mounts (no subPath), so the kubelet refreshes a changed halt file in place.
    volumes: list[Obj] = [
        {
            "name": "control",
            "configMap": {
                "name": control_configmap_name(slot),
                "items": [
                    {"key": HALT_KEY, "path": HALT_KEY},
                    {"key": SHADOW_KEY, "path": SHADOW_KEY},
                ],
            },
        },
        {
            "name": "token",
            "secret": {
                "secretName": token_secret_name(slot),
                "items": [{"key": TOKEN_KEY, "path": TOKEN_KEY}],
            },
        },
    ]
    if profile is not None:
        volumes.append(
            {
                "name": "profile",
                "configMap": {
                    "name": profile.name,
                    "items": [{"key": profile.key, "path": PROFILE_FILE}],
                },
            }
        )
    return volumes


def deployment(
    slot: SlotRef,
    workload: Workload,
    runtime: Runtime,
    *,
    sidecar: SidecarSettings | None = None,
    profile: ProfileRef | None = None,
) -> Obj:
    """The apps/v1 Deployment of one workload: the model container behind the evaluator.

    The role is a Deployment label only: pod labels must not change on promotion, or every
    pod would be replaced at the moment it starts taking all the traffic.
    """
    labels = pod_labels(slot.name, workload.version)
    settings = sidecar or SidecarSettings()
    containers = [
        _model_container(runtime),
        _evaluator_container(runtime, settings, profile),
    ]
    pod: Obj = {"containers": containers, "volumes": _volumes(slot.name, profile)}
    if settings.drain_seconds:
        # Both containers: a model server stopping at once would fail the requests its still
        # draining sidecar forwards. Needs Kubernetes 1.30+ (the preStop sleep action).
        for container in containers:
            container["lifecycle"] = {"preStop": {"sleep": {"seconds": settings.drain_seconds}}}
        pod["terminationGracePeriodSeconds"] = settings.drain_seconds + 30
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(
            slot, workload_name(slot.name, workload.version), {**labels, LABEL_ROLE: workload.role}
        ),
        "spec": {
            "replicas": workload.replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def service_name(slot: str, role: ServiceRole | None = None) -> str:
    """``<slot>`` for the main Service, ``<slot>-<role>`` for the per-role ones (Service names
    are DNS labels, so a long slot name gets a hashed suffix)."""
    return slot if role is None else bounded_name(f"{slot}-{role}")


def _service(slot: SlotRef, name: str, selector: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(slot, name),
        "spec": {
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def main_service(slot: SlotRef, *, pinned_version: str | None = None) -> Obj:
    """The slot's Service clients call. Unpinned it selects every pod of the slot (canary by
    replica ratio); pinned it selects one version (blue-green, or a single serving version)."""
    selector = {LABEL_SLOT: slot.name}
    if pinned_version is not None:
        selector = pod_labels(slot.name, pinned_version)
    return _service(slot, service_name(slot.name), selector)


def role_service(slot: SlotRef, role: ServiceRole, version: str) -> Obj:
    """``<slot>-stable``, ``-canary`` or ``-preview``: one version, for mesh routes and tests."""
    return _service(slot, service_name(slot.name, role), pod_labels(slot.name, version))


def autoscaler(slot: SlotRef, autoscaling: Autoscaling) -> Obj:
    """An autoscaling/v2 HPA on the ModelDeployment's /scale: it owns the slot's total and the
    operator splits that total by weight (see ``decide.replicas``), so the HPA sees every pod
    of the slot (``status.selector``) and never grows one version at the other's expense."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(slot, slot.name),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": API_VERSION,
                "kind": "ModelDeployment",
                "name": slot.name,
            },
            "minReplicas": autoscaling.min_replicas,
            "maxReplicas": autoscaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": autoscaling.target_cpu_utilization,
                        },
                    },
                }
            ],
            "behavior": {
                "scaleDown": {
                    "stabilizationWindowSeconds": autoscaling.scale_down_stabilization_seconds
                }
            },
        },
    }


def halt_document(
    *, halted: bool, reason: str = "", by: str = "", at: datetime | None = None
) -> str:
    """The halt file content, in the format ``evaluator.halt.parse_halt_file`` reads.

    The evaluator reads ``halted``, ``reason``, ``by`` and ``since`` (epoch seconds); ``at``
    repeats ``since`` in RFC 3339 for people reading the ConfigMap.
    """
    document: dict[str, Any] = {"halted": halted, "reason": reason, "by": by}
    if at is not None:
        document["at"] = at.isoformat()
        document["since"] = at.timestamp()
    return json.dumps(document, sort_keys=True)


def control_configmap(slot: SlotRef, halt: str, shadow: str = "") -> Obj:
    """``<slot>-control``: the switches every evaluator of the slot watches; ``halt`` is a
    :func:`halt_document`, ``shadow`` a :func:`shadow_document` (empty: no mirroring)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(slot, control_configmap_name(slot.name)),
        "data": {HALT_KEY: halt, SHADOW_KEY: shadow},
    }


def shadow_document(targets: list[str], percent: int) -> str:
    """The shadow file the evaluators read: where to mirror, and how much (empty: nothing).

    >>> shadow_document(["http://127.20.0.9:9080"], 100)
    '{"percent": 100, "targets": ["http://127.20.0.9:9080"]}'
    >>> shadow_document([], 100)
    ''
    """
    if not targets:
        return ""
    return json.dumps({"percent": percent, "targets": sorted(targets)}, sort_keys=True)


def token_secret(slot: SlotRef, token: str) -> Obj:
    """``<slot>-evaluator-token``: the bearer token the operator uses on evaluator control
    endpoints. The caller generates the token (this module has no randomness)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(slot, token_secret_name(slot.name)),
        "type": "Opaque",
        "stringData": {TOKEN_KEY: token},
    }
