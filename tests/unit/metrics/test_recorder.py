"""The operator's metrics: each Recorder method moves the series it promises, and only those."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from modelwarden.metrics.recorder import Recorder

NS = "risk"
SLOT = {"namespace": NS, "deployment": "fraud"}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder(CollectorRegistry())


def value(recorder: Recorder, name: str, **labels: str) -> float | None:
    return recorder.registry.get_sample_value(name, labels)


def test_recorders_do_not_share_a_registry() -> None:
    first, second = Recorder(), Recorder()
    first.set_canary_weight(NS, "fraud", 10)
    assert value(second, "modelwarden_canary_weight", **SLOT) is None


def test_phase_is_one_hot(recorder: Recorder) -> None:
    recorder.set_phase(NS, "fraud", "Progressing")
    recorder.set_phase(NS, "fraud", "Paused")
    assert value(recorder, "modelwarden_rollout_phase", **SLOT, phase="Paused") == 1
    assert value(recorder, "modelwarden_rollout_phase", **SLOT, phase="Progressing") == 0
    assert value(recorder, "modelwarden_rollout_phase", **SLOT, phase="Healthy") == 0


def test_canary_weight(recorder: Recorder) -> None:
    recorder.set_canary_weight(NS, "fraud", 25)
    assert value(recorder, "modelwarden_canary_weight", **SLOT) == 25


def test_analysis_figures(recorder: Recorder) -> None:
    recorder.set_analysis(
        NS, "fraud", "canary", samples=500, error_rate=0.002, latency_p99_ms=180.0
    )
    labels = {**SLOT, "role": "canary"}
    assert value(recorder, "modelwarden_analysis_samples", **labels) == 500
    assert value(recorder, "modelwarden_analysis_error_rate", **labels) == 0.002
    assert value(recorder, "modelwarden_analysis_latency_p99_seconds", **labels) == 0.18


def test_unknown_analysis_figures_drop_their_series(recorder: Recorder) -> None:
    recorder.set_analysis(NS, "fraud", "canary", samples=5, error_rate=0.1, latency_p99_ms=9.0)
    recorder.set_analysis(NS, "fraud", "canary", samples=0, error_rate=None, latency_p99_ms=None)
    labels = {**SLOT, "role": "canary"}
    assert value(recorder, "modelwarden_analysis_samples", **labels) == 0
    assert value(recorder, "modelwarden_analysis_error_rate", **labels) is None
    assert value(recorder, "modelwarden_analysis_latency_p99_seconds", **labels) is None


@pytest.mark.parametrize(
    ("halted", "reason", "label", "expected"),
    [
        pytest.param(True, "Drift", "drift", 1, id="known-reason-lowercased"),
        pytest.param(True, "fraud spike seen by on-call at 3am", "other", 1, id="free-text-folded"),
        pytest.param(False, "", "", 0, id="running"),
    ],
)
def test_halted(recorder: Recorder, halted: bool, reason: str, label: str, expected: int) -> None:
    recorder.set_halted(NS, "fraud", halted, reason)
    assert value(recorder, "modelwarden_halted", **SLOT, reason=label) == expected


def test_halt_keeps_one_series_per_slot(recorder: Recorder) -> None:
    recorder.set_halted(NS, "fraud", True, "manual")
    recorder.set_halted(NS, "fraud", True, "alerts")
    recorder.set_halted(NS, "fraud", False)
    assert value(recorder, "modelwarden_halted", **SLOT, reason="manual") is None
    assert value(recorder, "modelwarden_halted", **SLOT, reason="alerts") is None
    assert value(recorder, "modelwarden_halted", **SLOT, reason="") == 0


def test_counters(recorder: Recorder) -> None:
    recorder.record_stage_transition(NS, "fraud-detector", "Staging", "Production")
    recorder.record_stage_transition(NS, "fraud-detector", "Staging", "Production")
    recorder.record_rollback(NS, "fraud")
    recorder.record_alert(NS, "fraud", "CRITICAL")
    recorder.record_alert(NS, "fraud", "page-me")
    recorder.record_retrain_job(NS, "fraud-drift")
    stage = {"namespace": NS, "model": "fraud-detector", "from_stage": "Staging"}
    assert (
        value(recorder, "modelwarden_stage_transitions_total", **stage, to_stage="Production") == 2
    )
    assert value(recorder, "modelwarden_rollbacks_total", **SLOT) == 1
    assert value(recorder, "modelwarden_alerts_received_total", **SLOT, severity="critical") == 1
    assert value(recorder, "modelwarden_alerts_received_total", **SLOT, severity="other") == 1
    policy = {"namespace": NS, "policy": "fraud-drift"}
    assert value(recorder, "modelwarden_retrain_jobs_total", **policy) == 1


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        pytest.param("Stable", 0, id="stable"),
        pytest.param("Warning", 1, id="warning"),
        pytest.param("Critical", 2, id="critical"),
        pytest.param("InsufficientData", -1, id="insufficient"),
    ],
)
def test_drift_verdict(recorder: Recorder, verdict: str, expected: float) -> None:
    recorder.set_drift_verdict(NS, "fraud-drift", "fraud", verdict)  # type: ignore[arg-type]
    labels = {"namespace": NS, "policy": "fraud-drift", "deployment": "fraud"}
    assert value(recorder, "modelwarden_drift_verdict", **labels) == expected


def test_drift_statistic(recorder: Recorder) -> None:
    recorder.set_drift_statistic(NS, "fraud-drift", "amount", "psi", 0.27)
    labels = {"namespace": NS, "policy": "fraud-drift", "feature": "amount", "method": "psi"}
    assert value(recorder, "modelwarden_drift_statistic", **labels) == 0.27


def test_reconcile_duration(recorder: Recorder) -> None:
    recorder.observe_reconcile("ModelDeployment", 0.03)
    name = "modelwarden_reconcile_duration_seconds"
    assert value(recorder, f"{name}_count", kind="ModelDeployment") == 1
    assert value(recorder, f"{name}_bucket", kind="ModelDeployment", le="0.025") == 0
    assert value(recorder, f"{name}_bucket", kind="ModelDeployment", le="0.05") == 1


def test_forget_slot_drops_its_series_only(recorder: Recorder) -> None:
    for slot in ("fraud", "email"):
        recorder.set_phase(NS, slot, "Healthy")
        recorder.set_canary_weight(NS, slot, 5)
        recorder.set_analysis(NS, slot, "stable", samples=1, error_rate=0.0, latency_p99_ms=1.0)
        recorder.set_halted(NS, slot, True, "manual")
        recorder.record_alert(NS, slot, "warning")
        recorder.record_rollback(NS, slot)
    recorder.forget_slot(NS, "fraud")
    fraud = [
        s
        for m in recorder.registry.collect()
        for s in m.samples
        if s.labels.get("deployment") == "fraud"
    ]
    email = [
        s
        for m in recorder.registry.collect()
        for s in m.samples
        if s.labels.get("deployment") == "email"
    ]
    assert fraud == []
    assert email


def test_forget_policy_drops_verdict_statistics_and_jobs(recorder: Recorder) -> None:
    recorder.set_drift_verdict(NS, "fraud-drift", "fraud", "Critical")
    recorder.set_drift_statistic(NS, "fraud-drift", "amount", "psi", 0.3)
    recorder.set_drift_statistic(NS, "other", "amount", "psi", 0.1)
    recorder.record_retrain_job(NS, "fraud-drift")
    recorder.forget_policy(NS, "fraud-drift", "fraud")
    left = [s for m in recorder.registry.collect() for s in m.samples if "policy" in s.labels]
    assert {s.labels["policy"] for s in left} == {"other"}
