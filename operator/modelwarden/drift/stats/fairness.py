"""Group fairness of predictions across the values of a protected attribute.

Groups are the attribute's reference categories plus other/new (rows with the attribute
missing are left out); only groups with at least ``min_samples`` rows (labelled positives for
the label-based metrics) take part, and fewer than two such groups is ``InsufficientData``.

* demographic parity difference: ``max_g P(ŷ=1|g) − min_g P(ŷ=1|g)``
* disparate impact ratio: ``min_g P(ŷ=1|g) / max_g P(ŷ=1|g)`` (lower is worse; the
  "four-fifths rule" flags < 0.8)
* equal opportunity difference: ``max_g TPR_g − min_g TPR_g``
* equalized odds difference: ``max(TPR range, FPR range)``

>>> rates = np.array([0.5, 0.25])
>>> float(rates.max() - rates.min()), float(rates.min() / rates.max())
(0.25, 0.5)
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from modelwarden.drift.outcome import GroupCounts
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.stats.base import CheckSpec, Score, Statistic
from modelwarden.drift.summary import WindowSummary
from modelwarden.drift.values import FloatArray, IntArray


def _rates(num: IntArray, den: IntArray, keep: IntArray) -> FloatArray:
    return np.asarray(num[keep] / den[keep], dtype=np.float64)


class _Fairness(Statistic):
    kinds = ("fairness",)

    def _sizes(self, groups: GroupCounts) -> IntArray:
        """Per-group sample size that must reach ``min_samples``."""
        return groups.n

    @abstractmethod
    def _value(self, groups: GroupCounts, keep: IntArray) -> float:
        """The metric over the kept group slots."""

    def score(self, profile: ReferenceProfile, summary: WindowSummary, spec: CheckSpec) -> Score:
        outcome = summary.outcome
        if outcome is None or spec.feature not in outcome.groups:
            return Score.insufficient(f"{spec.feature!r} is not a protected attribute")
        groups = outcome.groups[spec.feature]
        size = self._sizes(groups)
        eligible = np.flatnonzero(size[:-1] >= spec.min_samples)
        if eligible.size < 2:
            return Score.insufficient(f"fewer than two groups with ≥ {spec.min_samples} samples")
        n_current = int(size[eligible].min())
        detail = f"({eligible.size} groups)"
        return Score(self._value(groups, eligible), None, 0, n_current, detail, False)


class DemographicParityDifference(_Fairness):
    """Largest gap in selection rate between groups."""

    name = "demographic_parity_difference"
    label = "Demographic parity difference"

    def _value(self, groups: GroupCounts, keep: IntArray) -> float:
        rates = _rates(groups.pred_pos, groups.n, keep)
        return float(rates.max() - rates.min())


class DisparateImpactRatio(_Fairness):
    """Smallest over largest selection rate; lower is worse."""

    name = "disparate_impact_ratio"
    label = "Disparate impact ratio"
    higher_is_worse = False

    def _value(self, groups: GroupCounts, keep: IntArray) -> float:
        rates = _rates(groups.pred_pos, groups.n, keep)
        return float(rates.min() / rates.max()) if rates.max() > 0 else 1.0


class EqualOpportunityDifference(_Fairness):
    """Largest gap in true-positive rate between groups."""

    name = "equal_opportunity_difference"
    label = "Equal opportunity difference"

    def _sizes(self, groups: GroupCounts) -> IntArray:
        return groups.label_pos

    def _value(self, groups: GroupCounts, keep: IntArray) -> float:
        tpr = _rates(groups.tp, groups.label_pos, keep)
        return float(tpr.max() - tpr.min())


class EqualizedOddsDifference(_Fairness):
    """Largest gap in either true- or false-positive rate between groups."""

    name = "equalized_odds_difference"
    label = "Equalized odds difference"

    def _sizes(self, groups: GroupCounts) -> IntArray:
        return np.asarray(np.minimum(groups.label_pos, groups.labelled - groups.label_pos))

    def _value(self, groups: GroupCounts, keep: IntArray) -> float:
        tpr = _rates(groups.tp, groups.label_pos, keep)
        fpr = _rates(groups.fp, groups.labelled - groups.label_pos, keep)
        return float(max(tpr.max() - tpr.min(), fpr.max() - fpr.min()))
