"""The ``--schema`` file: which column is which kind of feature, and how to bin it.

YAML or JSON.  Every key except ``features`` is optional::

    version: 1
    defaults: {bins: 10, binning: quantile, max_categories: 100, ks_grid: 100}
    features:
      amount: numeric                      # shorthand: just the type
      age: {type: numeric, bins: 20}       # 20 quantile bins
      rate: {type: numeric, bins: [0, 0.1, 0.5]}          # explicit interior edges
      income: {type: numeric, binning: uniform, bins: 8}  # fixed-width bins
      country: {type: categorical, max_categories: 30}
      emb: embedding
      score: prediction
      y: label
    prediction: score        # or give a feature type: prediction
    label: y                 # or type: label
    positive_label: "1"      # class counted as positive (default "1")
    threshold: 0.5           # score >= threshold predicts the positive class
    protected: [country]     # group attributes for fairness checks

>>> s = parse_schema({"features": {"a": "numeric", "g": "categorical", "p": "prediction",
...                   "y": "label"}, "protected": ["g"]})
>>> s.features["a"].type.value, s.prediction, s.label, s.protected
('numeric', 'p', 'y', ('g',))
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml


class SchemaError(ValueError):
    """The schema file is malformed; the message names the offending key."""


class FeatureType(StrEnum):
    """What a column is, which decides how it is profiled and compared."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    EMBEDDING = "embedding"
    PREDICTION = "prediction"
    LABEL = "label"


BINNINGS = ("quantile", "uniform")


@dataclass(frozen=True)
class FeatureSpec:
    """How one column is profiled; ``bins`` is a count or explicit interior edges."""

    type: FeatureType
    bins: int | tuple[float, ...] = 10
    binning: str = "quantile"
    max_categories: int = 100


@dataclass(frozen=True)
class Schema:
    """A parsed schema; ``features`` keeps file order."""

    features: dict[str, FeatureSpec]
    prediction: str | None = None
    label: str | None = None
    positive_label: str = "1"
    threshold: float = 0.5
    protected: tuple[str, ...] = ()
    ks_grid: int = 100
    defaults: dict[str, Any] = field(default_factory=dict)


def _feature(name: str, raw: Any, defaults: dict[str, Any]) -> FeatureSpec:
    if isinstance(raw, str):
        raw = {"type": raw}
    if not isinstance(raw, dict):
        raise SchemaError(f"features.{name}: expected a type name or a mapping, got {raw!r}")
    try:
        kind = FeatureType(str(raw.get("type")))
    except ValueError:
        allowed = ", ".join(t.value for t in FeatureType)
        message = f"features.{name}.type: {raw.get('type')!r} is not one of {allowed}"
        raise SchemaError(message) from None
    bins = raw.get("bins", defaults.get("bins", 10))
    if isinstance(bins, list):
        try:
            edges = tuple(sorted(float(b) for b in bins))
        except (TypeError, ValueError):
            message = f"features.{name}.bins: edges must be numbers, got {bins!r}"
            raise SchemaError(message) from None
        bins_value: int | tuple[float, ...] = edges
    elif isinstance(bins, int) and not isinstance(bins, bool) and bins >= 1:
        bins_value = bins
    else:
        raise SchemaError(f"features.{name}.bins: expected a count >= 1 or a list of edges")
    binning = raw.get("binning", defaults.get("binning", "quantile"))
    if binning not in BINNINGS:
        raise SchemaError(f"features.{name}.binning: {binning!r} is not one of {BINNINGS}")
    max_categories = raw.get("max_categories", defaults.get("max_categories", 100))
    if not isinstance(max_categories, int) or max_categories < 1:
        raise SchemaError(f"features.{name}.max_categories: expected an integer >= 1")
    return FeatureSpec(kind, bins_value, binning, max_categories)


def parse_schema(raw: Any) -> Schema:
    """Validate an already-loaded schema document."""
    if not isinstance(raw, dict) or not isinstance(raw.get("features"), dict):
        raise SchemaError("schema: expected a mapping with a 'features' mapping")
    if raw.get("version", 1) != 1:
        raise SchemaError(f"schema.version: {raw.get('version')!r} is not supported (use 1)")
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise SchemaError("schema.defaults: expected a mapping")
    features = {str(k): _feature(str(k), v, defaults) for k, v in raw["features"].items()}
    prediction = raw.get("prediction")
    label = raw.get("label")
    for name, spec in features.items():
        if spec.type is FeatureType.PREDICTION:
            prediction = prediction or name
        if spec.type is FeatureType.LABEL:
            label = label or name
    for role, column in (("prediction", prediction), ("label", label)):
        if column is not None and column not in features:
            raise SchemaError(f"schema.{role}: column {column!r} is not listed under features")
    protected = raw.get("protected") or []
    if not isinstance(protected, list) or any(p not in features for p in protected):
        raise SchemaError(f"schema.protected: every entry must be a listed feature: {protected!r}")
    threshold = raw.get("threshold", 0.5)
    if not isinstance(threshold, int | float):
        raise SchemaError("schema.threshold: expected a number")
    ks_grid = defaults.get("ks_grid", 100)
    if not isinstance(ks_grid, int) or ks_grid < 2:
        raise SchemaError("schema.defaults.ks_grid: expected an integer >= 2")
    return Schema(
        features=features,
        prediction=prediction,
        label=label,
        positive_label=str(raw.get("positive_label", "1")),
        threshold=float(threshold),
        protected=tuple(str(p) for p in protected),
        ks_grid=ks_grid,
        defaults=dict(defaults),
    )


def load_schema(path: str | Path) -> Schema:
    """Read a YAML or JSON schema file (JSON is valid YAML, so one parser reads both)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        raw = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SchemaError(f"{path}: not valid YAML/JSON: {exc}") from exc
    return parse_schema(raw)
