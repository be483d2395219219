"""ModelDeployment: a serving slot and how a new version reaches it (progressive delivery)."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from modelwarden.api.base import (
    ApiModel,
    CelRule,
    Condition,
    Duration,
    Fraction,
    Name,
    ObjectName,
    Percent,
    Resource,
    ShortText,
    StatusModel,
)

StrategyType = Literal["Canary", "BlueGreen", "Shadow", "Recreate"]
Phase = Literal[
    "Pending", "Healthy", "Progressing", "Paused", "Degraded", "Aborted", "RolledBack", "Halted"
]
Verdict = Literal["Pass", "Fail", "Inconclusive"]


class Pause(ApiModel):
    """Wait before the next step; without a duration, wait for ``kubectl warden promote``."""

    duration: Duration | None = None


class CanaryStep(ApiModel):
    """Exactly one of setWeight or pause."""

    set_weight: Percent | None = None
    """Share of traffic (0–100 %) sent to the canary."""
    pause: Pause | None = None

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="has(self.setWeight) != has(self.pause)",
            message="a step has exactly one of setWeight or pause",
            check=lambda s: (s.set_weight is None) != (s.pause is None),
        ),
    )


class GatewayApiRoute(ApiModel):
    http_route: ObjectName
    """HTTPRoute (same namespace) whose backendRefs weights the operator sets."""


class IstioRoute(ApiModel):
    virtual_service: ObjectName
    """VirtualService (same namespace) whose route weights the operator sets."""


class ReplicaRatio(ApiModel):
    """No mesh: traffic follows the ratio of ready replicas behind the slot's Service."""


class TrafficRouting(ApiModel):
    """Exactly one traffic router; replicaRatio when none is given."""

    replica_ratio: ReplicaRatio | None = None
    gateway_api: GatewayApiRoute | None = Field(default=None, alias="gatewayAPI")
    istio: IstioRoute | None = None

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="[has(self.replicaRatio), has(self.gatewayAPI), has(self.istio)]"
            ".filter(x, x).size() <= 1",
            message="choose at most one of replicaRatio, gatewayAPI or istio",
            check=lambda t: (
                sum(x is not None for x in (t.replica_ratio, t.gateway_api, t.istio)) <= 1
            ),
        ),
    )


class CanaryStrategy(ApiModel):
    steps: Annotated[list[CanaryStep], Field(min_length=1, max_length=50)] = Field(
        default_factory=lambda: [
            CanaryStep(set_weight=10),
            CanaryStep(pause=Pause(duration="1m")),
            CanaryStep(set_weight=50),
            CanaryStep(pause=Pause(duration="1m")),
        ]
    )
    traffic_routing: TrafficRouting = Field(default_factory=TrafficRouting)

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="!has(self.steps)"
            " || self.steps.filter(s, has(s.setWeight)).map(s, s.setWeight).isSorted()",
            message="setWeight values must be non-decreasing from step to step",
            field=".steps",
            check=lambda c: (
                (w := [s.set_weight for s in c.steps if s.set_weight is not None]) == sorted(w)
            ),
        ),
    )


class BlueGreenStrategy(ApiModel):
    auto_promotion_seconds: Annotated[int, Field(ge=0)] | None = None
    """Promote the preview automatically after this long with passing analysis; manual if unset."""
    scale_down_delay_seconds: Annotated[int, Field(ge=0)] = 30
    """Keep the old colour up this long after the switch, for in-flight requests."""


class ShadowStrategy(ApiModel):
    duration: Duration = "1h"
    """How long agreement and checks must hold before the shadow is promoted."""
    mirror_percent: Annotated[int, Field(ge=1, le=100)] = 100
    min_agreement: Fraction = 0.98


