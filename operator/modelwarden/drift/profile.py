"""The reference profile: what "normal" looked like in the training data, small enough for a
ConfigMap.

Per feature it keeps the bins the window summaries count into and the reference counts in
those same bins, so every statistic compares like with like.  Numeric features carry two
sets of cut points: ``edges`` (the coarse bins PSI, chi-squared and JS use, default 10
quantile bins) and ``grid`` (about 100 reference quantiles, a superset of ``edges``, used for
KS and Wasserstein with a known error bound).  Bin ``i`` of a grid is ``(grid[i-1], grid[i]]``
with open ends, so there are ``len(grid) + 1`` counts; the first and last bins hold values
below/at the reference minimum and above the reference maximum.

The JSON format is versioned (``format``/``version`` keys); loading another version fails
with a message saying which versions are understood.

>>> f = FeatureProfile(name="x", type=FeatureType.NUMERIC, n=4, edges=(2.0,), grid=(1.0, 2.0, 4.0),
...                    grid_counts=(1, 1, 2, 0))
>>> f.coarse_counts().tolist()
[2, 2]
>>> p = ReferenceProfile(features={"x": f}, n_rows=4)
>>> ReferenceProfile.from_json(p.to_json()) == p
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from modelwarden.drift.profile_schema import ProfileDocument
from modelwarden.drift.schema import FeatureType
from modelwarden.drift.values import IntArray

__all__ = [
    "FORMAT",
    "VERSION",
    "FeatureProfile",
    "FeatureType",
    "OutcomeProfile",
    "ProfileFormatError",
    "ReferenceProfile",
]

FORMAT = "modelwarden.profile"
VERSION = 1


class ProfileFormatError(ValueError):
    """The profile document is not a profile this code can read."""


@dataclass(frozen=True)
class FeatureProfile:
    """Reference statistics of one column.

    ``n`` counts rows, ``missing``/``invalid`` the rows without a usable value.  Numeric
    (and numeric prediction) features fill ``edges``, ``grid``, ``grid_counts`` and the moments;
    categorical ones (labels, class predictions) ``categories`` and ``category_counts`` whose
    last entry is the "other/new" bucket; embeddings ``dim`` and ``mean_vector``.
    """

    name: str
    type: FeatureType
    n: int = 0
    missing: int = 0
    invalid: int = 0
    edges: tuple[float, ...] = ()
    grid: tuple[float, ...] = ()
    grid_counts: tuple[int, ...] = ()
    mean: float = 0.0
    std: float = 0.0
    minimum: float = 0.0
    maximum: float = 0.0
    categories: tuple[str, ...] = ()
    category_counts: tuple[int, ...] = ()
    dim: int = 0
    mean_vector: tuple[float, ...] = ()

    @property
    def is_numeric(self) -> bool:
        """Counted on a numeric grid (numeric features and score predictions)."""
        return bool(self.grid_counts)

    @property
    def is_categorical(self) -> bool:
        """Counted per category (categorical features, labels, class predictions)."""
        return bool(self.category_counts)

    @property
    def valid(self) -> int:
        """Rows with a usable value."""
        return self.n - self.missing - self.invalid

    def coarse_starts(self) -> IntArray:
        """Start index in the grid counts of each coarse bin, for ``np.add.reduceat``."""
        positions = np.searchsorted(np.asarray(self.grid), np.asarray(self.edges), side="left")
        return np.concatenate(([0], positions + 1)).astype(np.int64)

    def coarse_counts(self, grid_counts: IntArray | None = None) -> IntArray:
        """Fold grid counts (the reference's by default) into the coarse bins."""
        counts = np.asarray(self.grid_counts if grid_counts is None else grid_counts, np.int64)
        return np.add.reduceat(counts, self.coarse_starts()).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that matter for this type, to keep the document small."""
        full = asdict(self)
        full["type"] = self.type.value
        keep = {"name", "type", "n", "missing", "invalid"}
        if self.is_numeric:
            keep |= {"edges", "grid", "grid_counts", "mean", "std", "minimum", "maximum"}
        if self.is_categorical:
            keep |= {"categories", "category_counts"}
        if self.dim:
            keep |= {"dim", "mean_vector"}
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in full.items() if k in keep}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureProfile:
        """Inverse of :meth:`to_dict`."""
        data = dict(raw)
        data["type"] = FeatureType(data["type"])
        for key in ("edges", "grid", "mean_vector"):
            data[key] = tuple(float(v) for v in data.get(key, ()))
        for key in ("grid_counts", "category_counts"):
            data[key] = tuple(int(v) for v in data.get(key, ()))
        data["categories"] = tuple(str(v) for v in data.get("categories", ()))
        return cls(**data)


@dataclass(frozen=True)
class OutcomeProfile:
    """Which columns hold predictions, labels and group attributes, plus baseline metrics.

    ``baseline`` holds the reference value of each performance/calibration metric
    (accuracy, precision, recall, f1, auc, ece, brier) when the reference data is labelled.
    """

    prediction: str
    label: str | None = None
    positive_label: str = "1"
    threshold: float = 0.5
    protected: tuple[str, ...] = ()
    baseline: dict[str, float] = field(default_factory=dict)
    n_labelled: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        raw = asdict(self)
        raw["protected"] = list(self.protected)
        return raw

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> OutcomeProfile:
        """Inverse of :meth:`to_dict`."""
        data = dict(raw)
        data["protected"] = tuple(data.get("protected", ()))
        data["baseline"] = {str(k): float(v) for k, v in data.get("baseline", {}).items()}
        return cls(**data)


@dataclass(frozen=True)
class ReferenceProfile:
    """All feature profiles of one model's reference data."""

    features: dict[str, FeatureProfile]
    n_rows: int = 0
    outcome: OutcomeProfile | None = None

    @property
    def profile_id(self) -> str:
        """Hash of the bins; summaries may only be merged/compared on the same bins."""
        bins = [
            (f.name, f.type.value, f.grid, f.edges, f.categories, f.dim)
            for f in self.features.values()
        ]
        outcome = self.outcome.to_dict() if self.outcome else None
        if outcome:
            outcome.pop("baseline")
            outcome.pop("n_labelled")
        text = json.dumps([bins, outcome], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """The versioned document."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "n_rows": self.n_rows,
            "features": [f.to_dict() for f in self.features.values()],
            "outcome": self.outcome.to_dict() if self.outcome else None,
        }

    def to_json(self) -> str:
        """Compact JSON (no spaces) so that 200 features fit a 1 MiB ConfigMap."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, raw: Any) -> ReferenceProfile:
        """Validate the format marker and version, then rebuild the profile."""
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ProfileFormatError(f"not a modelwarden profile (expected format {FORMAT!r})")
        if raw.get("version") != VERSION:
            raise ProfileFormatError(
                f"profile version {raw.get('version')!r} is not supported; this modelwarden "
                f"reads version {VERSION} — rebuild it with `modelwarden profile`"
            )
        try:
            document = ProfileDocument.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'profile'}: {e['msg']}"
                for e in exc.errors()[:5]
            )
            raise ProfileFormatError(f"malformed profile: {problems}") from None
        valid = document.model_dump()
        features = [FeatureProfile.from_dict(f) for f in valid["features"]]
        outcome = OutcomeProfile.from_dict(valid["outcome"]) if valid["outcome"] else None
        return cls({f.name: f for f in features}, document.n_rows, outcome)

    @classmethod
    def from_json(cls, text: str) -> ReferenceProfile:
        """Parse a document produced by :meth:`to_json`."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProfileFormatError(f"profile is not JSON: {exc}") from exc
        return cls.from_dict(raw)

    @classmethod
    def load(cls, path: str | Path) -> ReferenceProfile:
        """Read a profile file."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))
