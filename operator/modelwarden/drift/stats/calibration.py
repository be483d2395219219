"""Calibration of predicted probabilities: ECE and Brier score.

ECE uses 10 equal-width bins on ``[0, 1]`` (bin ``b`` holds scores in ``[b/10, (b+1)/10)``,
1.0 in the last bin; scores are clipped to ``[0, 1]``):
``ECE = Σ_b (n_b / N) · |pos_b / n_b − mean_score_b| = Σ_b |pos_b − Σ score_b| / N``.
Brier is ``mean((score − y)²)``.  Both are absolute values: thresholds say how bad is bad.

>>> expected_calibration_error(np.array([10, 10]), np.array([1, 9]), np.array([1.0, 9.0]))
0.0
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.stats.base import CheckSpec, Score, Statistic
from modelwarden.drift.summary import WindowSummary
from modelwarden.drift.values import FloatArray, IntArray


def expected_calibration_error(
    count: IntArray, positives: IntArray, score_sum: FloatArray
) -> float:
    """ECE from per-bin counts, positives and score sums."""
    total = int(count.sum())
    if not total:
        return float("nan")
    return float(np.sum(np.abs(positives - score_sum)) / total)


def brier(squared_error_sum: float, n: int) -> float:
    """Mean squared error of the probability."""
    return squared_error_sum / n if n else float("nan")


class _Calibration(Statistic):
    kinds = ("calibration",)

    @abstractmethod
    def _value(self, summary: WindowSummary) -> float:
        """The metric of the window's labelled rows."""

    def score(self, profile: ReferenceProfile, summary: WindowSummary, spec: CheckSpec) -> Score:
        if summary.outcome is None or profile.outcome is None or profile.outcome.label is None:
            return Score.insufficient("needs prediction and label columns")
        outcome = summary.outcome
        baseline = profile.outcome.baseline.get(self.name)
        detail = f"(reference {baseline:.3f})" if baseline is not None else ""
        return Score(
            self._value(summary),
            None,
            profile.outcome.n_labelled,
            outcome.labelled,
            detail,
            reference_required=False,
        )


class ECE(_Calibration):
    """Expected calibration error of the window."""

    name = "ece"
    label = "ECE"

    def _value(self, summary: WindowSummary) -> float:
        assert summary.outcome is not None
        o = summary.outcome
        return expected_calibration_error(o.cal_n, o.cal_pos, o.cal_sum)


class Brier(_Calibration):
    """Brier score of the window."""

    name = "brier"
    label = "Brier score"

    def _value(self, summary: WindowSummary) -> float:
        assert summary.outcome is not None
        return brier(summary.outcome.brier_sum, summary.outcome.labelled)
