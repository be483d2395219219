"""The ``profile`` and ``drift`` commands on small files made in tmp_path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from modelwarden.cli.main import cli
from modelwarden.drift.profile import ReferenceProfile

SCHEMA = """\
version: 1
features:
  amount: numeric
  country: {type: categorical, max_categories: 5}
  score: prediction
  y: label
protected: [country]
"""


def frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    score = 1 / (1 + np.exp(-rng.normal(shift, 1, n)))
    return pd.DataFrame(
        {
            "amount": rng.normal(100 + 30 * shift, 10, n).round(2),
            "country": rng.choice(["FR", "DE", "ES"], n),
            "score": score.round(4),
            "y": (rng.random(n) < score).astype(int),
        }
    )


def write(df: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        df.to_parquet(path)
    elif path.suffix == ".ndjson":
        df.to_json(path, orient="records", lines=True)
    else:
        df.to_csv(path, index=False)
    return path


def run(*args: Any) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(11)
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA)
    return {
        "schema": schema,
        "ref": write(frame(rng, 3_000), tmp_path / "ref.csv"),
        "same": write(frame(rng, 1_000), tmp_path / "same.parquet"),
        "shifted": write(frame(rng, 1_000, shift=1.0), tmp_path / "shifted.ndjson"),
    }


@pytest.mark.parametrize(
    ("current", "expected_exit"),
    [pytest.param("same", 0, id="no-drift"), pytest.param("shifted", 1, id="drift")],
)
def test_drift_exit_status(files: dict[str, Path], current: str, expected_exit: int) -> None:
    result = run(
        "drift", "--reference", files["ref"], "--current", files[current],
        "--schema", files["schema"], "--format", "json",
    )  # fmt: skip
    assert result.exit_code == expected_exit, result.output
    report = json.loads(result.output)
    assert report["drift"] is bool(expected_exit)
    keys = {"feature", "method", "statistic", "p_value", "threshold", "severity"}
    assert all(keys | {"n_reference", "n_current"} <= check.keys() for check in report["checks"])
    methods = {(c["feature"], c["method"]) for c in report["checks"]}
    assert {("amount", "psi"), ("amount", "ks"), ("country", "chi2"), (None, "auc")} <= methods


def test_profile_then_drift_from_profile(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "profile.json"
    result = run("profile", files["ref"], "--schema", files["schema"], "--out", out, "--bins", "5")
    assert result.exit_code == 0, result.output
    profile = ReferenceProfile.load(out)
    assert len(profile.features["amount"].edges) == 4
    assert profile.outcome is not None
    assert profile.outcome.protected == ("country",)
    result = run("drift", "--profile", out, "--current", files["shifted"], "--format", "table")
    assert result.exit_code == 1
    assert "Critical" in result.output
    assert "verdict: Critical" in result.output


def test_html_report_is_self_contained(files: dict[str, Path], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = run(
        "drift", "--reference", files["ref"], "--current", files["shifted"],
        "--format", "html", "--out", page,
    )  # fmt: skip
    assert result.exit_code == 1
    text = page.read_text()
    assert text.count("<svg") == 4
    assert "<script" not in text
    assert "http" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")


@pytest.mark.parametrize(
    ("content", "where"),
    [
        pytest.param(
            "amount,country,score,y\n1.0,FR,0.5,1\n2.0,DE,0.4,0\nabc,FR,0.3,1\n",
            "column 'amount', row 3",
            id="text-in-numeric-column",
        ),
        pytest.param(
            "amount,country,score,y\n1.0,FR,0.5,1\n2.0,DE\n",
            "row 2",
            id="ragged-row",
        ),
        pytest.param(
            "amount,score,y\n1.0,0.5,1\n",
            "column 'country'",
            id="missing-column",
        ),
    ],
)
def test_malformed_current_exits_2_naming_column_and_row(
    files: dict[str, Path], tmp_path: Path, content: str, where: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    result = run(
        "drift", "--reference", files["ref"], "--current", bad, "--schema", files["schema"]
    )
    assert result.exit_code == 2
    assert where in result.output


def test_malformed_reference_exits_2(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"amount": 1, "country": "FR", "score": 0.1, "y": 0}\n{"amount": 2,\n')
    result = run("profile", bad, "--schema", files["schema"], "--out", tmp_path / "p.json")
    assert result.exit_code == 2
    assert "row 2" in result.output


def test_wrong_profile_version_exits_2(files: dict[str, Path], tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": "modelwarden.profile", "version": 99, "features": []}))
    result = run("drift", "--profile", old, "--current", files["same"])
    assert result.exit_code == 2
    assert "version 99" in result.output


def test_bad_schema_exits_2(files: dict[str, Path], tmp_path: Path) -> None:
    schema = tmp_path / "s.yaml"
    schema.write_text("features:\n  amount: numbr\n")
    result = run("profile", files["ref"], "--schema", schema, "--out", tmp_path / "p.json")
    assert result.exit_code == 2
    assert "features.amount.type" in result.output
