"""Increase of the missing rate over the reference.

The rate counts every unusable value (missing *or* invalid) over all rows.  The statistic is
``rate_cur − rate_ref``; the p-value is the one-sided two-proportion z-test with pooled
variance (is the current rate *higher*?).

>>> increase, p = missing_increase(10, 1000, 10, 1000)
>>> increase, p
(0.0, 0.5)
"""

from __future__ import annotations

import math

from scipy import stats

from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.stats.base import CheckSpec, Score, Statistic
from modelwarden.drift.stats.binned import lookup
from modelwarden.drift.summary import WindowSummary


def missing_increase(ref_bad: int, ref_n: int, cur_bad: int, cur_n: int) -> tuple[float, float]:
    """``(increase, one_sided_p_value)``."""
    p_ref, p_cur = ref_bad / ref_n, cur_bad / cur_n
    pooled = (ref_bad + cur_bad) / (ref_n + cur_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / ref_n + 1 / cur_n))
    if se == 0:
        return p_cur - p_ref, 0.5 if p_cur == p_ref else 0.0
    return p_cur - p_ref, float(stats.norm.sf((p_cur - p_ref) / se))


class MissingRate(Statistic):
    """Missing-rate increase of any feature."""

    name = "missing"
    label = "Missing-rate increase"
    kinds = ("missing", "data")

    def score(self, profile: ReferenceProfile, summary: WindowSummary, spec: CheckSpec) -> Score:
        found = lookup(profile, summary, spec.feature)
        if found is None:
            return Score.insufficient("no such feature in this profile")
        feature, counter = found
        ref_bad = feature.missing + feature.invalid
        cur_bad = counter.missing + counter.invalid
        cur_n = counter.valid + cur_bad
        if not feature.n or not cur_n:
            return Score(float("nan"), None, feature.n, cur_n)
        increase, p = missing_increase(ref_bad, feature.n, cur_bad, cur_n)
        return Score(increase, p, feature.n, cur_n, f"(now {cur_bad / cur_n:.1%} missing)")
