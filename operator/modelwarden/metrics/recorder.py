"""Every Prometheus collector of the operator, owned by one :class:`Recorder`.

In the spirit of Flagger's ``pkg/metrics/recorder.go``: handlers call named methods
(``set_phase``, ``record_rollback``, …) instead of touching collectors, so metric names and
label sets are defined once. Label values that come from users (halt reasons, alert
severities) are folded into small fixed sets, so a free-text field cannot explode the number
of series. ``forget_slot`` and ``forget_policy`` drop the series of deleted objects.
"""

from __future__ import annotations

from typing import Final, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from modelwarden.api.driftpolicy import PolicyVerdict
from modelwarden.api.modeldeployment import Phase
from modelwarden.decide.plan import Role

PHASES: Final = get_args(Phase)
ROLES: Final = get_args(Role)
HALT_REASONS: Final = ("manual", "alerts", "analysis", "drift", "other")
SEVERITIES: Final = ("critical", "warning", "info", "other")
VERDICT_VALUES: Final[dict[str, float]] = {
    "Stable": 0,
    "Warning": 1,
    "Critical": 2,
    "InsufficientData": -1,
}
_SLOT = ("namespace", "deployment")
_POLICY = ("namespace", "policy")


def _fold(value: str, allowed: tuple[str, ...]) -> str:
    """``value`` lower-cased when it is one of ``allowed``, else ``other``."""
    value = value.strip().lower()
    return value if value in allowed else "other"


