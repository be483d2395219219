"""Every statistic against an independent implementation on seeded data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fairlearn import metrics as fl
from scipy import stats
from scipy.spatial import distance
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from modelwarden.drift.build import build_profile
from modelwarden.drift.counts import CategoricalCounts, NumericCounts
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.report import CheckSpec, evaluate
from modelwarden.drift.schema import Schema
from modelwarden.drift.stats.calibration import expected_calibration_error
from modelwarden.drift.stats.chi2 import chi2_homogeneity
from modelwarden.drift.stats.cosine import cosine_distance
from modelwarden.drift.stats.js import js_distance
from modelwarden.drift.stats.ks import ks_from_grid, ks_from_samples, ks_p_value
from modelwarden.drift.stats.missing import missing_increase
from modelwarden.drift.stats.performance import auc_from_buckets, metrics
from modelwarden.drift.stats.psi import EPSILON, psi
from modelwarden.drift.stats.wasserstein import wasserstein_from_grid
from modelwarden.drift.summary import WindowSummary

SEED = 7

DISTRIBUTIONS = [
    pytest.param(lambda r, n: r.normal(0, 1, n), lambda r, n: r.normal(0, 1, n), id="same-normal"),
    pytest.param(lambda r, n: r.normal(0, 1, n), lambda r, n: r.normal(0.3, 1, n), id="mean-shift"),
    pytest.param(lambda r, n: r.normal(0, 1, n), lambda r, n: r.normal(0, 2, n), id="scale-change"),
    pytest.param(lambda r, n: r.exponential(1, n), lambda r, n: r.exponential(1.5, n), id="skewed"),
    pytest.param(
        lambda r, n: r.integers(0, 5, n).astype(float),
        lambda r, n: r.integers(0, 7, n).astype(float),
        id="discrete-with-new-values",
    ),
    pytest.param(lambda r, n: r.normal(0, 1, n), lambda r, n: r.normal(5, 1, n), id="disjoint"),
]

Draw = Callable[[np.random.Generator, int], Any]


def _grid_pair(reference: np.ndarray, current: np.ndarray) -> tuple[Any, NumericCounts]:
    profile = build_profile({"x": reference})
    window = WindowSummary.empty(profile)
    window.add_columns({"x": current})
    counts = window.features["x"]
    assert isinstance(counts, NumericCounts)
    return profile.features["x"], counts


@pytest.mark.parametrize(("draw_ref", "draw_cur"), DISTRIBUTIONS)
def test_ks_from_grid_brackets_scipy(draw_ref: Draw, draw_cur: Draw) -> None:
    rng = np.random.default_rng(SEED)
    reference, current = draw_ref(rng, 20_000), draw_cur(rng, 5_000)
    feature, counts = _grid_pair(reference, current)
    d_grid, _, bound = ks_from_grid(np.asarray(feature.grid_counts), counts.counts)
    exact = stats.ks_2samp(reference, current).statistic
    assert d_grid <= exact + 1e-12
    assert exact <= d_grid + bound + 1e-12


@pytest.mark.parametrize(
    ("n", "m", "shift", "tolerance"),
    [
        pytest.param(20_000, 15_000, 0.02, 1e-9, id="kstwo-regime"),
        pytest.param(11_000, 30_000, 0.02, 1e-9, id="kstwo-unequal"),
        pytest.param(40_000, 60_000, 0.0, 0.015, id="limit-regime-null"),
        pytest.param(40_000, 60_000, 0.02, 0.015, id="limit-regime-shifted"),
    ],
)
def test_ks_p_value_matches_scipy_asymptotic(
    n: int, m: int, shift: float, tolerance: float
) -> None:
    rng = np.random.default_rng(SEED)
    a, b = rng.normal(size=n), rng.normal(shift, 1, m)
    expected = stats.ks_2samp(a, b, method="asymp")
    p = ks_p_value(float(expected.statistic), n, m)
    assert p == pytest.approx(expected.pvalue, rel=tolerance)


@pytest.mark.parametrize(
    ("n", "m", "shift"),
    [
        pytest.param(300, 500, 0.0, id="small-same"),
        pytest.param(300, 500, 0.3, id="small-shifted"),
        pytest.param(2_000, 2_000, 0.1, id="equal-sizes"),
        pytest.param(20_000, 5_000, 0.05, id="asymptotic"),
    ],
)
def test_ks_from_grid_p_value_is_scipy_auto_on_discrete_data(n: int, m: int, shift: float) -> None:
    # integer values all sit on grid points, so D_grid is the exact statistic
    rng = np.random.default_rng(SEED)
    reference = rng.binomial(8, 0.5, n).astype(float)
    current = rng.binomial(8, 0.5 + shift / 4, m).astype(float)
    feature, counts = _grid_pair(reference, current)
    d, p, _ = ks_from_grid(np.asarray(feature.grid_counts), counts.counts)
    expected = stats.ks_2samp(reference, current)
    assert d == pytest.approx(expected.statistic)
    assert p == pytest.approx(expected.pvalue, rel=1e-6)


@pytest.mark.parametrize(
    ("n", "m"),
    [pytest.param(300, 500, id="exact-regime"), pytest.param(20_000, 12_000, id="asymp-regime")],
)
def test_ks_from_samples_is_scipy_auto(n: int, m: int) -> None:
    rng = np.random.default_rng(SEED)
    a, b = rng.normal(size=n), rng.normal(0.1, 1, m)
    expected = stats.ks_2samp(a, b)
    assert ks_from_samples(a, b) == (
        pytest.approx(expected.statistic),
        pytest.approx(expected.pvalue),
    )


@pytest.mark.parametrize(("draw_ref", "draw_cur"), DISTRIBUTIONS)
def test_wasserstein_from_grid_within_bound_of_scipy(draw_ref: Draw, draw_cur: Draw) -> None:
    rng = np.random.default_rng(SEED)
    reference, current = draw_ref(rng, 20_000), draw_cur(rng, 5_000)
    feature, counts = _grid_pair(reference, current)
    low, high = min(feature.minimum, counts.lo), max(feature.maximum, counts.hi)
    w1, bound = wasserstein_from_grid(
        feature.grid, np.asarray(feature.grid_counts), counts.counts, low, high
    )
    assert abs(w1 - stats.wasserstein_distance(reference, current)) <= bound + 1e-9


COUNT_PAIRS = [
    pytest.param([100, 200, 300, 400], [100, 200, 300, 400], id="identical"),
    pytest.param([100, 200, 300, 400], [400, 300, 200, 100], id="reversed"),
    pytest.param([500, 0, 250, 250], [100, 50, 0, 850], id="empty-bins"),
    pytest.param([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1], id="ten-bins"),
    pytest.param([10_000, 3], [9_000, 1_003], id="rare-bin-grows"),
]


@pytest.mark.parametrize(("ref", "cur"), COUNT_PAIRS)
def test_chi2_is_scipy_contingency_without_correction(ref: list[int], cur: list[int]) -> None:
    table = np.array([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    expected = stats.chi2_contingency(table, correction=False)
    stat, p, dof = chi2_homogeneity(np.array(ref), np.array(cur))
    assert (stat, p, dof) == (
        pytest.approx(expected.statistic),
        pytest.approx(expected.pvalue),
        expected.dof,
    )


@pytest.mark.parametrize(("ref", "cur"), COUNT_PAIRS)
def test_js_is_scipy_jensenshannon_base2(ref: list[int], cur: list[int]) -> None:
    p, q = np.array(ref) / sum(ref), np.array(cur) / sum(cur)
    expected = distance.jensenshannon(p, q, base=2)
    assert js_distance(np.array(ref), np.array(cur)) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("ref", "cur"), COUNT_PAIRS)
def test_psi_matches_textbook_formula(ref: list[int], cur: list[int]) -> None:
    total_ref, total_cur = sum(ref), sum(cur)
    expected = 0.0
    for r, c in zip(ref, cur, strict=True):
        p, q = max(r / total_ref, EPSILON), max(c / total_cur, EPSILON)
        expected += (q - p) * np.log(q / p)
    assert psi(np.array(ref), np.array(cur)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], id="same"),
        pytest.param([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], id="orthogonal"),
        pytest.param([1.0, 2.0, 3.0], [-1.0, -2.0, -3.0], id="opposite"),
        pytest.param([0.3, -0.2, 0.9], [0.1, 0.4, 0.7], id="generic"),
    ],
)
def test_cosine_is_scipy_cosine(a: list[float], b: list[float]) -> None:
    assert cosine_distance(np.array(a), np.array(b)) == pytest.approx(
        distance.cosine(a, b), abs=1e-12
    )


def test_embedding_check_uses_mean_vectors(rng: np.random.Generator) -> None:
    reference = rng.normal(1.0, 1.0, size=(3_000, 6))
    current = rng.normal(1.0, 1.0, size=(2_000, 6)) + np.array([2.0, 0, 0, 0, 0, 0])
    profile = build_profile({"emb": reference})
    window = WindowSummary.empty(profile)
    window.add_columns({"emb": list(current)})
    [result] = evaluate(profile, window, [CheckSpec("data", "emb", "cosine", 0.05, 0.1)])
    expected = distance.cosine(reference.mean(axis=0), current.mean(axis=0))
    assert result.statistic == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(
    ("ref_bad", "ref_n", "cur_bad", "cur_n"),
    [
        pytest.param(50, 10_000, 80, 5_000, id="increase"),
        pytest.param(500, 10_000, 300, 5_000, id="small-increase"),
        pytest.param(10, 1_000, 30, 1_000, id="threefold"),
    ],
)
def test_missing_p_value_is_half_two_sided_chi2(
    ref_bad: int, ref_n: int, cur_bad: int, cur_n: int
) -> None:
    table = [[ref_bad, ref_n - ref_bad], [cur_bad, cur_n - cur_bad]]
    two_sided = stats.chi2_contingency(table, correction=False).pvalue
    increase, p = missing_increase(ref_bad, ref_n, cur_bad, cur_n)
    assert increase == pytest.approx(cur_bad / cur_n - ref_bad / ref_n)
    assert p == pytest.approx(two_sided / 2)


def _classifier(
    classification: Callable[..., dict[str, Any]], schema: Schema, shift: float
) -> tuple[ReferenceProfile, WindowSummary, dict[str, Any]]:
    rng = np.random.default_rng(SEED)
    profile = build_profile(classification(rng, 20_000), schema)
    current = classification(rng, 8_000, shift)
    window = WindowSummary.empty(profile)
    window.add_columns(current)
    return profile, window, current


@pytest.mark.parametrize("shift", [pytest.param(0.0, id="stable"), pytest.param(1.0, id="shifted")])
def test_performance_metrics_match_sklearn(
    classification: Callable[..., dict[str, Any]], classification_schema: Schema, shift: float
) -> None:
    _, window, current = _classifier(classification, classification_schema, shift)
    assert window.outcome is not None
    y, score = current["y"], current["score"]
    y_pred = (score >= 0.5).astype(int)
    ours = metrics(window.outcome)
    assert ours["accuracy"] == pytest.approx(skm.accuracy_score(y, y_pred))
    assert ours["precision"] == pytest.approx(skm.precision_score(y, y_pred))
    assert ours["recall"] == pytest.approx(skm.recall_score(y, y_pred))
    assert ours["f1"] == pytest.approx(skm.f1_score(y, y_pred))
    pos, neg = window.outcome.auc_pos, window.outcome.auc_neg
    tie_bound = 0.5 * float(np.sum(pos * neg)) / (pos.sum() * neg.sum())
    assert abs(ours["auc"] - skm.roc_auc_score(y, score)) <= tie_bound
    labelled = window.outcome.labelled
    assert window.outcome.brier_sum / labelled == pytest.approx(skm.brier_score_loss(y, score))


def test_auc_is_exact_for_class_predictions() -> None:
    y = np.array([0, 0, 1, 1, 1, 0, 1, 0])
    y_pred = np.array([0, 1, 1, 1, 0, 0, 1, 0])
    pos = np.bincount(y_pred[y == 1], minlength=2)
    neg = np.bincount(y_pred[y == 0], minlength=2)
    assert auc_from_buckets(pos, neg) == pytest.approx(skm.roc_auc_score(y, y_pred))


def test_ece_matches_calibration_curve(
    classification: Callable[..., dict[str, Any]], classification_schema: Schema
) -> None:
    _, window, current = _classifier(classification, classification_schema, 0.5)
    assert window.outcome is not None
    y, score = current["y"], current["score"]
    prob_true, prob_pred = calibration_curve(y, score, n_bins=10, strategy="uniform")
    counts = np.histogram(score, bins=np.linspace(0, 1, 11))[0]
    expected = float(np.sum(counts[counts > 0] * np.abs(prob_true - prob_pred)) / len(y))
    o = window.outcome
    assert expected_calibration_error(o.cal_n, o.cal_pos, o.cal_sum) == pytest.approx(expected)


FAIRNESS = [
    pytest.param("demographic_parity_difference", fl.demographic_parity_difference, id="dpd"),
    pytest.param("disparate_impact_ratio", fl.demographic_parity_ratio, id="dir"),
    pytest.param("equal_opportunity_difference", fl.equal_opportunity_difference, id="eod"),
    pytest.param("equalized_odds_difference", fl.equalized_odds_difference, id="eqodds"),
]


@pytest.mark.parametrize(("method", "oracle"), FAIRNESS)
def test_fairness_matches_fairlearn(
    classification: Callable[..., dict[str, Any]],
    classification_schema: Schema,
    method: str,
    oracle: Callable[..., float],
) -> None:
    profile, window, current = _classifier(classification, classification_schema, 0.3)
    y_pred = (current["score"] >= 0.5).astype(int)
    expected = oracle(current["y"], y_pred, sensitive_features=current["g"])
    [result] = evaluate(profile, window, [CheckSpec("fairness", "g", method, min_samples=50)])
    assert result.statistic == pytest.approx(expected)


def test_categorical_counts_match_value_counts(rng: np.random.Generator) -> None:
    reference = rng.choice(np.array(["a", "b", "c", "d"]), size=5_000).tolist()
    current = rng.choice(np.array(["a", "b", "e"]), size=3_000).tolist()
    profile = build_profile({"c": reference})
    window = WindowSummary.empty(profile)
    window.add_columns({"c": current})
    counts = window.features["c"]
    assert isinstance(counts, CategoricalCounts)
    expected = [current.count(c) for c in profile.features["c"].categories] + [current.count("e")]
    assert counts.counts.tolist() == expected
    assert counts.new_names == ("e",)