class Strategy(ApiModel):
    type: StrategyType = "Canary"
    canary: CanaryStrategy | None = None
    blue_green: BlueGreenStrategy | None = None
    shadow: ShadowStrategy | None = None

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="!has(self.canary) || self.type == 'Canary'",
            message="canary settings need type Canary",
            field=".canary",
            check=lambda s: s.canary is None or s.type == "Canary",
        ),
        CelRule(
            rule="!has(self.blueGreen) || self.type == 'BlueGreen'",
            message="blueGreen settings need type BlueGreen",
            field=".blueGreen",
            check=lambda s: s.blue_green is None or s.type == "BlueGreen",
        ),
        CelRule(
            rule="!has(self.shadow) || self.type == 'Shadow'",
            message="shadow settings need type Shadow",
            field=".shadow",
            check=lambda s: s.shadow is None or s.type == "Shadow",
        ),
    )


class Autoscaling(ApiModel):
    """An autoscaling/v2 HPA on the slot's /scale; the operator splits replicas by weight."""

    min_replicas: Annotated[int, Field(ge=1)] = 1
    max_replicas: Annotated[int, Field(ge=1)]
    target_cpu_utilization: Annotated[int, Field(ge=1, le=100)] = 70
    """Average CPU use, in percent of the pods' CPU requests (model server and sidecar)."""
    scale_down_stabilization_seconds: Annotated[int, Field(ge=0, le=3600)] = 300
    """How long the HPA keeps the highest recent recommendation before scaling down
    (Kubernetes' own default); lower it for spiky traffic that should release pods sooner."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="self.minReplicas <= self.maxReplicas",
            message="minReplicas must not exceed maxReplicas",
            field=".minReplicas",
            check=lambda a: a.min_replicas <= a.max_replicas,
        ),
    )


class ErrorRateBound(ApiModel):
    max: Fraction
    """Highest acceptable share of failed requests (0–1)."""


class LatencyBound(ApiModel):
    max: Annotated[float, Field(gt=0)]
    """Highest acceptable p99 latency in milliseconds."""


class DriftPolicyCheck(ApiModel):
    name: ObjectName
    fail_on: Literal["Warning", "Critical"] = "Critical"


class PrometheusCheck(ApiModel):
    query: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    """PromQL returning one scalar or single-sample vector. ``{{version}}`` (the version under
    analysis), ``{{stable}}``, ``{{slot}}`` and ``{{namespace}}`` are filled in each time."""
    address: Annotated[str, StringConstraints(max_length=512)] | None = None
    """Prometheus base URL; the operator's default when unset."""
    max: float | None = None
    min: float | None = None

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="has(self.max) || has(self.min)",
            message="a prometheus check needs max, min or both",
            field=".query",
            check=lambda p: p.max is not None or p.min is not None,
        ),
        CelRule(
            rule=r"self.query.findAll('{{[^}]*}}').all(p, p.matches("
            r"'^{{\\s*(version|stable|slot|namespace)\\s*}}$'))",
            message="query placeholders are {{version}}, {{stable}}, {{slot}} and {{namespace}}",
            field=".query",
            check=lambda p: all(
                re.fullmatch(r"{{\s*(version|stable|slot|namespace)\s*}}", m)
                for m in re.findall(r"{{[^}]*}}", p.query)
            ),
        ),
    )


class AnalysisCheck(ApiModel):
    """Exactly one kind of check."""

    error_rate: ErrorRateBound | None = None
    latency_p99_ms: LatencyBound | None = None
    drift_policy: DriftPolicyCheck | None = None
    prometheus: PrometheusCheck | None = None

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="[has(self.errorRate), has(self.latencyP99Ms), has(self.driftPolicy),"
            " has(self.prometheus)].filter(x, x).size() == 1",
            message="each check has exactly one of errorRate, latencyP99Ms, driftPolicy"
            " or prometheus",
            check=lambda c: (
                sum(
                    x is not None
                    for x in (c.error_rate, c.latency_p99_ms, c.drift_policy, c.prometheus)
                )
                == 1
            ),
        ),
    )


class Analysis(ApiModel):
    """Live analysis between steps and continuously in steady state."""

    interval: Duration = "1m"
    min_samples: Annotated[int, Field(ge=1)] = 100
    """Low traffic waits: a verdict needs at least this many requests; it never promotes on
    fewer."""
    failure_limit: Annotated[int, Field(ge=0)] = 2
    """Failed analyses tolerated before the rollout aborts."""
    checks: Annotated[list[AnalysisCheck], Field(max_length=20)] = Field(default_factory=list)


