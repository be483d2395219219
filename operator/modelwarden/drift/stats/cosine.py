"""Cosine distance between the reference and current mean embedding.

``1 − (μ_ref · μ_cur) / (‖μ_ref‖ ‖μ_cur‖)``, in [0, 2]; 0 when the mean direction is
unchanged.  Means are mergeable (running sums), so this works from summaries exactly.

>>> cosine_distance(np.array([1.0, 0.0]), np.array([0.0, 2.0]))
1.0
"""

from __future__ import annotations

import numpy as np

from modelwarden.drift.counts import EmbeddingSums
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.stats.base import CheckSpec, Score, Statistic
from modelwarden.drift.stats.binned import lookup
from modelwarden.drift.summary import WindowSummary
from modelwarden.drift.values import FloatArray


def cosine_distance(a: FloatArray, b: FloatArray) -> float:
    """Cosine distance of two vectors; NaN if either is zero."""
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norm == 0:
        return float("nan")
    return float(1.0 - np.dot(a, b) / norm)


class Cosine(Statistic):
    """Mean-embedding cosine distance."""

    name = "cosine"
    label = "Cosine distance"
    kinds = ("data", "prediction")

    def score(self, profile: ReferenceProfile, summary: WindowSummary, spec: CheckSpec) -> Score:
        found = lookup(profile, summary, spec.feature)
        if found is None or not found[0].dim:
            return Score.insufficient("cosine distance needs an embedding feature")
        feature, sums = found
        assert isinstance(sums, EmbeddingSums)
        if not sums.count:
            return Score(float("nan"), None, feature.valid, 0)
        mean = sums.total / sums.count
        distance = cosine_distance(np.asarray(feature.mean_vector), mean)
        return Score(distance, None, feature.valid, sums.count)
