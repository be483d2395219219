"""Seeded benchmark data shared by bench/drift_bench.py and the Evidently runner.

100 numeric + 20 categorical features; the current sample drifts on every tenth numeric
feature (mean shift) and every fifth categorical one (a new dominant value), so both tools do
real work on drifted and stable columns.  Depends on numpy and pandas only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_NUMERIC = 100
N_CATEGORICAL = 20
CATEGORIES = np.array([f"cat_{i:02d}" for i in range(12)])


def make(rows: int, *, current: bool, seed: int) -> pd.DataFrame:
    """One frame of the benchmark data set."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(N_NUMERIC):
        shift = 0.5 if current and i % 10 == 0 else 0.0
        data[f"num_{i:03d}"] = rng.normal(shift + i % 7, 1.0 + i % 3, rows)
    weights = np.linspace(1.0, 3.0, len(CATEGORIES))
    weights /= weights.sum()
    for i in range(N_CATEGORICAL):
        p = weights
        if current and i % 5 == 0:
            p = np.roll(weights, 4)
        data[f"cat_{i:02d}"] = rng.choice(CATEGORIES, size=rows, p=p)
    return pd.DataFrame(data)


def reference(rows: int = 100_000) -> pd.DataFrame:
    """The reference frame."""
    return make(rows, current=False, seed=1)


def current(rows: int = 100_000) -> pd.DataFrame:
    """The current frame."""
    return make(rows, current=True, seed=2)