class Guardrail(ApiModel):
    metric: Annotated[str, StringConstraints(min_length=1, max_length=63)]
    max: float | None = None
    min: float | None = None


class ChampionChallenger(ApiModel):
    metric: Annotated[str, StringConstraints(min_length=1, max_length=63)]
    """Primary offline metric (higher is better) the challenger must beat the champion on."""
    margin: Annotated[
        str, StringConstraints(max_length=16, pattern=r"^(auto|[0-9]+(\.[0-9]+)?)$")
    ] = "auto"
    """``auto`` = 1.96·√(p(1−p)/m) from the evaluation-set size m, or a number (quoted)."""
    guardrails: Annotated[list[Guardrail], Field(max_length=16)] = Field(default_factory=list)


class Promotion(ApiModel):
    champion_challenger: ChampionChallenger | None = None
    require_approvals: Annotated[list[Name], Field(max_length=16)] | None = None
    """Roles whose approval the version needs; by the version's risk tier when unset."""


class CriticalAlertRollback(ApiModel):
    count: Annotated[int, Field(ge=1)] = 2
    window: Duration = "24h"


class Rollback(ApiModel):
    on_critical_alerts: CriticalAlertRollback = Field(default_factory=CriticalAlertRollback)
    """Roll back automatically after this many critical alerts within the window."""
    standby_versions: Annotated[int, Field(ge=0, le=10)] = 3
    """Previous production versions kept deployable (scaled to zero) for a fast rollback."""


class ModelDeploymentSpec(ApiModel):
    """Changing ``version`` starts a rollout; ``halt: true`` stops all inference at once."""

    model: Name
    version: ObjectName
    """Name of the ModelVersion to serve."""
    replicas: Annotated[int, Field(ge=0, le=1000)] = 1
    """Total replicas of the slot; an HPA may own it through the /scale subresource."""
    autoscaling: Autoscaling | None = None
    strategy: Strategy = Field(default_factory=Strategy)
    analysis: Analysis = Field(default_factory=Analysis)
    promotion: Promotion = Field(default_factory=Promotion)
    rollback: Rollback = Field(default_factory=Rollback)
    halt: bool = False
    """Emergency halt: while true no inference is served (evaluators answer 503)."""
    halt_reason: ShortText = ""


class AnalysisStatus(StatusModel):
    samples: int = 0
    error_rate: float | None = None
    latency_p99_ms: float | None = None
    verdict: Verdict | None = None
    failures: int = 0
    message: str = ""
    at: str = ""


class AlertRecord(StatusModel):
    at: str
    source: str
    severity: str
    name: str


class HaltRecord(StatusModel):
    by: str = ""
    at: str = ""
    reason: str = ""


class ModelDeploymentStatus(StatusModel):
    phase: Phase = "Pending"
    stable_version: str = ""
    canary_version: str = ""
    current_step: int = 0
    canary_weight: int = 0
    step_started_at: str = ""
    replicas: int = 0
    selector: str = ""
    standby_versions: list[str] = Field(default_factory=list)
    analysis: AnalysisStatus = Field(default_factory=AnalysisStatus)
    alerts: list[AlertRecord] = Field(default_factory=list)
    halted: HaltRecord | None = None
    aborted_at: str = ""
    """When the current abort or rollback happened; kept as is until the next rollout."""
    alerts_since: str = ""
    """Start of the current rollout or last promotion/rollback: older alerts do not count."""
    last_command: str = ""
    """The last ``modelwarden.io/command`` annotation acted on (each is acted on once)."""
    message: str = ""
    conditions: list[Condition] = Field(default_factory=list)
    observed_generation: int | None = None


class ModelDeployment(Resource):
    kind: Literal["ModelDeployment"] = "ModelDeployment"
    spec: ModelDeploymentSpec
    status: ModelDeploymentStatus | None = None
