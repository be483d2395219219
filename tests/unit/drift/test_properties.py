"""Hypothesis properties: PSI sign, merge algebra, order invariance, garbage tolerance."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from modelwarden.drift.build import build_profile
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.report import default_specs, evaluate
from modelwarden.drift.schema import parse_schema
from modelwarden.drift.stats.psi import psi
from modelwarden.drift.summary import WindowSummary

_RNG = np.random.default_rng(3)
PROFILE: ReferenceProfile = build_profile(
    {
        "x": _RNG.normal(size=2_000),
        "c": _RNG.choice(np.array(["a", "b", "c"]), size=2_000).tolist(),
        "s": _RNG.random(2_000),
        "y": _RNG.integers(0, 2, 2_000),
        "e": _RNG.normal(size=(2_000, 3)),
    },
    parse_schema(
        {
            "features": {
                "x": "numeric",
                "c": "categorical",
                "s": "prediction",
                "y": "label",
                "e": "embedding",
            },
            "protected": ["c"],
        }
    ),
)

counts = st.lists(st.integers(0, 10_000), min_size=2, max_size=12)
values = st.floats(-1e6, 1e6, allow_nan=False)
row = st.fixed_dictionaries(
    {
        "x": st.one_of(values, st.none()),
        "c": st.sampled_from(["a", "b", "c", "new", None]),
        "s": st.floats(0, 1),
        "y": st.sampled_from([0, 1, None]),
        "e": st.lists(st.floats(-5, 5), min_size=3, max_size=3),
    }
)
rows = st.lists(row, max_size=30)


def summary_of(batch: list[dict[str, Any]]) -> WindowSummary:
    summary = WindowSummary.empty(PROFILE)
    summary.add_rows(batch)
    return summary


def close(a: WindowSummary, b: WindowSummary) -> bool:
    """Equal counts; float sums (embeddings, Brier, score sums) equal up to rounding."""
    da, db = json.dumps(a.to_dict(), sort_keys=True), json.dumps(b.to_dict(), sort_keys=True)
    if da == db:
        return True
    fa, fb = _flatten(a.to_dict()), _flatten(b.to_dict())
    return fa.keys() == fb.keys() and all(_same(fa[k], fb[k]) for k in fa)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}"))
        return out
    if isinstance(value, list) and value and not isinstance(value[0], str):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


@given(counts)
def test_psi_of_identical_distributions_is_zero(c: list[int]) -> None:
    assert psi(np.array(c), np.array(c)) == 0.0


@given(counts, counts)
def test_psi_is_never_negative(a: list[int], b: list[int]) -> None:
    size = min(len(a), len(b))
    assert psi(np.array(a[:size]), np.array(b[:size])) >= 0.0


@given(rows, rows, rows)
@settings(max_examples=40, deadline=None)
def test_merge_is_associative(a: list[Any], b: list[Any], c: list[Any]) -> None:
    sa, sb, sc = summary_of(a), summary_of(b), summary_of(c)
    assert close(sa.merge(sb).merge(sc), sa.merge(sb.merge(sc)))


@given(rows, rows)
@settings(max_examples=40, deadline=None)
def test_merge_is_commutative_and_equals_union(a: list[Any], b: list[Any]) -> None:
    sa, sb = summary_of(a), summary_of(b)
    assert close(sa.merge(sb), sb.merge(sa))
    assert close(sa.merge(sb), summary_of(a + b))


@given(rows, st.randoms(use_true_random=False))
@settings(max_examples=40, deadline=None)
def test_statistics_are_invariant_to_row_order(batch: list[Any], random: Any) -> None:
    shuffled = list(batch)
    random.shuffle(shuffled)
    specs = default_specs(PROFILE, min_samples=1)
    before = evaluate(PROFILE, summary_of(batch), specs)
    after = evaluate(PROFILE, summary_of(shuffled), specs)
    for x, y in zip(before, after, strict=True):
        assert x.severity == y.severity
        assert (x.statistic is None) == (y.statistic is None)
        if x.statistic is not None and y.statistic is not None:
            assert math.isclose(x.statistic, y.statistic, rel_tol=1e-9, abs_tol=1e-9)


anything = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=5),
        st.binary(max_size=5),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=6,
)


@given(
    st.lists(
        st.one_of(
            anything, st.dictionaries(st.sampled_from(["x", "c", "s", "y", "e", "zz"]), anything)
        ),
        max_size=20,
    )
)
@settings(max_examples=100, deadline=None)
def test_add_rows_never_raises_and_counts_every_row(batch: list[Any]) -> None:
    summary = summary_of(batch)
    good = sum(isinstance(r, dict) for r in batch)
    assert summary.n_rows + summary.bad_rows == len(batch)
    assert summary.n_rows == good
    for counter in summary.features.values():
        assert counter.valid + counter.missing + counter.invalid == good
    json.dumps(summary.to_dict(), allow_nan=False)


@given(
    st.dictionaries(
        st.sampled_from(["x", "c", "s", "y", "e", "zz"]),
        st.one_of(anything, st.lists(anything, max_size=6)),
        max_size=6,
    )
)
@settings(max_examples=100, deadline=None)
def test_add_columns_never_raises(columns: dict[str, Any]) -> None:
    summary = WindowSummary.empty(PROFILE)
    summary.add_columns(columns)
    for counter in summary.features.values():
        assert counter.valid + counter.missing + counter.invalid == summary.n_rows


def test_size_does_not_grow_with_rows() -> None:
    rng = np.random.default_rng(0)
    small, large = WindowSummary.empty(PROFILE), WindowSummary.empty(PROFILE)
    for summary, n in ((small, 10_000), (large, 1_000_000)):
        summary.add_columns(
            {
                "x": rng.normal(size=n),
                "c": rng.choice(np.array(["a", "b", "zz"]), size=n),
                "s": rng.random(n),
                "y": rng.integers(0, 2, n),
            }
        )
    assert large.n_rows == 100 * small.n_rows
    assert _shapes(small.to_dict()) == _shapes(large.to_dict())


def _shapes(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shapes(v) for k, v in value.items()}
    if isinstance(value, list):
        return len(value)
    return type(value).__name__


@given(anything)
@settings(max_examples=50, deadline=None)
def test_batches_that_are_not_batches_are_counted_not_raised(batch: Any) -> None:
    summary = WindowSummary.empty(PROFILE)
    summary.add_columns(batch)
    summary.add_rows(batch)
    assert summary.bad_rows >= (0 if isinstance(batch, dict) else 1)
