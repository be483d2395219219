"""The slot's child manifests: names, labels, ownership and the injected evaluator sidecar."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from modelwarden import __version__
from modelwarden.api.modeldeployment import Autoscaling
from modelwarden.api.modelversion import JsonPaths, Runtime
from modelwarden.decide.children import (
    LABEL_SLOT,
    LABEL_VERSION,
    ProfileRef,
    SidecarSettings,
    SlotRef,
    autoscaler,
    control_configmap,
    deployment,
    halt_document,
    main_service,
    role_service,
    slot_selector,
    token_secret,
    version_label,
    workload_name,
)
from modelwarden.decide.plan import Workload
from modelwarden.evaluator.halt import parse_halt_file

SLOT = SlotRef(name="fraud", namespace="risk", uid="1234-abcd")
AUTOSCALING = Autoscaling.model_validate(
    {"minReplicas": 2, "maxReplicas": 10, "scaleDownStabilizationSeconds": 30}
)
RUNTIME = Runtime(
    image="registry.example.com/fraud:3.2.1",
    port=8081,
    protocol="kserve-v2",
    args=["--model-name", "fraud"],
    env=[{"name": "THREADS", "value": "2"}],
    resources={"requests": {"cpu": "250m"}},
)
WORKLOAD = Workload(version="fraud-3-2-1", role="canary", replicas=2)
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LONG_SLOT = "s" * 63
LONG_VERSION = "model-" + "v" * 200 + ".1"


def _containers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in obj["spec"]["template"]["spec"]["containers"]}


def _flags(args: list[str]) -> dict[str, str]:
    return dict(zip(args[::2], args[1::2], strict=True))


@pytest.mark.parametrize(
    ("slot", "version", "expected"),
    [
        pytest.param("fraud", "fraud-3-2-1", "fraud-fraud-3-2-1", id="short-names-joined"),
        pytest.param("fraud", "fraud.v3", "fraud-fraud-v3-", id="dots-are-hashed-not-kept"),
        pytest.param(LONG_SLOT, "v1", LONG_SLOT[:54] + "-", id="long-slot-truncated-with-hash"),
    ],
)
def test_workload_name(slot: str, version: str, expected: str) -> None:
    name = workload_name(slot, version)
    assert name.startswith(expected)
    assert len(name) <= 63
    assert DNS_LABEL.match(name)
    assert workload_name(slot, version) == name


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(("fraud", "a.b"), ("fraud", "a-b"), id="dot-vs-dash"),
        pytest.param((LONG_SLOT, "v1"), (LONG_SLOT, "v2"), id="differ-after-truncation"),
    ],
)
def test_workload_names_stay_distinct(first: tuple[str, str], second: tuple[str, str]) -> None:
    assert workload_name(*first) != workload_name(*second)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        pytest.param("fraud-3-2-1", "fraud-3-2-1", id="short-kept"),
        pytest.param(LONG_VERSION, None, id="long-hashed"),
    ],
)
def test_version_label(version: str, expected: str | None) -> None:
    label = version_label(version)
    assert len(label) <= 63
    assert DNS_LABEL.match(label)
    if expected is not None:
        assert label == expected


def test_slot_selector() -> None:
    assert slot_selector("fraud") == "modelwarden.io/slot=fraud"


def _every_object(slot: SlotRef) -> list[dict[str, Any]]:
    return [
        deployment(slot, WORKLOAD, RUNTIME),
        main_service(slot),
        role_service(slot, "preview", "fraud-3-2-1"),
        autoscaler(slot, AUTOSCALING),
        control_configmap(slot, halt_document(halted=False)),
        token_secret(slot, "t0ken"),
    ]


@pytest.mark.parametrize(
    "index",
    [pytest.param(i, id=k) for i, k in enumerate(["deploy", "svc", "preview", "hpa", "cm", "sec"])],
)
def test_every_object_is_owned_by_the_slot(index: int) -> None:
    meta = _every_object(SLOT)[index]["metadata"]
    assert meta["namespace"] == "risk"
    assert meta["labels"][LABEL_SLOT] == "fraud"
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "modelwarden"
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "modelwarden.io/v1alpha1",
            "kind": "ModelDeployment",
            "name": "fraud",
            "uid": "1234-abcd",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


@pytest.mark.parametrize(
    "index",
    [pytest.param(i, id=k) for i, k in enumerate(["deploy", "svc", "preview", "hpa", "cm", "sec"])],
)
def test_names_fit_a_dns_label_for_the_longest_slot(index: int) -> None:
    slot = SlotRef(name=LONG_SLOT, namespace="risk", uid="u")
    name = _every_object(slot)[index]["metadata"]["name"]
    assert len(name) <= 63
    assert DNS_LABEL.match(name)


def test_deployment_labels_and_replicas() -> None:
    obj = deployment(SLOT, WORKLOAD, RUNTIME)
    pod = {LABEL_SLOT: "fraud", LABEL_VERSION: "fraud-3-2-1"}
    assert obj["metadata"]["name"] == "fraud-fraud-3-2-1"
    assert obj["metadata"]["labels"]["modelwarden.io/role"] == "canary"
    assert obj["spec"]["replicas"] == 2
    assert obj["spec"]["selector"] == {"matchLabels": pod}
    assert obj["spec"]["template"]["metadata"]["labels"] == pod


def test_model_container_is_the_runtime() -> None:
    model = _containers(deployment(SLOT, WORKLOAD, RUNTIME))["model"]
    assert model == {
        "name": "model",
        "image": "registry.example.com/fraud:3.2.1",
        "ports": [{"name": "model", "containerPort": 8081}],
        "args": ["--model-name", "fraud"],
        "env": [{"name": "THREADS", "value": "2"}],
        "resources": {"requests": {"cpu": "250m"}},
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
    }


@pytest.mark.parametrize(
    ("drain", "lifecycle", "grace"),
    [
        pytest.param(5, {"preStop": {"sleep": {"seconds": 5}}}, 35, id="default-5s"),
        pytest.param(0, None, None, id="off"),
    ],
)
def test_every_container_drains_before_it_is_stopped(
    drain: int, lifecycle: dict[str, Any] | None, grace: int | None
) -> None:
    body = deployment(SLOT, WORKLOAD, RUNTIME, sidecar=SidecarSettings(drain_seconds=drain))
    pod = body["spec"]["template"]["spec"]
    assert [c.get("lifecycle") for c in pod["containers"]] == [lifecycle, lifecycle]
    assert pod.get("terminationGracePeriodSeconds") == grace


def test_editing_a_manifest_never_edits_the_spec() -> None:
    model = _containers(deployment(SLOT, WORKLOAD, RUNTIME))["model"]
    model["resources"]["requests"]["cpu"] = "9"
    model["env"][0]["value"] = "9"
    assert RUNTIME.resources == {"requests": {"cpu": "250m"}}
    assert RUNTIME.env == [{"name": "THREADS", "value": "2"}]


@pytest.mark.parametrize(
    ("runtime", "profile", "expected"),
    [
        pytest.param(
            RUNTIME,
            None,
            {
                "--port": "9080",
                "--upstream": "http://$(POD_IP):8081",
                "--protocol": "kserve-v2",
                "--token-file": "/var/run/modelwarden/token/token",
                "--halt-file": "/var/run/modelwarden/control/halt",
                "--shadow-file": "/var/run/modelwarden/control/shadow",
                "--window": "60s",
            },
            id="no-profile",
        ),
        pytest.param(
            RUNTIME,
            ProfileRef(name="fraud-ref", key="ref.json"),
            {
                "--port": "9080",
                "--upstream": "http://$(POD_IP):8081",
                "--protocol": "kserve-v2",
                "--token-file": "/var/run/modelwarden/token/token",
                "--halt-file": "/var/run/modelwarden/control/halt",
                "--shadow-file": "/var/run/modelwarden/control/shadow",
                "--window": "60s",
                "--profile": "/var/run/modelwarden/profile/profile.json",
            },
            id="with-profile",
        ),
        pytest.param(
            Runtime(
                image="m:1",
                protocol="json",
                json_paths=JsonPaths(features="data.rows", predictions="result.scores"),
            ),
            None,
            {
                "--port": "9080",
                "--upstream": "http://$(POD_IP):8080",
                "--protocol": "json",
                "--token-file": "/var/run/modelwarden/token/token",
                "--halt-file": "/var/run/modelwarden/control/halt",
                "--shadow-file": "/var/run/modelwarden/control/shadow",
                "--window": "60s",
                "--feature-path": "$.data.rows[*]",
                "--prediction-path": "$.result.scores[*]",
            },
            id="json-paths",
        ),
    ],
)
def test_sidecar_args(
    runtime: Runtime, profile: ProfileRef | None, expected: dict[str, str]
) -> None:
    sidecar = _containers(deployment(SLOT, WORKLOAD, runtime, profile=profile))["evaluator"]
    assert [*sidecar["command"], *sidecar["args"][:2]] == ["modelwarden", "evaluator", "proxy"]
    assert _flags(sidecar["args"][2:]) == expected


def test_sidecar_ports_env_probe_and_image() -> None:
    settings = SidecarSettings(image="example/evaluator:dev")
    sidecar = _containers(deployment(SLOT, WORKLOAD, RUNTIME, sidecar=settings))["evaluator"]
    assert sidecar["image"] == "example/evaluator:dev"
    assert sidecar["ports"] == [{"name": "http", "containerPort": 9080}]
    assert sidecar["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 9080}
    assert {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}} in sidecar[
        "env"
    ]
    assert sidecar["resources"]["requests"]["cpu"], "a CPU HPA needs a request on every container"


def test_default_sidecar_image_is_the_package_version() -> None:
    assert SidecarSettings().image == f"modelwarden/modelwarden:{__version__}"


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        pytest.param(
            None,
            {
                "control": ("configMap", "fraud-control", ("halt", "halt"), ("shadow", "shadow")),
                "token": ("secret", "fraud-evaluator-token", ("token", "token")),
            },
            id="no-profile",
        ),
        pytest.param(
            ProfileRef(name="fraud-ref", key="ref.json"),
            {
                "control": ("configMap", "fraud-control", ("halt", "halt"), ("shadow", "shadow")),
                "token": ("secret", "fraud-evaluator-token", ("token", "token")),
                "profile": ("configMap", "fraud-ref", ("ref.json", "profile.json")),
            },
            id="with-profile",
        ),
    ],
)
def test_volumes_and_mounts(
    profile: ProfileRef | None, expected: dict[str, tuple[str, str, str, str]]
) -> None:
    obj = deployment(SLOT, WORKLOAD, RUNTIME, profile=profile)
    volumes = {}
    for volume in obj["spec"]["template"]["spec"]["volumes"]:
        kind = "configMap" if "configMap" in volume else "secret"
        source = volume[kind]
        name = source.get("name") or source["secretName"]
        keys = tuple((item["key"], item["path"]) for item in source["items"])
        volumes[volume["name"]] = (kind, name, *keys)
    assert volumes == expected
    mounts = _containers(obj)["evaluator"]["volumeMounts"]
    assert {m["name"] for m in mounts} == set(expected)
    assert all(m["readOnly"] and "subPath" not in m for m in mounts)


@pytest.mark.parametrize(
    ("obj", "name", "selector"),
    [
        pytest.param(main_service(SLOT), "fraud", {LABEL_SLOT: "fraud"}, id="main-unpinned"),
        pytest.param(
            main_service(SLOT, pinned_version="fraud-3-2-1"),
            "fraud",
            {LABEL_SLOT: "fraud", LABEL_VERSION: "fraud-3-2-1"},
            id="main-pinned-blue-green",
        ),
        pytest.param(
            role_service(SLOT, "stable", "fraud-3-2-0"),
            "fraud-stable",
            {LABEL_SLOT: "fraud", LABEL_VERSION: "fraud-3-2-0"},
            id="stable",
        ),
        pytest.param(
            role_service(SLOT, "canary", "fraud-3-2-1"),
            "fraud-canary",
            {LABEL_SLOT: "fraud", LABEL_VERSION: "fraud-3-2-1"},
            id="canary",
        ),
        pytest.param(
            role_service(SLOT, "preview", "fraud-3-2-1"),
            "fraud-preview",
            {LABEL_SLOT: "fraud", LABEL_VERSION: "fraud-3-2-1"},
            id="preview",
        ),
    ],
)
def test_services(obj: dict[str, Any], name: str, selector: dict[str, str]) -> None:
    assert obj["metadata"]["name"] == name
    assert obj["spec"]["selector"] == selector
    assert obj["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]


def test_autoscaler_targets_the_slot_scale() -> None:
    spec = autoscaler(SLOT, AUTOSCALING)["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "modelwarden.io/v1alpha1",
        "kind": "ModelDeployment",
        "name": "fraud",
    }
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)
    assert spec["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": 70,
    }
    assert spec["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 30}}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"halted": False}, {"halted": False, "reason": "", "by": ""}, id="running"),
        pytest.param(
            {
                "halted": True,
                "reason": "bias",
                "by": "alice",
                "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            },
            {
                "halted": True,
                "reason": "bias",
                "by": "alice",
                "at": "2026-01-02T03:04:05+00:00",
                "since": 1767323045.0,
            },
            id="halted",
        ),
    ],
)
def test_control_configmap(kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    obj = control_configmap(SLOT, halt_document(**kwargs))
    assert obj["metadata"]["name"] == "fraud-control"
    assert json.loads(obj["data"]["halt"]) == expected


def test_halt_document_is_what_the_evaluator_reads() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    text = halt_document(halted=True, reason="bias", by="alice", at=at)
    status = parse_halt_file(text, now=0.0)
    assert (status.halted, status.reason, status.by, status.since) == (
        True,
        "bias",
        "alice",
        at.timestamp(),
    )
    running = halt_document(halted=False)
    assert not parse_halt_file(running, now=0.0).halted


def test_token_secret() -> None:
    obj = token_secret(SLOT, "t0ken")
    assert obj["metadata"]["name"] == "fraud-evaluator-token"
    assert obj["stringData"] == {"token": "t0ken"}
