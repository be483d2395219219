"""Judging: severities, the minimum-sample guard, corrections, messages, SLO detector."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from modelwarden.drift.build import build_profile
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.report import CheckSpec, default_specs, evaluate
from modelwarden.drift.schema import parse_schema
from modelwarden.drift.slo import SLOState, step
from modelwarden.drift.stats.base import Score, adjust, judge
from modelwarden.drift.summary import WindowSummary

PSI = CheckSpec("data", "x", "psi", 0.1, 0.25)


def window(profile: ReferenceProfile, columns: dict[str, Any]) -> WindowSummary:
    summary = WindowSummary.empty(profile)
    summary.add_columns(columns)
    return summary


@pytest.mark.parametrize(
    ("statistic", "p_value", "spec", "severity", "threshold"),
    [
        pytest.param(0.05, None, PSI, "Ok", 0.1, id="ok"),
        pytest.param(0.1, None, PSI, "Warning", 0.1, id="warn"),
        pytest.param(0.3, None, PSI, "Critical", 0.25, id="crit"),
        pytest.param(
            0.3, 0.2, CheckSpec("data", "x", "ks", 0.1, 0.2, p_value=0.05), "Ok", 0.2,
            id="large-but-not-significant",
        ),
        pytest.param(
            0.3, 0.001, CheckSpec("data", "x", "ks", 0.1, 0.2, p_value=0.05), "Critical", 0.2,
            id="large-and-significant",
        ),
        pytest.param(
            5.0, 0.001, CheckSpec("data", "x", "chi2", p_value=0.01), "Critical", 0.01,
            id="p-value-only",
        ),
        pytest.param(
            5.0, 0.02, CheckSpec("data", "x", "chi2", p_value=0.01), "Ok", 0.01,
            id="p-value-only-ok",
        ),
    ],
)  # fmt: skip
def test_severity_rules(
    statistic: float, p_value: float | None, spec: CheckSpec, severity: str, threshold: float
) -> None:
    result = judge(spec, "X", True, Score(statistic, p_value, 1_000, 1_000), None)
    assert (result.severity, result.threshold) == (severity, threshold)


@pytest.mark.parametrize(
    ("statistic", "severity"),
    [pytest.param(0.9, "Ok", id="fair"), pytest.param(0.7, "Warning", id="unfair"),
     pytest.param(0.5, "Critical", id="very-unfair")],
)  # fmt: skip
def test_lower_is_worse_for_ratios(statistic: float, severity: str) -> None:
    spec = CheckSpec("fairness", "g", "disparate_impact_ratio", 0.8, 0.6)
    result = judge(
        spec, "DI", False, Score(statistic, None, 0, 500, reference_required=False), None
    )
    assert result.severity == severity


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "reference_required", "severity"),
    [
        pytest.param(1_000, 99, True, "InsufficientData", id="few-current"),
        pytest.param(99, 1_000, True, "InsufficientData", id="few-reference"),
        pytest.param(0, 1_000, False, "Critical", id="reference-not-needed"),
    ],
)
def test_min_sample_guard(n_ref: int, n_cur: int, reference_required: bool, severity: str) -> None:
    spec = CheckSpec("data", "x", "psi", 0.1, 0.25, min_samples=100)
    score = Score(9.0, None, n_ref, n_cur, reference_required=reference_required)
    assert judge(spec, "PSI", True, score, None).severity == severity


def test_message_reads_as_words() -> None:
    spec = CheckSpec("data", "amount", "psi", 0.1, 0.25)
    result = judge(spec, "PSI", True, Score(0.31, None, 50_000, 12_400), None)
    assert result.message == "PSI of amount 0.31 ≥ critical 0.25 over 12,400 samples"


def test_tiny_window_never_alarms() -> None:
    rng = np.random.default_rng(0)
    profile = build_profile({"x": rng.normal(size=5_000), "c": rng.choice(["a", "b"], 5_000)})
    results = evaluate(profile, window(profile, {"x": [50.0] * 20, "c": ["z"] * 20}),
                       default_specs(profile))  # fmt: skip
    assert {r.severity for r in results} == {"InsufficientData"}


def test_same_distribution_raises_no_alarm() -> None:
    rng = np.random.default_rng(42)
    columns = {f"x{i}": rng.normal(size=20_000) for i in range(20)}
    columns |= {f"c{i}": rng.choice(["a", "b", "c"], 20_000).tolist() for i in range(10)}
    profile = build_profile(columns)
    current = {f"x{i}": rng.normal(size=5_000) for i in range(20)}
    current |= {f"c{i}": rng.choice(["a", "b", "c"], 5_000).tolist() for i in range(10)}
    results = evaluate(profile, window(profile, current), default_specs(profile))
    assert [r.message for r in results if r.severity != "Ok"] == []


@pytest.mark.parametrize(
    ("correction", "significant"),
    [
        pytest.param("none", 3, id="none"),
        pytest.param("bh", 2, id="benjamini-hochberg"),
        pytest.param("bonferroni", 1, id="bonferroni"),
    ],
)
def test_multiple_testing_correction(correction: str, significant: int) -> None:
    raw = [0.001, 0.02, 0.04, 0.5, 0.9]
    assert sum(p <= 0.05 for p in adjust(raw, correction)) == significant  # type: ignore[arg-type]


def test_evaluate_corrects_within_a_method_family() -> None:
    rng = np.random.default_rng(9)
    columns = {f"x{i}": rng.normal(size=20_000) for i in range(30)}
    profile = build_profile(columns)
    current = {f"x{i}": rng.normal(0.06 if i == 0 else 0.0, 1, 20_000) for i in range(30)}
    specs = [CheckSpec("data", f"x{i}", "chi2", p_value=0.05) for i in range(30)]
    summary = window(profile, current)
    alarms = {
        correction: [r.feature for r in evaluate(profile, summary, specs, correction)
                     if r.severity == "Critical"]
        for correction in ("none", "bonferroni")
    }  # fmt: skip
    assert alarms["bonferroni"] == ["x0"]
    assert set(alarms["bonferroni"]) <= set(alarms["none"])


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        pytest.param(CheckSpec("data", "x", "nope"), "unknown method", id="unknown"),
        pytest.param(CheckSpec("performance", None, "psi"), "does not serve", id="wrong-kind"),
    ],
)
def test_bad_specs_are_rejected(spec: CheckSpec, error: str) -> None:
    profile = build_profile({"x": np.arange(10.0)})
    with pytest.raises(ValueError, match=error):
        evaluate(profile, WindowSummary.empty(profile), [spec])


def test_unknown_feature_is_insufficient_data() -> None:
    profile = build_profile({"x": np.arange(200.0)})
    [result] = evaluate(profile, window(profile, {"x": np.arange(200.0)}),
                        [CheckSpec("data", "missing_col", "psi", 0.1, 0.2)])  # fmt: skip
    assert result.severity == "InsufficientData"


def test_performance_decay_against_baseline() -> None:
    rng = np.random.default_rng(4)
    schema = parse_schema({"features": {"s": "prediction", "y": "label"}})
    score = rng.random(5_000)
    profile = build_profile({"s": score, "y": (rng.random(5_000) < score).astype(int)}, schema)
    noisy = rng.random(2_000)
    current = {"s": noisy, "y": (rng.random(2_000) < 0.5).astype(int)}
    [auc] = evaluate(profile, window(profile, current),
                     [CheckSpec("performance", None, "auc", 0.05, 0.1)])  # fmt: skip
    assert auc.severity == "Critical"
    assert auc.statistic is not None
    assert auc.statistic > 0.2


@pytest.mark.parametrize(
    ("values", "window_size", "consecutive", "alarms"),
    [
        pytest.param([0.95, 0.85, 0.95], 1, 1, [False, True, False], id="single-breach"),
        pytest.param([0.95, 0.85, 0.95], 1, 2, [False, False, False], id="needs-two"),
        pytest.param([0.8, 0.8, 0.8], 1, 2, [False, True, True], id="sustained"),
        pytest.param([0.99, 0.85, 0.85, 0.99], 3, 1, [False, False, True, True], id="rolling-mean"),
    ],
)
def test_slo_breach_detector(
    values: list[float], window_size: int, consecutive: int, alarms: list[bool]
) -> None:
    state, seen = SLOState(), []
    for value in values:
        state, alarm = step(state, value, objective=0.9, window=window_size,
                            consecutive=consecutive, higher_is_better=True)  # fmt: skip
        seen.append(alarm)
    assert seen == alarms
    assert len(state.recent) <= window_size
