"""Build a reference profile from training columns.

Bins are chosen first (quantile or fixed-width edges, the KS grid, the top categories), then
the reference itself is counted with the sidecar's own code — numeric columns with
:func:`~modelwarden.drift.counts.grid_counts` on the array already sorted for the quantiles,
everything else with a :class:`WindowSummary` — so reference and current counts can never
disagree about bin boundaries.  Cut points
are rounded to 7 significant digits before counting (smaller JSON; counts stay exact because
they are taken on the rounded cut points).

>>> p = build_profile({"x": np.arange(1000.0), "c": ["a"] * 900 + ["b"] * 100})
>>> p.features["x"].type.value, len(p.features["x"].edges), p.features["c"].categories
('numeric', 9, ('a', 'b'))
>>> p.features["x"].coarse_counts().tolist()
[100, 100, 100, 100, 100, 100, 100, 100, 100, 100]
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelwarden.drift.counts import CategoricalCounts, EmbeddingSums, NumericCounts, grid_counts
from modelwarden.drift.profile import FeatureProfile, OutcomeProfile, ReferenceProfile
from modelwarden.drift.schema import FeatureSpec, FeatureType, Schema, SchemaError
from modelwarden.drift.stats.performance import baseline_metrics
from modelwarden.drift.summary import WindowSummary
from modelwarden.drift.values import FloatArray, category_key, is_missing, to_float

SIGNIFICANT_DIGITS = 7


def _round(values: FloatArray) -> tuple[float, ...]:
    rounded = {float(f"{v:.{SIGNIFICANT_DIGITS}g}") for v in values.tolist()}
    return tuple(sorted(rounded))


def _first_present(column: Any) -> Any:
    return next((v for v in column if not is_missing(v)), None)


def infer_schema(columns: Mapping[str, Any]) -> Schema:
    """Numbers → numeric, sequences of numbers → embedding, anything else → categorical."""
    features: dict[str, FeatureSpec] = {}
    for name, column in columns.items():
        array = np.asarray(column) if isinstance(column, np.ndarray) else None
        if array is not None and array.ndim == 2:
            kind = FeatureType.EMBEDDING
        elif array is not None and array.dtype.kind in "fiu":
            kind = FeatureType.NUMERIC
        else:
            first = _first_present(column)
            if isinstance(first, list | tuple | np.ndarray):
                kind = FeatureType.EMBEDDING
            elif isinstance(first, int | float | np.number) and not isinstance(first, bool):
                kind = FeatureType.NUMERIC
            else:
                kind = FeatureType.CATEGORICAL
        features[name] = FeatureSpec(kind)
    return Schema(features)


def _sorted_quantiles(ordered: FloatArray, q: FloatArray) -> FloatArray:
    """``np.quantile(..., method="linear")`` of already sorted values, without re-sorting."""
    position = q * (ordered.size - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, ordered.size - 1)
    fraction = position - below
    return np.asarray(ordered[below] * (1 - fraction) + ordered[above] * fraction)


def _numeric_bins(
    name: str, spec: FeatureSpec, column: Any, ks_grid: int, n: int
) -> FeatureProfile:
    """Bins and reference counts of a numeric column (sorted once for both)."""
    raw, missing, invalid = to_float(column)
    values = np.sort(raw[~(missing | invalid)])
    empty = FeatureProfile(
        name, spec.type, n, int(missing.sum()) + n - raw.size, int(invalid.sum()), grid_counts=(0,)
    )
    if not values.size:
        return empty
    lo, hi = float(values[0]), float(values[-1])
    if isinstance(spec.bins, tuple):
        edges = np.asarray(spec.bins)
    elif spec.binning == "uniform":
        edges = np.linspace(lo, hi, spec.bins + 1)[1:-1]
    else:
        edges = _sorted_quantiles(values, np.linspace(0.0, 1.0, spec.bins + 1)[1:-1])
    rounded_edges = _round(edges)
    quantiles = _sorted_quantiles(values, np.linspace(0.0, 1.0, ks_grid + 1))
    grid = _round(np.concatenate([quantiles, np.asarray(rounded_edges)]))
    return dataclasses.replace(
        empty,
        edges=rounded_edges,
        grid=grid,
        grid_counts=tuple(grid_counts(values, np.asarray(grid)).tolist()),
        mean=float(values.mean()),
        std=float(values.std()),
        minimum=lo,
        maximum=hi,
    )


def _categorical_bins(name: str, spec: FeatureSpec, column: Any) -> FeatureProfile:
    items = column.tolist() if isinstance(column, np.ndarray) else list(column)
    try:
        raw = Counter(items)  # C-speed counting of the raw values, keyed afterwards
    except TypeError:  # unhashable values: key them one by one
        raw = Counter(map(_safe_key, items))
    counts: Counter[str] = Counter()
    for value, count in raw.items():
        key = _safe_key(value)
        if key is not None:
            counts[key] += count
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: spec.max_categories]
    return FeatureProfile(
        name, spec.type, categories=tuple(k for k, _ in top), category_counts=(0,)
    )


def _safe_key(value: Any) -> str | None:
    if isinstance(value, list | tuple | dict | set | np.ndarray):
        return None
    return category_key(value)


def _embedding_bins(name: str, spec: FeatureSpec, column: Any) -> FeatureProfile:
    first = _first_present(column)
    try:
        dim = len(first) if first is not None else 0
    except TypeError:
        dim = 0
    return FeatureProfile(name, spec.type, dim=dim)


def _is_numeric_column(column: Any) -> bool:
    _, missing, invalid = to_float(column)
    return not invalid.any() and not missing.all()


def _bins(name: str, spec: FeatureSpec, column: Any, ks_grid: int, n: int) -> FeatureProfile:
    numeric = spec.type is FeatureType.NUMERIC or (
        spec.type is FeatureType.PREDICTION and _is_numeric_column(column)
    )
    if numeric:
        return _numeric_bins(name, spec, column, ks_grid, n)
    if spec.type is FeatureType.EMBEDDING:
        return _embedding_bins(name, spec, column)
    return _categorical_bins(name, spec, column)


def _with_counts(feature: FeatureProfile, summary: WindowSummary) -> FeatureProfile:
    counter = summary.features[feature.name]
    counted = dataclasses.replace(
        feature, n=summary.n_rows, missing=counter.missing, invalid=counter.invalid
    )
    if isinstance(counter, NumericCounts):
        return dataclasses.replace(counted, grid_counts=tuple(counter.counts.tolist()))
    if isinstance(counter, CategoricalCounts):
        return dataclasses.replace(counted, category_counts=tuple(counter.counts.tolist()))
    assert isinstance(counter, EmbeddingSums)
    mean = counter.total / counter.count if counter.count else counter.total
    vector = tuple(float(f"{v:.6g}") for v in mean.tolist())
    return dataclasses.replace(counted, mean_vector=vector)


def build_profile(columns: Mapping[str, Any], schema: Schema | None = None) -> ReferenceProfile:
    """Profile the reference ``columns`` (name → sequence, equal lengths)."""
    schema = schema or infer_schema(columns)
    n = max((len(c) for c in columns.values()), default=0)
    for attribute in schema.protected:
        if schema.features[attribute].type is not FeatureType.CATEGORICAL:
            raise SchemaError(f"schema.protected: {attribute!r} must be categorical")
    bins = {
        name: _bins(name, spec, columns.get(name, [None] * n), schema.ks_grid, n)
        for name, spec in schema.features.items()
    }
    outcome = None
    if schema.prediction is not None:
        outcome = OutcomeProfile(
            schema.prediction,
            schema.label,
            schema.positive_label,
            schema.threshold,
            schema.protected,
        )
    # numeric features are already counted; the summary counts the rest and the outcome
    unfilled = ReferenceProfile(bins, n, outcome)
    summary = WindowSummary.empty(unfilled)
    outcome_columns = {schema.prediction, schema.label, *schema.protected}
    recount = [k for k, f in bins.items() if not f.is_numeric or k in outcome_columns]
    summary.add_columns({k: columns[k] for k in recount if k in columns})
    summary.n_rows = n
    features = {k: _with_counts(f, summary) if k in recount else f for k, f in bins.items()}
    if outcome is not None and summary.outcome is not None and schema.label is not None:
        outcome = dataclasses.replace(
            outcome,
            baseline=baseline_metrics(summary.outcome),
            n_labelled=summary.outcome.labelled,
        )
    return ReferenceProfile(features, n, outcome)
