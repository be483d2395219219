"""Reference profile: binning options, versioned format, size bound, schema errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelwarden.drift.build import build_profile
from modelwarden.drift.counts import CategoricalCounts, NumericCounts
from modelwarden.drift.profile import ProfileFormatError, ReferenceProfile
from modelwarden.drift.schema import SchemaError, load_schema, parse_schema
from modelwarden.drift.summary import WindowSummary

CONFIGMAP_LIMIT = 1024 * 1024


def test_two_hundred_features_fit_a_configmap() -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    columns: dict[str, Any] = {f"num_{i}": rng.lognormal(i % 5, 1.0, n) for i in range(160)}
    for i in range(40):
        # high-cardinality categoricals hit the max_categories cap
        columns[f"cat_{i}"] = [f"value-{v:05d}" for v in rng.zipf(1.3, n) % 5_000]
    profile = build_profile(columns)
    text = profile.to_json()
    assert len(profile.features) == 200
    assert len(text.encode()) < CONFIGMAP_LIMIT
    assert ReferenceProfile.from_json(text) == profile


@pytest.mark.parametrize(
    ("spec", "expected_edges"),
    [
        pytest.param({"type": "numeric", "bins": 4}, [25.0, 50.0, 75.0], id="quantile"),
        pytest.param(
            {"type": "numeric", "bins": 4, "binning": "uniform"}, [25.0, 50.0, 75.0], id="uniform"
        ),
        pytest.param({"type": "numeric", "bins": [10, 90]}, [10.0, 90.0], id="explicit"),
    ],
)
def test_binning_strategies(spec: dict[str, Any], expected_edges: list[float]) -> None:
    schema = parse_schema({"features": {"x": spec}})
    profile = build_profile({"x": np.linspace(0, 100, 10_001)}, schema)
    feature = profile.features["x"]
    assert list(feature.edges) == pytest.approx(expected_edges, abs=0.01)
    assert set(feature.edges) <= set(feature.grid)
    assert sum(feature.coarse_counts()) == 10_001


def test_uniform_differs_from_quantile_on_skewed_data() -> None:
    data = np.random.default_rng(2).exponential(size=5_000)
    quantile = build_profile({"x": data}, parse_schema({"features": {"x": {"type": "numeric"}}}))
    uniform = build_profile(
        {"x": data}, parse_schema({"features": {"x": {"type": "numeric", "binning": "uniform"}}})
    )
    q_counts, u_counts = (
        quantile.features["x"].coarse_counts(),
        uniform.features["x"].coarse_counts(),
    )
    assert q_counts.max() - q_counts.min() <= 2
    assert u_counts[0] > 5 * u_counts[-1]


def test_categories_keep_top_values_and_other_bucket() -> None:
    values = ["a"] * 50 + ["b"] * 30 + ["c"] * 15 + ["d"] * 5 + [None] * 10
    schema = parse_schema({"features": {"c": {"type": "categorical", "max_categories": 2}}})
    feature = build_profile({"c": values}, schema).features["c"]
    assert feature.categories == ("a", "b")
    assert feature.category_counts == (50, 30, 20)
    assert (feature.n, feature.missing) == (110, 10)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param({"format": "modelwarden.profile", "version": 2}, "version 2", id="version"),
        pytest.param({"format": "other", "version": 1}, "not a modelwarden profile", id="format"),
        pytest.param(
            {"format": "modelwarden.profile", "version": 1, "n_rows": 1, "features": [{}]},
            "features.0.name: Field required",
            id="fields",
        ),
        pytest.param(
            {
                "format": "modelwarden.profile",
                "version": 1,
                "n_rows": 1,
                "features": [
                    {"name": "x", "type": "numeric", "n": 1, "grid": [0.0, 1.0], "grid_counts": [1]}
                ],
            },
            "features.0: Value error, grid_counts must have len",
            id="inconsistent-bins",
        ),
        pytest.param(
            {
                "format": "modelwarden.profile",
                "version": 1,
                "n_rows": 1,
                "features": [],
                "outcome": {"prediction": "score"},
            },
            "not features",
            id="outcome-column",
        ),
    ],
)
def test_wrong_documents_are_rejected_clearly(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileFormatError, match=message):
        ReferenceProfile.from_json(json.dumps(document))


def test_load_reads_a_file(tmp_path: Path) -> None:
    profile = build_profile({"x": np.arange(50.0), "e": [[1.0, 2.0]] * 50})
    path = tmp_path / "p.json"
    path.write_text(profile.to_json())
    loaded = ReferenceProfile.load(path)
    assert loaded == profile
    assert loaded.features["e"].mean_vector == (1.0, 2.0)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param({"features": {"x": "text"}}, "features.x.type", id="type"),
        pytest.param({"features": {"x": {"type": "numeric", "bins": 0}}}, "bins", id="bins"),
        pytest.param({"features": {"x": {"type": "numeric", "bins": ["a"]}}}, "edges", id="edges"),
        pytest.param({"features": {"x": "numeric"}, "label": "y"}, "schema.label", id="label"),
        pytest.param({"features": {"x": "numeric"}, "protected": ["g"]}, "protected", id="prot"),
        pytest.param({"version": 3, "features": {}}, "version", id="version"),
        pytest.param([], "features", id="not-a-mapping"),
    ],
)
def test_schema_errors_name_the_key(document: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        parse_schema(document)


def test_protected_attribute_must_be_categorical() -> None:
    schema = parse_schema({"features": {"x": "numeric", "p": "prediction"}, "protected": ["x"]})
    with pytest.raises(SchemaError, match="categorical"):
        build_profile({"x": np.arange(10.0), "p": np.arange(10.0)}, schema)


def test_yaml_and_json_schema_files_agree(tmp_path: Path) -> None:
    doc = {"features": {"a": "numeric", "s": "prediction", "y": "label"}, "threshold": 0.7}
    (tmp_path / "s.json").write_text(json.dumps(doc))
    (tmp_path / "s.yaml").write_text(
        "features:\n  a: numeric\n  s: prediction\n  y: label\nthreshold: 0.7\n"
    )
    assert load_schema(tmp_path / "s.json") == load_schema(tmp_path / "s.yaml")
    assert load_schema(tmp_path / "s.yaml").prediction == "s"


def test_baseline_metrics_recorded_when_reference_is_labelled() -> None:
    rng = np.random.default_rng(5)
    score = rng.random(2_000)
    label = (rng.random(2_000) < score).astype(int)
    schema = parse_schema({"features": {"s": "prediction", "y": "label"}})
    profile = build_profile({"s": score, "y": label}, schema)
    assert profile.outcome is not None
    assert profile.outcome.n_labelled == 2_000
    assert set(profile.outcome.baseline) == {
        "accuracy", "precision", "recall", "f1", "auc", "ece", "brier"
    }  # fmt: skip
    assert profile.outcome.baseline["auc"] > 0.7


def test_reference_counts_equal_a_window_summary_of_the_same_rows() -> None:
    rng = np.random.default_rng(8)
    values = rng.normal(size=3_000)
    values[::100] = np.nan
    columns = {"x": values, "c": rng.choice(["a", "b", "c"], 3_000).tolist()}
    profile = build_profile(columns)
    window = WindowSummary.empty(profile)
    window.add_columns(columns)
    x, c = window.features["x"], window.features["c"]
    assert isinstance(x, NumericCounts)
    assert isinstance(c, CategoricalCounts)
    assert x.counts.tolist() == list(profile.features["x"].grid_counts)
    assert x.missing == profile.features["x"].missing == 30
    assert c.counts.tolist() == list(profile.features["c"].category_counts)
