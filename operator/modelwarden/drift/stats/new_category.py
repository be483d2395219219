"""Share of current values that the reference never produced (the other/new bucket).

The statistic is ``share_cur(other/new) − share_ref(other)``: the reference's own "other"
share (its long tail beyond ``max_categories``) is subtracted so a truncated profile does not
alarm on rare-but-known values.  The message lists up to 20 new values.

>>> import numpy as np
>>> new_share(np.array([90, 10, 0]), np.array([80, 10, 10]))
0.1
"""

from __future__ import annotations

from modelwarden.drift.counts import CategoricalCounts
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.stats.base import CheckSpec, Score, Statistic
from modelwarden.drift.stats.binned import coarse_pair
from modelwarden.drift.summary import WindowSummary
from modelwarden.drift.values import IntArray


def new_share(reference: IntArray, current: IntArray) -> float:
    """Increase of the last (other/new) bucket's share."""
    ref = reference[-1] / max(int(reference.sum()), 1)
    cur = current[-1] / max(int(current.sum()), 1)
    return round(float(cur - ref), 12)


class NewCategory(Statistic):
    """New-category share of a categorical feature."""

    name = "new_category"
    label = "New-category share"
    kinds = ("data", "prediction")

    def score(self, profile: ReferenceProfile, summary: WindowSummary, spec: CheckSpec) -> Score:
        pair = coarse_pair(profile, summary, spec.feature)
        counter = summary.features.get(spec.feature or "")
        if pair is None or not isinstance(counter, CategoricalCounts):
            return Score.insufficient("new-category detection needs a categorical feature")
        names = ", ".join(counter.new_names)
        detail = f"(new: {names})" if names else ""
        n_ref, n_cur = int(pair.reference.sum()), int(pair.current.sum())
        return Score(new_share(pair.reference, pair.current), None, n_ref, n_cur, detail)
