"""Jensen–Shannon distance on the coarse bins (base-2 logarithm, so it lies in [0, 1]).

``JS = sqrt(½ KL(p‖m) + ½ KL(q‖m))`` with ``m = (p + q) / 2``; ``0·log 0 = 0`` so empty bins
need no epsilon (``m > 0`` wherever ``p`` or ``q`` is).

>>> js_distance(np.array([1, 0]), np.array([0, 1]))
1.0
"""

from __future__ import annotations

import numpy as np

from modelwarden.drift.stats.binned import CoarseDistance
from modelwarden.drift.values import FloatArray, IntArray


def _kl(a: FloatArray, b: FloatArray) -> float:
    mask = a > 0
    return float(np.sum(a[mask] * np.log2(a[mask] / b[mask])))


def js_distance(reference: IntArray, current: IntArray) -> float:
    """Jensen–Shannon distance between two count vectors over the same bins."""
    p = reference / max(int(reference.sum()), 1)
    q = current / max(int(current.sum()), 1)
    m = (p + q) / 2
    return float(np.sqrt(max(0.5 * _kl(p, m) + 0.5 * _kl(q, m), 0.0)))


class JensenShannon(CoarseDistance):
    """Jensen–Shannon distance of a binned or categorical feature."""

    name = "js"
    label = "JS distance"
    kinds = ("data", "prediction")

    distance = staticmethod(js_distance)
