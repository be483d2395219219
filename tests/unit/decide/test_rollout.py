"""Table tests of the progressive-delivery decision: one row per situation, named by its id."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cases.invalid_manifests import sample
from modelwarden.api.modeldeployment import (
    AlertRecord,
    AnalysisStatus,
    HaltRecord,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
)
from modelwarden.api.modelversion import ModelVersionSpec
from modelwarden.decide.plan import AutoscalerState, Observation, Plan, Signals
from modelwarden.decide.rollout import decide
from modelwarden.decide.stamps import iso

T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
V1, V2, V0 = "fraud-v1", "fraud-v2", "fraud-v0"
VERSION = ModelVersionSpec.model_validate(sample("fraud-detector-modelversion")["spec"])


def spec(**changes: Any) -> ModelDeploymentSpec:
    """The fraud sample (steps 5, pause 15m, 25, pause ∞, 50, pause 30m), 4 replicas, no HPA."""
    raw = sample("fraud-detector-modeldeployment")["spec"]
    raw.pop("autoscaling")
    raw["replicas"] = 4
    raw["analysis"] = {
        "interval": "1m",
        "minSamples": 500,
        "failureLimit": 1,
        "checks": [{"errorRate": {"max": 0.01}}],
    }
    base = ModelDeploymentSpec.model_validate(raw)
    return ModelDeploymentSpec.model_validate({**base.model_dump(), **changes})


def status(**changes: Any) -> ModelDeploymentStatus:
    defaults: dict[str, Any] = {"stable_version": V1, "phase": "Healthy", "alerts_since": iso(T0)}
    return ModelDeploymentStatus(**{**defaults, **changes})


def rolling(step: int, weight: int, **changes: Any) -> ModelDeploymentStatus:
    defaults: dict[str, Any] = {
        "canary_version": V2,
        "current_step": step,
        "canary_weight": weight,
        "step_started_at": iso(T0),
        "phase": "Progressing",
    }
    return status(**{**defaults, **changes})


@dataclass
class Row:
    spec: ModelDeploymentSpec
    status: ModelDeploymentStatus
    minutes: float = 0.0
    ready: dict[str, int] = field(default_factory=lambda: {V1: 4, V2: 4, V0: 0})
    signals: dict[str, Signals] = field(default_factory=dict)
    alerts: tuple[AlertRecord, ...] = ()
    command: str = ""
    approved: frozenset[str] = frozenset({V0, V1, V2})

    def observation(self) -> Observation:
        return Observation(
            now=T0 + timedelta(minutes=self.minutes),
            versions={V0: VERSION, V1: VERSION, V2: VERSION},
            approved=self.approved,
            ready=self.ready,
            signals=self.signals,
            alerts=self.alerts,
            actor="alice",
            command=self.command,
        )

    def run(self) -> Plan:
        return decide(self.spec, self.status, self.observation(), generation=7)


GOOD = {V2: Signals(samples=1000, errors=1, latency_p99_ms=20.0)}
BAD = {V2: Signals(samples=1000, errors=90, latency_p99_ms=20.0)}
FEW = {V2: Signals(samples=100, errors=0, latency_p99_ms=20.0)}
PASSED = AnalysisStatus(verdict="Pass", at=iso(T0 + timedelta(minutes=16)), samples=1000)


def critical(minutes: float, name: str = "HighErrorRate") -> AlertRecord:
    return AlertRecord(
        at=iso(T0 + timedelta(minutes=minutes)),
        source="alertmanager",
        severity="critical",
        name=name,
    )


def weights(plan: Plan) -> dict[str, int]:
    return plan.weights.by_version


def replicas(plan: Plan) -> dict[tuple[str, str], int]:
    return {(w.version, w.role): w.replicas for w in plan.workloads}


def reasons(plan: Plan) -> list[str]:
    return [e.reason for e in plan.events]


def condition(plan: Plan, type_: str) -> str:
    return next(c.status for c in plan.status.conditions if c.type == type_)


CASES = [
    pytest.param(
        Row(spec(version=V1), ModelDeploymentStatus()),
        {
            "phase": "Healthy",
            "stable": V1,
            "events": ["Deployed"],
            "weights": {V1: 100},
            "replicas": {(V1, "stable"): 4},
            "Promoted": "True",
        },
        id="first-deploy-serves-the-version",
    ),
    pytest.param(
        Row(spec(version=V1), ModelDeploymentStatus(), ready={}),
        {"phase": "Pending", "Available": "False", "message": "waiting for pods of fraud-v1"},
        id="first-deploy-waits-for-pods",
    ),
    pytest.param(
        Row(spec(version=V1), status(), ready={}),
        {"phase": "Degraded", "Available": "False"},
        id="serving-slot-losing-its-pods-is-degraded",
    ),
    pytest.param(
        Row(spec(version="missing"), ModelDeploymentStatus()),
        {"phase": "Pending", "message": "waiting for ModelVersion missing", "replicas": {}},
        id="unknown-version-waits",
    ),
    pytest.param(
        Row(spec(version=V2), status(), ready={V1: 4}),
        {
            "phase": "Progressing",
            "canary": V2,
            "step": 0,
            "weight": 5,
            "events": ["RolloutStarted"],
            "replicas": {(V1, "stable"): 3, (V2, "canary"): 1},
            "Progressing": "True",
            "Promoted": "False",
        },
        id="version-change-starts-canary-at-first-weight",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(0, 5)),
        {"step": 1, "weight": 5},
        id="set-weight-advances-once-canary-ready",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(1, 5), minutes=10, signals=GOOD),
        {"step": 1, "message_has": "pause until 2026-11-23T10:15:00Z"},
        id="timed-pause-waits-for-its-duration",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(1, 5), minutes=16, signals=FEW),
        {"step": 1, "verdict": "Inconclusive", "message_has": "waiting for 500 samples, have 100"},
        id="pause-over-but-too-few-samples-never-promotes",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(1, 5), minutes=16, signals=GOOD),
        {"step": 2, "verdict": "Pass"},
        id="pause-over-with-passing-analysis-advances",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(3, 25), minutes=100, signals=GOOD),
        {"step": 3, "phase": "Paused"},
        id="pause-without-duration-waits-for-promote",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(3, 25), signals=GOOD, command="promote@1"),
        {"step": 4, "phase": "Progressing", "last_command": "promote@1"},
        id="promote-command-ends-an-indefinite-pause",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(3, 25, last_command="promote@1"), command="promote@1"),
        {"step": 3},
        id="a-command-is-acted-on-once",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(1, 5), minutes=2, signals=BAD),
        {
            "step": 1,
            "verdict": "Fail",
            "failures": 1,
            "phase": "Progressing",
            "events": ["AnalysisFailed"],
        },
        id="one-failure-within-the-limit-continues",
    ),
    pytest.param(
        Row(
            spec(version=V2),
            rolling(1, 5, analysis=AnalysisStatus(verdict="Fail", failures=1, at=iso(T0))),
            minutes=2,
            signals=BAD,
        ),
        {
            "phase": "Aborted",
            "weight": 0,
            "weights": {V1: 100},
            "aborted_at": iso(T0 + timedelta(minutes=2)),
            "replicas": {(V1, "stable"): 4, (V2, "canary"): 0},
            "events": ["AnalysisFailed", "RolloutAborted"],
            "Progressing": "False",
        },
        id="failures-over-the-limit-abort-to-stable",
    ),
    pytest.param(
        Row(
            spec(version=V2),
            rolling(
                1,
                5,
                analysis=AnalysisStatus(
                    verdict="Fail", failures=1, at=iso(T0 + timedelta(seconds=30))
                ),
            ),
            minutes=1,
            signals=BAD,
        ),
        {"failures": 1, "step": 1},
        id="analysis-runs-once-per-interval",
    ),
    pytest.param(
        Row(
            spec(version=V2, replicas=10),
            rolling(2, 0, aborted_at=iso(T0), phase="Aborted"),
            minutes=30,
            signals=GOOD,
        ),
        {
            "phase": "Aborted",
            "aborted_at": iso(T0),
            "events": [],
            "replicas": {(V1, "stable"): 10, (V2, "canary"): 0},
            "weights": {V1: 100},
        },
        id="abort-stays-aborted-when-replicas-change",
    ),
    pytest.param(
        Row(
            spec(version=V2), rolling(2, 0, aborted_at=iso(T0), phase="Aborted"), command="retry@9"
        ),
        {"phase": "Progressing", "step": 0, "aborted_at": "", "events": ["RolloutStarted"]},
        id="retry-restarts-an-aborted-rollout",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(2, 25), command="abort@3"),
        {"phase": "Aborted", "weight": 0, "events": ["RolloutAborted"]},
        id="abort-command",
    ),
    pytest.param(
        Row(spec(version=V1), rolling(2, 25)),
        {"phase": "Healthy", "canary": "", "weights": {V1: 100}, "events": ["RolloutCancelled"]},
        id="spec-back-to-stable-cancels-the-rollout",
    ),
    pytest.param(
        Row(
            spec(version=V2),
            rolling(
                6, 50, standby_versions=[V0], analysis=AnalysisStatus(verdict="Pass", at=iso(T0))
            ),
            signals=GOOD,
        ),
        {
            "phase": "Healthy",
            "stable": V2,
            "canary": "",
            "standby": [V1, V0],
            "events": ["Promoted"],
            "replicas": {(V2, "stable"): 4, (V1, "standby"): 0, (V0, "standby"): 0},
            "Promoted": "True",
        },
        id="last-step-with-passing-analysis-promotes-and-keeps-standbys",
    ),
    pytest.param(
        Row(
            spec(version=V2),
            rolling(6, 50, analysis=AnalysisStatus(verdict="Pass", at=iso(T0))),
            signals=GOOD,
            approved=frozenset({V0, V1}),
        ),
        {
            "phase": "Progressing",
            "stable": V1,
            "canary": V2,
            "message_has": "waiting for the approvals of fraud-v2",
        },
        id="an-unapproved-version-is-never-promoted",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(3, 25), command="promote-full@7", approved=frozenset()),
        {"stable": V1, "canary": V2, "step": 3, "events": []},
        id="promote-full-does-not-skip-approvals",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(6, 50), signals=FEW),
        {"phase": "Progressing", "stable": V1, "message_has": "final analysis"},
        id="final-promotion-needs-enough-samples",
    ),
    pytest.param(
        Row(
            spec(version=V2, halt=True, halt_reason="bad answers"),
            rolling(1, 5),
            minutes=20,
            signals=GOOD,
        ),
        {
            "phase": "Halted",
            "weights": {},
            "step": 1,
            "halted_by": "alice",
            "events": ["Halted"],
            "Halted": "True",
            "Available": "False",
            "replicas": {(V1, "stable"): 3, (V2, "canary"): 1},
        },
        id="halt-zeroes-traffic-freezes-progress-keeps-pods-warm",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(1, 5, halted=HaltRecord(by="alice", at=iso(T0)))),
        {"phase": "Progressing", "halted_by": None, "events": ["Resumed"], "Halted": "False"},
        id="clearing-halt-resumes",
    ),
    pytest.param(
        Row(
            spec(version=V1),
            status(standby_versions=[V0]),
            minutes=30,
            alerts=(critical(5), critical(20)),
        ),
        {
            "phase": "RolledBack",
            "stable": V0,
            "canary": V1,
            "weights": {V0: 100},
            "events": ["RolledBack"],
            "replicas": {(V0, "stable"): 4, (V1, "canary"): 0},
        },
        id="critical-alerts-roll-back-to-standby",
    ),
    pytest.param(
        Row(spec(version=V1), status(standby_versions=[V0]), minutes=30, alerts=(critical(20),)),
        {"phase": "Healthy", "stable": V1},
        id="one-alert-is-below-the-count",
    ),
    pytest.param(
        Row(
            spec(version=V1),
            status(standby_versions=[V0], alerts_since=iso(T0 + timedelta(minutes=10))),
            minutes=30,
            alerts=(critical(5), critical(20)),
        ),
        {"phase": "Healthy", "stable": V1},
        id="alerts-from-before-the-last-change-do-not-count",
    ),
    pytest.param(
        Row(spec(version=V2), rolling(3, 25), minutes=30, alerts=(critical(5), critical(20))),
        {"phase": "Aborted", "weights": {V1: 100}, "events": ["RolloutAborted"]},
        id="critical-alerts-abort-a-canary-even-at-a-manual-gate",
    ),
    pytest.param(
        Row(spec(version=V1), status(), command="rollback@2"),
        {"phase": "Healthy", "message_has": "serving"},
        id="rollback-without-standby-is-refused-politely",
    ),
    pytest.param(
        Row(spec(version=V2, replicas=10), rolling(2, 25)),
        {"replicas": {(V1, "stable"): 7, (V2, "canary"): 3}, "weights": {V1: 75, V2: 25}},
        id="replicas-split-by-weight-from-the-slot-total",
    ),
]


@pytest.mark.parametrize(("row", "expect"), CASES)
def test_decide(row: Row, expect: dict[str, Any]) -> None:
    plan = row.run()
    s = plan.status
    actual = {
        "phase": s.phase,
        "stable": s.stable_version,
        "canary": s.canary_version,
        "step": s.current_step,
        "weight": s.canary_weight,
        "verdict": s.analysis.verdict,
        "failures": s.analysis.failures,
        "aborted_at": s.aborted_at,
        "standby": s.standby_versions,
        "last_command": s.last_command,
        "message": s.message,
        "halted_by": s.halted.by if s.halted else None,
        "events": reasons(plan),
        "weights": weights(plan),
        "replicas": replicas(plan),
    }
    for key, want in expect.items():
        if key == "message_has":
            assert want in s.message, s.message
        elif key[0].isupper():
            assert condition(plan, key) == want, s.conditions
        else:
            assert actual[key] == want, f"{key}: {actual[key]!r} (message: {s.message})"
    assert s.observed_generation == 7


def test_blue_green_switches_after_auto_promotion_with_passing_analysis() -> None:
    bg = spec(strategy={"type": "BlueGreen", "blueGreen": {"autoPromotionSeconds": 600}})
    row = Row(bg, rolling(0, 0), minutes=11, signals=GOOD)
    plan = row.run()
    assert plan.status.stable_version == V2
    assert reasons(plan) == ["Promoted"]


@pytest.mark.parametrize(
    ("seconds", "old_colour"),
    [pytest.param(10, 4, id="within-delay-keeps-old-colour"), pytest.param(40, 0, id="after")],
)
def test_blue_green_scales_the_old_colour_down_after_the_delay(seconds, old_colour) -> None:
    bg = spec(
        version=V2, strategy={"type": "BlueGreen", "blueGreen": {"scaleDownDelaySeconds": 30}}
    )
    switched = status(stable_version=V2, standby_versions=[V1], step_started_at=iso(T0))
    plan = Row(bg, switched, minutes=seconds / 60).run()
    assert replicas(plan) == {(V2, "stable"): 4, (V1, "standby"): old_colour}


def test_blue_green_preview_runs_full_size_with_no_live_traffic() -> None:
    bg = spec(strategy={"type": "BlueGreen", "blueGreen": {"autoPromotionSeconds": 600}})
    plan = Row(bg, rolling(0, 0), minutes=5, signals=GOOD).run()
    assert replicas(plan) == {(V1, "stable"): 4, (V2, "preview"): 4}
    assert weights(plan) == {V1: 100}


def test_shadow_low_agreement_aborts() -> None:
    sh = spec(strategy={"type": "Shadow", "shadow": {"duration": "1h", "minAgreement": 0.98}})
    low = {V2: replace(GOOD[V2], agreement=0.9)}
    plan = Row(sh, rolling(0, 0), minutes=5, signals=low).run()
    assert plan.status.phase == "Aborted"
    assert "agreement 90.0% < 98.0%" in plan.status.message


def test_shadow_promotes_after_its_duration() -> None:
    sh = spec(strategy={"type": "Shadow", "shadow": {"duration": "1h", "minAgreement": 0.98}})
    high = {V2: replace(GOOD[V2], agreement=0.995)}
    plan = Row(sh, rolling(0, 0), minutes=61, signals=high).run()
    assert plan.status.stable_version == V2


def test_recreate_replaces_at_once() -> None:
    plan = Row(spec(version=V2, strategy={"type": "Recreate"}), status()).run()
    assert plan.status.stable_version == V2
    assert plan.status.standby_versions == [V1]


def test_condition_transition_time_is_kept_while_unchanged() -> None:
    first = Row(spec(version=V1), ModelDeploymentStatus()).run()
    later = Row(spec(version=V1), first.status, minutes=5).run()
    before = {c.type: c.last_transition_time for c in first.status.conditions}
    after = {c.type: c.last_transition_time for c in later.status.conditions}
    assert before == after


def test_status_reports_the_pod_selector_an_hpa_reads_through_scale() -> None:
    row = Row(spec(), status())
    obs = replace(row.observation(), selector="modelwarden.io/slot=fraud")
    plan = decide(row.spec, row.status, obs)
    assert plan.status.selector == "modelwarden.io/slot=fraud"
    assert plan.status.replicas == 4


HPA = {"minReplicas": 2, "maxReplicas": 8}
NO_CPU_REQUEST = AutoscalerState(False, "FailedGetResourceMetric", "missing request for cpu")


@pytest.mark.parametrize(
    ("autoscaling", "hpa", "expected"),
    [
        pytest.param(None, None, None, id="no-autoscaling-no-condition"),
        pytest.param(HPA, None, ("False", "Pending"), id="hpa-not-seen-yet"),
        pytest.param(
            HPA, AutoscalerState(True, "ValidMetricFound", ""), ("True", "ValidMetricFound"),
            id="hpa-active",
        ),
        pytest.param(HPA, NO_CPU_REQUEST, ("False", "FailedGetResourceMetric"), id="hpa-failing"),
    ],
)  # fmt: skip
def test_autoscaling_condition_reports_the_hpa(
    autoscaling: dict[str, int] | None,
    hpa: AutoscalerState | None,
    expected: tuple[str, str] | None,
) -> None:
    row = Row(spec(autoscaling=autoscaling), status())
    plan = decide(row.spec, row.status, replace(row.observation(), autoscaler=hpa))
    found = [(c.status, c.reason) for c in plan.status.conditions if c.type == "Autoscaling"]
    assert found == ([expected] if expected else [])


def test_autoscaling_condition_goes_when_autoscaling_is_removed() -> None:
    row = Row(spec(autoscaling=HPA), status())
    first = decide(row.spec, row.status, replace(row.observation(), autoscaler=NO_CPU_REQUEST))
    later = decide(spec(), first.status, row.observation())
    assert [c.type for c in later.status.conditions if c.type == "Autoscaling"] == []