class Recorder:
    """The operator's metrics; pass a registry in tests, or use a fresh one per Recorder."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self._phase = Gauge(
            "modelwarden_rollout_phase",
            "1 for the slot's current phase, 0 for the others",
            [*_SLOT, "phase"],
            registry=r,
        )
        self._weight = Gauge(
            "modelwarden_canary_weight", "Canary traffic share (%)", _SLOT, registry=r
        )
        self._samples = Gauge(
            "modelwarden_analysis_samples",
            "Requests in the current analysis window",
            [*_SLOT, "role"],
            registry=r,
        )
        self._error_rate = Gauge(
            "modelwarden_analysis_error_rate",
            "Share of failed requests in the analysis window (0-1)",
            [*_SLOT, "role"],
            registry=r,
        )
        self._latency = Gauge(
            "modelwarden_analysis_latency_p99_seconds",
            "p99 latency in the analysis window",
            [*_SLOT, "role"],
            registry=r,
        )
        self._halted = Gauge(
            "modelwarden_halted",
            "1 while the slot is halted, labelled with the kind of reason",
            [*_SLOT, "reason"],
            registry=r,
        )
        self._stages = Counter(
            "modelwarden_stage_transitions",
            "ModelVersion lifecycle stage transitions",
            ["namespace", "model", "from_stage", "to_stage"],
            registry=r,
        )
        self._rollbacks = Counter(
            "modelwarden_rollbacks", "Rollbacks of a slot to a previous version", _SLOT, registry=r
        )
        self._alerts = Counter(
            "modelwarden_alerts_received",
            "Alerts received for a slot (Alertmanager webhook)",
            [*_SLOT, "severity"],
            registry=r,
        )
        self._verdict = Gauge(
            "modelwarden_drift_verdict",
            "Drift verdict: 0 Stable, 1 Warning, 2 Critical, -1 InsufficientData",
            [*_POLICY, "deployment"],
            registry=r,
        )
        self._statistic = Gauge(
            "modelwarden_drift_statistic",
            "Last value of one drift check's statistic",
            [*_POLICY, "feature", "method"],
            registry=r,
        )
        self._retrains = Counter(
            "modelwarden_retrain_jobs", "Retraining Jobs created", _POLICY, registry=r
        )
        self._drift_actions = Counter(
            "modelwarden_drift_actions",
            "Actions a DriftPolicy executed (alert, retrain, rollback, halt)",
            [*_POLICY, "action"],
            registry=r,
        )
        self._reconcile = Histogram(
            "modelwarden_reconcile_duration_seconds",
            "Time spent in one reconcile",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=r,
        )
        self._checks: dict[tuple[str, str], set[tuple[str, str]]] = {}

    def set_phase(self, namespace: str, slot: str, phase: Phase) -> None:
        """One series per phase, so ``max by (phase)`` and state timelines work."""
        for candidate in PHASES:
            self._phase.labels(namespace, slot, candidate).set(1 if candidate == phase else 0)

    def set_canary_weight(self, namespace: str, slot: str, weight: int) -> None:
        self._weight.labels(namespace, slot).set(weight)

    def set_analysis(
        self,
        namespace: str,
        slot: str,
        role: Role,
        *,
        samples: int,
        error_rate: float | None,
        latency_p99_ms: float | None,
    ) -> None:
        """Figures of the last analysis; an unknown figure removes its series (no fake 0)."""
        self._samples.labels(namespace, slot, role).set(samples)
        for gauge, value in (
            (self._error_rate, error_rate),
            (self._latency, None if latency_p99_ms is None else latency_p99_ms / 1000),
        ):
            if value is None:
                gauge.remove(namespace, slot, role)
            else:
                gauge.labels(namespace, slot, role).set(value)

    def set_halted(self, namespace: str, slot: str, halted: bool, reason: str = "") -> None:
        """``reason`` is folded to one of :data:`HALT_REASONS`; only one reason is kept."""
        kind = _fold(reason, HALT_REASONS)
        for candidate in HALT_REASONS:
            self._halted.remove(namespace, slot, candidate)
        self._halted.labels(namespace, slot, kind if halted else "").set(1 if halted else 0)

    def record_stage_transition(
        self, namespace: str, model: str, from_stage: str, to_stage: str
    ) -> None:
        """Labelled by registry model, not ModelVersion name, to bound the series."""
        self._stages.labels(namespace, model, from_stage, to_stage).inc()

    def record_rollback(self, namespace: str, slot: str) -> None:
        self._rollbacks.labels(namespace, slot).inc()

    def record_alert(self, namespace: str, slot: str, severity: str) -> None:
        self._alerts.labels(namespace, slot, _fold(severity, SEVERITIES)).inc()

    def set_drift_verdict(
        self, namespace: str, policy: str, deployment: str, verdict: PolicyVerdict
    ) -> None:
        self._verdict.labels(namespace, policy, deployment).set(VERDICT_VALUES[verdict])

    def set_drift_statistic(
        self, namespace: str, policy: str, feature: str, method: str, value: float
    ) -> None:
        self._statistic.labels(namespace, policy, feature, method).set(value)
        self._checks.setdefault((namespace, policy), set()).add((feature, method))

    def record_retrain_job(self, namespace: str, policy: str) -> None:
        self._retrains.labels(namespace, policy).inc()

    def record_drift_action(self, namespace: str, policy: str, action: str) -> None:
        self._drift_actions.labels(namespace, policy, action).inc()

    def observe_reconcile(self, kind: str, seconds: float) -> None:
        """``kind`` is the resource kind reconciled (ModelDeployment, ModelVersion, …)."""
        self._reconcile.labels(kind).observe(seconds)

    def forget_slot(self, namespace: str, slot: str) -> None:
        """Drop every series of a deleted ModelDeployment."""
        self._weight.remove(namespace, slot)
        self._rollbacks.remove(namespace, slot)
        for phase in PHASES:
            self._phase.remove(namespace, slot, phase)
        for role in ROLES:
            for gauge in (self._samples, self._error_rate, self._latency):
                gauge.remove(namespace, slot, role)
        for reason in (*HALT_REASONS, ""):
            self._halted.remove(namespace, slot, reason)
        for severity in SEVERITIES:
            self._alerts.remove(namespace, slot, severity)

    def forget_policy(self, namespace: str, policy: str, deployment: str) -> None:
        """Drop every series of a deleted DriftPolicy."""
        self._verdict.remove(namespace, policy, deployment)
        self._retrains.remove(namespace, policy)
        for action in ("alert", "retrain", "rollback", "halt"):
            self._drift_actions.remove(namespace, policy, action)
        for feature, method in self._checks.pop((namespace, policy), set()):
            self._statistic.remove(namespace, policy, feature, method)
