"""Invalid manifests, one per rule, shared by the pydantic tests and the API-server tests.

Each case starts from a real sample in ``manifests/samples/`` and breaks exactly one rule, so
a case can only be rejected for the reason it names. ``field`` is the path that the error
message, from pydantic and from the API server alike, must contain.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "samples"


def sample(name: str) -> dict[str, Any]:
    """A sample manifest by file stem, e.g. ``fraud-detector-modelversion``."""
    return yaml.safe_load((SAMPLES / f"{name}.yaml").read_text())


def sample_files() -> list[Path]:
    return sorted(SAMPLES.glob("*.yaml"))


@dataclass(frozen=True)
class InvalidCase:
    id: str
    manifest: dict[str, Any]
    field: str


def _case(id: str, base: str, field: str, mutate: Callable[[dict[str, Any]], None]) -> InvalidCase:
    doc = copy.deepcopy(sample(base))
    doc["metadata"]["name"] = f"invalid-{id}"
    mutate(doc["spec"])
    return InvalidCase(id=id, manifest=doc, field=field)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set ``value`` at a dotted path inside spec (list indices as numbers)."""

    def mutate(spec: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = spec
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda spec: spec.pop(key)


MV, MDEP, DP = (
    "fraud-detector-modelversion",
    "fraud-detector-modeldeployment",
    "fraud-detector-driftpolicy",
)
STEPS = "strategy.canary.steps"

INVALID_CASES: list[InvalidCase] = [
    _case("mv-version-not-semver", MV, "spec.version", _set("version", "3.2")),
    _case("mv-digest-not-sha256", MV, "spec.artifact.digest", _set("artifact.digest", "md5:abc")),
    _case("mv-digest-short", MV, "spec.artifact.digest", _set("artifact.digest", "sha256:abc")),
    _case("mv-uri-without-scheme", MV, "spec.artifact.uri", _set("artifact.uri", "models/x")),
    _case("mv-risk-tier-zero", MV, "spec.riskTier", _set("riskTier", 0)),
    _case("mv-risk-tier-five", MV, "spec.riskTier", _set("riskTier", 5)),
    _case("mv-port-out-of-range", MV, "spec.runtime.port", _set("runtime.port", 70000)),
    _case("mv-unknown-protocol", MV, "spec.runtime.protocol", _set("runtime.protocol", "grpc")),
    _case("mv-json-without-paths", MV, "spec.runtime.jsonPaths", _set("runtime.protocol", "json")),
    _case("mv-model-name-uppercase", MV, "spec.model", _set("model", "Fraud_Detector")),
    _case("mv-commit-not-hex", MV, "spec.lineage.codeCommit", _set("lineage.codeCommit", "HEAD")),
    _case(
        "mv-approval-bad-decision",
        MV,
        "spec.approvals[0].decision",
        _set("approvals", [{"role": "ml-lead", "decision": "maybe"}]),
    ),
    _case(
        "mv-eval-set-empty",
        MV,
        "spec.metrics.evaluationSet.size",
        _set("metrics.evaluationSet.size", 0),
    ),
    _case(
        "mdep-weight-over-100",
        MDEP,
        f"spec.{STEPS}[0].setWeight",
        _set(f"{STEPS}.0.setWeight", 120),
    ),
    _case(
        "mdep-weight-negative", MDEP, f"spec.{STEPS}[0].setWeight", _set(f"{STEPS}.0.setWeight", -5)
    ),
    _case("mdep-weights-decreasing", MDEP, f"spec.{STEPS}", _set(f"{STEPS}.4.setWeight", 10)),
    _case(
        "mdep-step-both-kinds",
        MDEP,
        f"spec.{STEPS}[0]",
        _set(f"{STEPS}.0", {"setWeight": 5, "pause": {}}),
    ),
    _case("mdep-step-empty", MDEP, f"spec.{STEPS}[0]", _set(f"{STEPS}.0", {})),
    _case(
        "mdep-pause-bad-duration",
        MDEP,
        f"spec.{STEPS}[1].pause.duration",
        _set(f"{STEPS}.1.pause.duration", "15 minutes"),
    ),
    _case(
        "mdep-autoscaling-min-over-max",
        MDEP,
        "spec.autoscaling.minReplicas",
        _set("autoscaling.minReplicas", 20),
    ),
    _case("mdep-replicas-negative", MDEP, "spec.replicas", _set("replicas", -1)),
    _case(
        "mdep-error-rate-over-one",
        MDEP,
        "spec.analysis.checks[0].errorRate.max",
        _set("analysis.checks.0.errorRate.max", 1.5),
    ),
    _case(
        "mdep-check-two-kinds",
        MDEP,
        "spec.analysis.checks[0]",
        _set("analysis.checks.0", {"errorRate": {"max": 0.1}, "latencyP99Ms": {"max": 100}}),
    ),
    _case(
        "mdep-prometheus-no-bound",
        MDEP,
        "spec.analysis.checks[0].prometheus.query",
        _set("analysis.checks.0", {"prometheus": {"query": "up"}}),
    ),
    _case(
        "mdep-prometheus-unknown-placeholder",
        MDEP,
        "spec.analysis.checks[0].prometheus.query",
        _set("analysis.checks.0", {"prometheus": {"query": "x{v='{{canary}}'}", "max": 1}}),
    ),
    _case(
        "mdep-shadow-settings-on-canary",
        MDEP,
        "spec.strategy.shadow",
        _set("strategy.shadow", {"duration": "1h"}),
    ),
    _case(
        "mdep-two-traffic-routers",
        MDEP,
        "spec.strategy.canary.trafficRouting",
        _set("strategy.canary.trafficRouting.istio", {"virtualService": "fraud"}),
    ),
    _case("mdep-unknown-strategy", MDEP, "spec.strategy.type", _set("strategy.type", "Rainbow")),
    _case(
        "mdep-standby-too-many",
        MDEP,
        "spec.rollback.standbyVersions",
        _set("rollback.standbyVersions", 50),
    ),
    _case(
        "dp-warning-above-critical", DP, "spec.features[0].warning", _set("features.0.warning", 0.5)
    ),
    _case("dp-chi2-on-numeric", DP, "spec.features[0].method", _set("features.0.method", "chi2")),
    _case("dp-p-value-over-one", DP, "spec.features[1].pValue", _set("features.1.pValue", 1.5)),
    _case("dp-p-value-on-psi", DP, "spec.features[0].pValue", _set("features.0.pValue", 0.05)),
    _case(
        "dp-fairness-no-attributes", DP, "spec.fairness.attributes", _set("fairness.attributes", [])
    ),
    _case("dp-retrain-without-template", DP, "spec.retraining", _drop("retraining")),
    _case(
        "dp-duplicate-feature",
        DP,
        "spec.features",
        _set("features.1", {"name": "amount", "type": "numeric", "method": "ks"}),
    ),
    _case(
        "dp-unknown-action",
        DP,
        "spec.actions.critical[2]",
        _set("actions.critical", ["alert", "retrain", "page-everyone"]),
    ),
    _case("dp-bad-interval", DP, "spec.interval", _set("interval", "often")),
]
