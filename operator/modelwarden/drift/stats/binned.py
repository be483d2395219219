"""Reference and current counts of one feature, aligned bin for bin.

Numeric features use the coarse bins (default 10 reference quantiles, open-ended first and
last bins); categorical features use the reference categories plus the other/new bucket.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import numpy as np

from modelwarden.drift.counts import CategoricalCounts, EmbeddingSums, NumericCounts
from modelwarden.drift.profile import FeatureProfile, ReferenceProfile
from modelwarden.drift.stats.base import CheckSpec, Score, Statistic
from modelwarden.drift.summary import WindowSummary
from modelwarden.drift.values import IntArray


@dataclass(frozen=True)
class Pair:
    """Aligned counts; ``feature`` is the reference profile of the column."""

    feature: FeatureProfile
    reference: IntArray
    current: IntArray


def lookup(
    profile: ReferenceProfile, summary: WindowSummary, name: str | None
) -> tuple[FeatureProfile, NumericCounts | CategoricalCounts | EmbeddingSums] | None:
    """The feature's profile and current counter, or ``None`` if either is absent."""
    if name is None or name not in profile.features or name not in summary.features:
        return None
    return profile.features[name], summary.features[name]


def coarse_pair(profile: ReferenceProfile, summary: WindowSummary, name: str | None) -> Pair | None:
    """Coarse-bin (numeric) or per-category counts of both sides; ``None`` for embeddings."""
    found = lookup(profile, summary, name)
    if found is None:
        return None
    feature, counter = found
    if isinstance(counter, NumericCounts) and feature.is_numeric:
        return Pair(feature, feature.coarse_counts(), feature.coarse_counts(counter.counts))
    if isinstance(counter, CategoricalCounts) and feature.is_categorical:
        return Pair(feature, np.asarray(feature.category_counts, np.int64), counter.counts)
    return None


def grid_pair(profile: ReferenceProfile, summary: WindowSummary, name: str | None) -> Pair | None:
    """Fine-grid counts of both sides for numeric features, else ``None``."""
    found = lookup(profile, summary, name)
    if found is None:
        return None
    feature, counter = found
    if isinstance(counter, NumericCounts) and feature.is_numeric:
        return Pair(feature, np.asarray(feature.grid_counts, np.int64), counter.counts)
    return None


class CoarseDistance(Statistic):
    """A distance between the coarse-bin (or per-category) count vectors of both sides;
    subclasses give only :meth:`distance`."""

    @staticmethod
    @abstractmethod
    def distance(reference: IntArray, current: IntArray) -> float:
        """The statistic of two count vectors over the same bins."""

    def score(self, profile: ReferenceProfile, summary: WindowSummary, spec: CheckSpec) -> Score:
        pair = coarse_pair(profile, summary, spec.feature)
        if pair is None:
            return Score.insufficient("not a binned feature of this profile")
        n_ref, n_cur = int(pair.reference.sum()), int(pair.current.sum())
        return Score(self.distance(pair.reference, pair.current), None, n_ref, n_cur)
