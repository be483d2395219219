"""Population Stability Index on the coarse bins.

``PSI = Σ_i (q_i − p_i) · ln(q_i / p_i)`` with ``p`` the reference and ``q`` the current
proportions.  Empty bins would make the logarithm infinite, so proportions are floored at
:data:`EPSILON` (= 1e-4) before the sum; every term stays ``>= 0`` because ``q − p`` and
``ln(q/p)`` share their sign.  Rules of thumb: < 0.1 stable, 0.1–0.25 moderate, > 0.25 major.

>>> psi(np.array([50, 50]), np.array([50, 50]))
0.0
>>> round(psi(np.array([90, 10]), np.array([50, 50])), 4)
0.8789
"""

from __future__ import annotations

import numpy as np

from modelwarden.drift.stats.binned import CoarseDistance
from modelwarden.drift.values import IntArray

EPSILON = 1e-4


def psi(reference: IntArray, current: IntArray, epsilon: float = EPSILON) -> float:
    """PSI of two count vectors over the same bins."""
    p = np.maximum(reference / max(int(reference.sum()), 1), epsilon)
    q = np.maximum(current / max(int(current.sum()), 1), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


class PSI(CoarseDistance):
    """PSI of a numeric or categorical feature."""

    name = "psi"
    label = "PSI"
    kinds = ("data", "prediction")

    distance = staticmethod(psi)
