"""The window summary: fixed-size, mergeable counts of live traffic in the reference's bins.

A sidecar keeps one summary per window, ships ``to_dict()`` to the operator, and the operator
merges windows and runs the statistics on them.  Memory depends on the profile only (bins,
categories, embedding size), never on the number of rows.  Bad input never raises: values
that are absent (``None``/NaN/missing key) count as *missing*, values present but unusable
(``inf``, text in a numeric column, vectors of the wrong size) as *invalid*, unknown columns
in ``unknown_values`` and rows that are not mappings in ``bad_rows``.

>>> from modelwarden.drift.build import build_profile
>>> profile = build_profile({"amount": np.arange(100.0), "country": ["FR", "DE"] * 50})
>>> a = WindowSummary.empty(profile)
>>> a.add_columns({"amount": np.array([1.0, 2.0, np.inf]), "country": ["FR", None, "XX"]})
>>> b = WindowSummary.empty(profile)
>>> b.add_rows([{"amount": "oops", "country": "DE", "extra": 1}, "not a row"])
>>> both = a.merge(b)
>>> both.n_rows, both.features["amount"].invalid, both.unknown_values, both.bad_rows
(4, 2, 1, 1)
>>> both.features["country"].new_names
('XX',)
>>> WindowSummary.from_dict(both.to_dict()) == both
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np

from modelwarden.drift.counts import (
    CategoricalCounts,
    EmbeddingSums,
    FeatureCounts,
    NumericCounts,
    counts_from_dict,
)
from modelwarden.drift.outcome import OutcomeCounts
from modelwarden.drift.profile import FeatureProfile, ReferenceProfile
from modelwarden.drift.values import (
    BoolArray,
    FloatArray,
    IntArray,
    category_key,
    to_float,
    to_vectors,
)

FORMAT_VERSION = 1
_MISSING = -2
_NEW = -1
_INVALID = -3
_CONTAINERS = (list, tuple, dict, set, np.ndarray)
#: stands in for every value of a "column" that is not a sequence: invalid for every type
_UNUSABLE: tuple[()] = ()


@dataclass(frozen=True)
class _Ingested:
    """Per-row view of one feature of a batch, kept for the outcome counters."""

    valid: BoolArray
    values: FloatArray | None = None
    codes: IntArray | None = None


def _is_column(value: Any) -> bool:
    """Sequences of values count as columns; strings, mappings and scalars do not."""
    return hasattr(value, "__len__") and not isinstance(value, str | bytes | Mapping)


def _as_column(value: Any, n: int) -> Sequence[Any] | np.ndarray[Any, Any] | None:
    """The column padded with missing values to ``n`` rows; ``None`` if it is no sequence."""
    if not _is_column(value):
        return None
    if len(value) == n:
        return value if isinstance(value, np.ndarray | list | tuple) else list(value)
    items = value.tolist() if isinstance(value, np.ndarray) else list(value)
    return items + [None] * (n - len(items))


def _index(feature: FeatureProfile) -> dict[str, int]:
    return {category: i for i, category in enumerate(feature.categories)}


def _encode(
    column: Sequence[Any] | np.ndarray[Any, Any], index: dict[str, int], other: int
) -> tuple[IntArray, set[str]]:
    """Category codes: known index, ``other`` for new values, negative for missing/invalid."""
    items = column.tolist() if isinstance(column, np.ndarray) else column
    lookup: dict[str | None, int] = {None: _MISSING}
    lookup.update(index)
    get = lookup.get
    try:
        # C-level fast path; keys are str so other types never match and go the slow path
        codes = np.fromiter(map(get, items, repeat(_NEW)), dtype=np.int64, count=len(items))
    except TypeError:  # an unhashable value somewhere
        codes = np.full(len(items), _NEW, dtype=np.int64)
    new: set[str] = set()
    memo: dict[tuple[type, Any], int] = {}
    for i in np.flatnonzero(codes == _NEW).tolist():
        value = items[i]
        if isinstance(value, _CONTAINERS):
            codes[i] = _INVALID
            continue
        try:
            memo_key = (type(value), value)
            code = memo.get(memo_key, _NEW)
        except TypeError:
            memo_key, code = None, _NEW
        if code == _NEW:
            key = category_key(value)
            code = _MISSING if key is None else get(key, other)
            if code == other and key is not None:
                new.add(key)
            if memo_key is not None and key is not None:
                memo[memo_key] = code
        codes[i] = code
    return codes, new


@dataclass(eq=False)
class WindowSummary:
    """Mergeable counts of one window of traffic (see the module docstring)."""

    profile_id: str
    n_rows: int
    features: dict[str, FeatureCounts]
    outcome: OutcomeCounts | None = None
    unknown_values: int = 0
    bad_rows: int = 0
    profile: ReferenceProfile | None = field(default=None, repr=False)

    @classmethod
    def empty(cls, profile: ReferenceProfile) -> WindowSummary:
        """A zero summary whose bins come from ``profile``."""
        features: dict[str, FeatureCounts] = {}
        for name, f in profile.features.items():
            if f.is_numeric:
                features[name] = NumericCounts.empty(len(f.grid) + 1)
            elif f.is_categorical:
                features[name] = CategoricalCounts.empty(len(f.categories))
            else:
                features[name] = EmbeddingSums.empty(f.dim)
        outcome = None
        if profile.outcome is not None:
            pred = profile.features[profile.outcome.prediction]
            buckets = len(pred.grid) + 1 if pred.is_numeric else 2
            groups = {a: len(profile.features[a].categories) for a in profile.outcome.protected}
            outcome = OutcomeCounts.empty(buckets, groups)
        return cls(profile.profile_id, 0, features, outcome, profile=profile)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WindowSummary) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    # ---------------------------------------------------------------- ingest
    def add_columns(self, columns: Mapping[str, Any]) -> None:
        """Count a batch given column-wise (the fast, vectorised path).

        A batch that is not a mapping counts as one bad row.  Only a summary loaded without
        its profile raises (``RuntimeError``: it has no bins to count into).
        """
        if self.profile is None:
            raise RuntimeError("this summary was loaded without its profile; it can only merge")
        if not isinstance(columns, Mapping):
            self.bad_rows += 1
            return
        lengths = [len(v) for v in columns.values() if _is_column(v)]
        n = max(lengths, default=0)
        if n == 0:
            return
        self.n_rows += n
        ingested: dict[str, _Ingested] = {}
        for name, value in columns.items():
            if name not in self.features:
                self.unknown_values += len(value) if hasattr(value, "__len__") else 1
        for name, feature in self.profile.features.items():
            if name in columns:
                ingested[name] = self._add_feature(feature, _as_column(columns[name], n), n)
            else:
                ingested[name] = self._add_absent(feature, n)
        if self.outcome is not None and self.profile.outcome is not None:
            self._add_outcome(ingested)

    def add_rows(self, rows: Iterable[Any]) -> None:
        """Count row dicts; a convenience wrapper over :meth:`add_columns`.

        A single mapping is taken as one row; anything else that is not iterable as one bad row.
        """
        if isinstance(rows, Mapping):
            rows = [rows]
        elif not isinstance(rows, Iterable) or isinstance(rows, str | bytes):
            self.bad_rows += 1
            return
        good = []
        for row in rows:
            if isinstance(row, Mapping):
                good.append(row)
                self.unknown_values += sum(1 for k in row if k not in self.features)
            else:
                self.bad_rows += 1
        if good:
            self.add_columns({name: [r.get(name) for r in good] for name in self.features})

    def _add_absent(self, feature: FeatureProfile, n: int) -> _Ingested:
        """A column the batch does not have: ``n`` missing values."""
        self.features[feature.name].missing += n
        nowhere = np.zeros(n, np.bool_)
        if feature.is_numeric:
            return _Ingested(nowhere, values=np.zeros(n))
        return _Ingested(nowhere, codes=np.full(n, _MISSING, dtype=np.int64))

    def _add_feature(self, feature: FeatureProfile, column: Any, n: int) -> _Ingested:
        counter = self.features[feature.name]
        if column is None:
            column = [_UNUSABLE] * n
        if isinstance(counter, NumericCounts):
            values, missing, invalid = to_float(column)
            valid = ~(missing | invalid)
            grid = np.asarray(feature.grid, dtype=np.float64)
            counter.add(grid, values[valid], int(missing.sum()), int(invalid.sum()))
            return _Ingested(valid, values=values)
        if isinstance(counter, CategoricalCounts):
            other = len(feature.categories)
            codes, new = _encode(column, _index(feature), other)
            valid = codes >= 0
            absent, unusable = int((codes == _MISSING).sum()), int((codes == _INVALID).sum())
            counter.add(codes[valid], absent, unusable, new)
            return _Ingested(valid, codes=codes)
        vectors, missing, invalid = to_vectors(column, feature.dim)
        valid = ~(missing | invalid)
        counter.add(vectors[valid], int(missing.sum()), int(invalid.sum()))
        return _Ingested(valid)

    def _add_outcome(self, ingested: dict[str, _Ingested]) -> None:
        assert self.profile is not None
        assert self.profile.outcome is not None
        assert self.outcome is not None
        spec = self.profile.outcome
        pred_profile = self.profile.features[spec.prediction]
        pred = ingested[spec.prediction]
        if pred.values is not None:
            score = pred.values
            yhat = score >= spec.threshold
            bucket = np.searchsorted(np.asarray(pred_profile.grid), score, side="left")
        else:
            assert pred.codes is not None
            positive = _index(pred_profile).get(spec.positive_label, _MISSING)
            yhat = pred.codes == positive
            score = yhat.astype(np.float64)
            bucket = yhat.astype(np.int64)
        if spec.label is not None:
            label = ingested[spec.label]
            label_profile = self.profile.features[spec.label]
            assert label.codes is not None
            y = label.codes == _index(label_profile).get(spec.positive_label, _MISSING)
            labelled = label.valid
        else:
            y = labelled = np.zeros(score.size, np.bool_)
        groups: dict[str, IntArray] = {}
        for attribute in spec.protected:
            codes = ingested[attribute].codes
            assert codes is not None
            missing_slot = len(self.profile.features[attribute].categories) + 1
            groups[attribute] = np.where(codes >= 0, codes, missing_slot)
        v = pred.valid
        self.outcome.add(
            score[v],
            yhat=yhat[v],
            bucket=bucket[v],
            labelled=labelled[v],
            y=y[v],
            groups={a: c[v] for a, c in groups.items()},
        )

    # ---------------------------------------------------------------- combine
    def merge(self, other: WindowSummary) -> WindowSummary:
        """Summary of both windows' rows; neither input changes."""
        if other.profile_id != self.profile_id:
            raise ValueError(
                f"cannot merge summaries of different profiles "
                f"({self.profile_id} vs {other.profile_id})"
            )
        features = {
            name: counter.merged(other.features[name])  # type: ignore[arg-type]
            for name, counter in self.features.items()
        }
        outcome = None
        if self.outcome is not None and other.outcome is not None:
            outcome = self.outcome.merged(other.outcome)
        return WindowSummary(
            self.profile_id,
            self.n_rows + other.n_rows,
            features,
            outcome,
            self.unknown_values + other.unknown_values,
            self.bad_rows + other.bad_rows,
            self.profile or other.profile,
        )

    # ---------------------------------------------------------------- wire format
    def to_dict(self) -> dict[str, Any]:
        """Compact JSON-able form for the sidecar → operator path."""
        return {
            "v": FORMAT_VERSION,
            "profile": self.profile_id,
            "rows": self.n_rows,
            "unknown": self.unknown_values,
            "bad_rows": self.bad_rows,
            "features": {name: c.to_dict() for name, c in self.features.items()},
            "outcome": self.outcome.to_dict() if self.outcome else None,
        }

    @classmethod
    def from_dict(
        cls, raw: Mapping[str, Any], profile: ReferenceProfile | None = None
    ) -> WindowSummary:
        """Inverse of :meth:`to_dict`; pass ``profile`` to keep adding rows to it."""
        if raw.get("v") != FORMAT_VERSION:
            raise ValueError(
                f"window summary version {raw.get('v')!r} unsupported (expected {FORMAT_VERSION})"
            )
        if profile is not None and profile.profile_id != raw["profile"]:
            raise ValueError("window summary was built for another profile")
        outcome = OutcomeCounts.from_dict(raw["outcome"]) if raw.get("outcome") else None
        return cls(
            str(raw["profile"]),
            int(raw["rows"]),
            {name: counts_from_dict(c) for name, c in raw["features"].items()},
            outcome,
            int(raw.get("unknown", 0)),
            int(raw.get("bad_rows", 0)),
            profile,
        )
