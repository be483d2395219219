"""Fixed-size, mergeable per-feature counters that a window summary is made of.

Each counter has ``add`` (mutating, for ingest), ``merged`` (pure) and a compact dict form.
Sizes depend only on the reference profile, never on the number of rows seen.

>>> c = NumericCounts.empty(3)
>>> c.add(np.array([0.0, 1.0]), np.array([0.5, 2.0, -1.0]), 1, 0)
>>> c.counts.tolist(), c.missing, c.lo, c.hi
([1, 1, 1], 1, -1.0, 2.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelwarden.drift.values import FloatArray, IntArray

#: How many distinct never-seen category names a summary remembers (the smallest ones, so
#: merging stays associative and commutative).
NEW_NAMES_KEPT = 20


def _ints(values: Any) -> IntArray:
    return np.asarray(values, dtype=np.int64)


def grid_counts(ordered: FloatArray, grid: FloatArray) -> IntArray:
    """Counts of sorted ``ordered`` in the bins ``(grid[i-1], grid[i]]``, open at both ends.

    >>> grid_counts(np.array([-1.0, 0.0, 0.5, 2.0]), np.array([0.0, 1.0])).tolist()
    [2, 1, 1]
    """
    at_or_below = np.searchsorted(ordered, grid, side="right")
    return np.diff(at_or_below, prepend=0, append=ordered.size).astype(np.int64)


@dataclass
class NumericCounts:
    """Counts per reference grid bin plus missing/invalid counts and the observed range."""

    counts: IntArray
    missing: int = 0
    invalid: int = 0
    lo: float = math.inf
    hi: float = -math.inf

    @classmethod
    def empty(cls, bins: int) -> NumericCounts:
        """Zero counts for ``bins`` grid bins."""
        return cls(np.zeros(bins, dtype=np.int64))

    @property
    def valid(self) -> int:
        """Number of usable values counted."""
        return int(self.counts.sum())

    def add(self, grid: FloatArray, values: FloatArray, missing: int, invalid: int) -> None:
        """Count valid values into the bins ``(grid[i-1], grid[i]]`` (open at both ends).

        Sorting the batch and locating the ~100 cut points in it is several times faster than
        locating every value among the cut points.
        """
        if values.size:
            ordered = np.sort(values)
            self.counts += grid_counts(ordered, grid)
            self.lo = min(self.lo, float(ordered[0]))
            self.hi = max(self.hi, float(ordered[-1]))
        self.missing += missing
        self.invalid += invalid

    def merged(self, other: NumericCounts) -> NumericCounts:
        """Counts of both windows."""
        return NumericCounts(
            self.counts + other.counts,
            self.missing + other.missing,
            self.invalid + other.invalid,
            min(self.lo, other.lo),
            max(self.hi, other.hi),
        )

    def to_dict(self) -> dict[str, Any]:
        """Compact form; an empty range is written as nulls (JSON has no infinity)."""
        empty = self.lo > self.hi
        return {
            "k": "n",
            "c": self.counts.tolist(),
            "m": self.missing,
            "i": self.invalid,
            "lo": None if empty else self.lo,
            "hi": None if empty else self.hi,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> NumericCounts:
        """Inverse of :meth:`to_dict`."""
        lo = math.inf if raw["lo"] is None else float(raw["lo"])
        hi = -math.inf if raw["hi"] is None else float(raw["hi"])
        return cls(_ints(raw["c"]), int(raw["m"]), int(raw["i"]), lo, hi)


@dataclass
class CategoricalCounts:
    """Counts per reference category; the last slot is the "other/new" bucket.

    ``new_names`` keeps the lexicographically smallest :data:`NEW_NAMES_KEPT` values that
    fell into the other/new bucket, for the new-category message.
    """

    counts: IntArray
    missing: int = 0
    invalid: int = 0
    new_names: tuple[str, ...] = ()

    @classmethod
    def empty(cls, categories: int) -> CategoricalCounts:
        """Zero counts for ``categories`` known categories plus other/new."""
        return cls(np.zeros(categories + 1, dtype=np.int64))

    @property
    def valid(self) -> int:
        """Number of usable values counted."""
        return int(self.counts.sum())

    def add(self, codes: IntArray, missing: int, invalid: int, new: set[str]) -> None:
        """Count category codes (``len(categories)`` for other/new)."""
        if codes.size:
            self.counts += np.bincount(codes, minlength=self.counts.size)
        self.missing += missing
        self.invalid += invalid
        if new:
            self.new_names = tuple(sorted(set(self.new_names) | new)[:NEW_NAMES_KEPT])

    def merged(self, other: CategoricalCounts) -> CategoricalCounts:
        """Counts of both windows."""
        names = tuple(sorted(set(self.new_names) | set(other.new_names))[:NEW_NAMES_KEPT])
        return CategoricalCounts(
            self.counts + other.counts,
            self.missing + other.missing,
            self.invalid + other.invalid,
            names,
        )

    def to_dict(self) -> dict[str, Any]:
        """Compact form."""
        return {
            "k": "c",
            "c": self.counts.tolist(),
            "m": self.missing,
            "i": self.invalid,
            "new": list(self.new_names),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CategoricalCounts:
        """Inverse of :meth:`to_dict`."""
        return cls(_ints(raw["c"]), int(raw["m"]), int(raw["i"]), tuple(raw.get("new", ())))


@dataclass
class EmbeddingSums:
    """Running sum of embedding vectors, so the window mean is ``total / count``."""

    total: FloatArray
    count: int = 0
    missing: int = 0
    invalid: int = 0

    @classmethod
    def empty(cls, dim: int) -> EmbeddingSums:
        """Zero sums for vectors of ``dim`` components."""
        return cls(np.zeros(dim, dtype=np.float64))

    @property
    def valid(self) -> int:
        """Number of usable vectors counted."""
        return self.count

    def add(self, vectors: FloatArray, missing: int, invalid: int) -> None:
        """Add valid vectors (rows of ``vectors``)."""
        if vectors.shape[0]:
            self.total += vectors.sum(axis=0)
            self.count += vectors.shape[0]
        self.missing += missing
        self.invalid += invalid

    def merged(self, other: EmbeddingSums) -> EmbeddingSums:
        """Sums of both windows."""
        return EmbeddingSums(
            self.total + other.total,
            self.count + other.count,
            self.missing + other.missing,
            self.invalid + other.invalid,
        )

    def to_dict(self) -> dict[str, Any]:
        """Compact form."""
        return {
            "k": "e",
            "s": self.total.tolist(),
            "n": self.count,
            "m": self.missing,
            "i": self.invalid,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> EmbeddingSums:
        """Inverse of :meth:`to_dict`."""
        total = np.asarray(raw["s"], dtype=np.float64)
        return cls(total, int(raw["n"]), int(raw["m"]), int(raw["i"]))


FeatureCounts = NumericCounts | CategoricalCounts | EmbeddingSums


def counts_from_dict(raw: dict[str, Any]) -> FeatureCounts:
    """Rebuild whichever counter ``raw["k"]`` names."""
    kinds: dict[str, Any] = {"n": NumericCounts, "c": CategoricalCounts, "e": EmbeddingSums}
    counter: FeatureCounts = kinds[raw["k"]].from_dict(raw)
    return counter
