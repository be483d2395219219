"""Shared builders for the drift tests: seeded data, profiles and summaries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from modelwarden.drift.schema import Schema, parse_schema

Columns = dict[str, Any]


def _classification(rng: np.random.Generator, n: int, shift: float = 0.0) -> Columns:
    """A scored binary classifier with a protected attribute whose groups differ."""
    group = rng.choice(np.array(["a", "b", "c"]), size=n, p=[0.5, 0.3, 0.2])
    logit = rng.normal(size=n) + shift + np.where(group == "b", 0.7, 0.0)
    score = 1.0 / (1.0 + np.exp(-logit))
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-(logit - shift)))).astype(np.int64)
    return {"x": rng.normal(shift, 1.0, n), "g": group.tolist(), "score": score, "y": label}


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


@pytest.fixture
def classification() -> Callable[..., Columns]:
    return _classification


@pytest.fixture
def classification_schema() -> Schema:
    return parse_schema(
        {
            "features": {"x": "numeric", "g": "categorical", "score": "prediction", "y": "label"},
            "protected": ["g"],
        }
    )
