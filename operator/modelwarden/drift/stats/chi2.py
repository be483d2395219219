"""Chi-squared test of homogeneity on the 2×K table of reference and current counts.

Both rows are *samples*: the reference counts are not a known population distribution, they
were estimated from a finite training set.  A goodness-of-fit test would treat the reference
proportions as exact and overstate significance; the homogeneity test asks whether the two
samples come from the same distribution, with expected counts
``E_rk = row_r · col_k / N`` and ``K' − 1`` degrees of freedom (``K'`` = bins not empty in
both rows).  No Yates correction (as ``scipy.stats.chi2_contingency(correction=False)``).

>>> stat, p, dof = chi2_homogeneity(np.array([30, 70]), np.array([30, 70]))
>>> stat, p, dof
(0.0, 1.0, 1)
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.stats.base import CheckSpec, Score, Statistic
from modelwarden.drift.stats.binned import coarse_pair
from modelwarden.drift.summary import WindowSummary
from modelwarden.drift.values import IntArray


def chi2_homogeneity(reference: IntArray, current: IntArray) -> tuple[float, float, int]:
    """``(statistic, p_value, degrees_of_freedom)``; 0, 1, 0 when fewer than two bins."""
    table = np.vstack([reference, current]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    dof = table.shape[1] - 1
    if dof < 1 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0, 0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return statistic, float(stats.chi2.sf(statistic, dof)), dof


class ChiSquared(Statistic):
    """Chi-squared homogeneity test of a binned or categorical feature."""

    name = "chi2"
    label = "Chi-squared"
    kinds = ("data", "prediction")

    def score(self, profile: ReferenceProfile, summary: WindowSummary, spec: CheckSpec) -> Score:
        pair = coarse_pair(profile, summary, spec.feature)
        if pair is None:
            return Score.insufficient("not a binned feature of this profile")
        stat, p, dof = chi2_homogeneity(pair.reference, pair.current)
        n_ref, n_cur = int(pair.reference.sum()), int(pair.current.sum())
        return Score(stat, p, n_ref, n_cur, f"({dof} dof)")
