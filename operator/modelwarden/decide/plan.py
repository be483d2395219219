"""What a reconcile of a ModelDeployment sees and what it decides, as plain data.

Handlers gather an :class:`Observation`, call a pure decision function, and apply the
returned :class:`Plan` with one status patch. Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from modelwarden.api.modeldeployment import AlertRecord, ModelDeploymentStatus
from modelwarden.api.modelversion import ModelVersionSpec

Role = Literal["stable", "canary", "standby", "preview", "shadow"]
EventType = Literal["Normal", "Warning"]


@dataclass(frozen=True)
class AutoscalerState:
    """What the slot's HPA says about itself (its AbleToScale/ScalingActive conditions)."""

    active: bool
    reason: str
    message: str


@dataclass(frozen=True)
class Signals:
    """Golden signals of one version's pods over the analysis window, merged across pods."""

    samples: int
    errors: int
    latency_p99_ms: float | None = None
    agreement: float | None = None
    """Shadow agreement rate (0–1) when the version is mirrored; None otherwise."""

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.samples if self.samples else None


@dataclass(frozen=True)
class Observation:
    """Everything a rollout decision may look at, gathered by the handler."""

    now: datetime
    versions: dict[str, ModelVersionSpec]
    """ModelVersion name → spec, for the versions this slot references."""
    approved: frozenset[str] = frozenset()
    """ModelVersion names whose ``Approved`` condition is true: only they may be promoted."""
    ready: dict[str, int] = field(default_factory=dict)
    """ModelVersion name → ready replicas of its Deployment."""
    signals: dict[str, Signals] = field(default_factory=dict)
    """ModelVersion name → merged evaluator signals since the current step started."""
    drift_verdicts: dict[str, str] = field(default_factory=dict)
    """DriftPolicy name → verdict (Stable, Warning, Critical, InsufficientData)."""
    prometheus: dict[str, float | None] = field(default_factory=dict)
    """PromQL query → value (None when Prometheus did not answer)."""
    alerts: tuple[AlertRecord, ...] = ()
    """Alerts received for this slot (Alertmanager webhook, analysis, drift), newest last."""
    actor: str = ""
    """Who made the last spec change, when known (for halt and audit records)."""
    autoscaler: AutoscalerState | None = None
    """The slot's HPA, when ``spec.autoscaling`` asks for one and it exists."""
    selector: str = ""
    """The label selector of every pod of the slot: ``status.selector``, which the /scale
    subresource hands to an HPA so it can find the pods whose CPU it averages."""
    command: str = ""
    """The ``modelwarden.io/command`` annotation (``promote``, ``promote-full``, ``abort``,
    ``retry`` or ``rollback``, then ``@`` and a unique id), acted on once per id."""


@dataclass(frozen=True)
class Workload:
    """One Deployment the slot should have: a ModelVersion in a role, with replicas."""

    version: str
    role: Role
    replicas: int


@dataclass(frozen=True)
class Weights:
    """Share of traffic per ModelVersion name; sums to 100 unless halted (all zero)."""

    by_version: dict[str, int]


@dataclass(frozen=True)
class Event:
    reason: str
    message: str
    type: EventType = "Normal"


@dataclass(frozen=True)
class Plan:
    """The desired state after one reconcile."""

    status: ModelDeploymentStatus
    workloads: tuple[Workload, ...]
    weights: Weights
    halted: bool
    events: tuple[Event, ...] = ()
