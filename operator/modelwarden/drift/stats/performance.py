"""Performance from labelled feedback, and its decay against a baseline.

Metrics come from the window's confusion counts at the profile's threshold (exact):
accuracy ``(tp+tn)/n``, precision ``tp/(tp+fp)``, recall ``tp/(tp+fn)``, F1
``2tp/(2tp+fp+fn)`` (0 when the denominator is 0, as scikit-learn's ``zero_division=0``).
AUC is computed from the score buckets (the prediction's reference grid bins) as
``P(s⁺ > s⁻) + ½ P(same bucket)``; pairs sharing a bucket are counted as ties, so the error
is at most ``½ Σ_b pos_b·neg_b / (P·N)`` (exact for class predictions).

The check statistic is the *drop*: ``baseline − current`` (positive = worse), with the
baseline taken from the labelled reference data unless the spec sets one.

>>> auc_from_buckets(np.array([0, 0, 5]), np.array([5, 0, 0]))
1.0
"""

from __future__ import annotations

import numpy as np

from modelwarden.drift.outcome import OutcomeCounts
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.stats.base import CheckSpec, Score, Statistic
from modelwarden.drift.stats.calibration import brier, expected_calibration_error
from modelwarden.drift.summary import WindowSummary
from modelwarden.drift.values import IntArray


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def auc_from_buckets(positives: IntArray, negatives: IntArray) -> float:
    """ROC AUC from per-bucket positive/negative counts (buckets in ascending score)."""
    n_pos, n_neg = int(positives.sum()), int(negatives.sum())
    if not n_pos or not n_neg:
        return float("nan")
    below = np.cumsum(negatives) - negatives
    wins = float(np.sum(positives * below) + 0.5 * np.sum(positives * negatives))
    return wins / (n_pos * n_neg)


def metrics(outcome: OutcomeCounts) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and AUC of the labelled rows."""
    tp, fp, tn, fn = outcome.tp, outcome.fp, outcome.tn, outcome.fn
    return {
        "accuracy": _ratio(tp + tn, tp + fp + tn + fn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "auc": auc_from_buckets(outcome.auc_pos, outcome.auc_neg),
    }


def baseline_metrics(outcome: OutcomeCounts) -> dict[str, float]:
    """All performance and calibration metrics, for storing in the profile (finite only)."""
    values = metrics(outcome)
    values["ece"] = expected_calibration_error(outcome.cal_n, outcome.cal_pos, outcome.cal_sum)
    values["brier"] = brier(outcome.brier_sum, outcome.labelled)
    return {k: round(v, 6) for k, v in values.items() if np.isfinite(v)}


class PerformanceDrop(Statistic):
    """Baseline minus current value of one metric; subclasses only name the metric."""

    kinds = ("performance",)

    def score(self, profile: ReferenceProfile, summary: WindowSummary, spec: CheckSpec) -> Score:
        if summary.outcome is None or profile.outcome is None:
            return Score.insufficient("no prediction column in this profile")
        if profile.outcome.label is None:
            return Score.insufficient("no label column in this profile")
        baseline = spec.baseline
        if baseline is None:
            baseline = profile.outcome.baseline.get(self.name)
        if baseline is None:
            return Score.insufficient("no baseline: label the reference data or set baseline")
        current = metrics(summary.outcome)[self.name]
        return Score(
            baseline - current,
            None,
            profile.outcome.n_labelled,
            summary.outcome.labelled,
            f"({self.name} {current:.3f} vs baseline {baseline:.3f})",
            reference_required=spec.baseline is None,
        )


class AccuracyDrop(PerformanceDrop):
    """Accuracy decay."""

    name = "accuracy"
    label = "Accuracy drop"


class PrecisionDrop(PerformanceDrop):
    """Precision decay."""

    name = "precision"
    label = "Precision drop"


class RecallDrop(PerformanceDrop):
    """Recall decay."""

    name = "recall"
    label = "Recall drop"


class F1Drop(PerformanceDrop):
    """F1 decay."""

    name = "f1"
    label = "F1 drop"


class AUCDrop(PerformanceDrop):
    """ROC AUC decay."""

    name = "auc"
    label = "AUC drop"
