"""``modelwarden drift``: compare a current data file with a reference and report every check.

Exit status: 0 no check at warning or above, 1 drift (some check ≥ warning), 2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from modelwarden.cli.profile_cmd import INPUT_ERRORS, fail, read_table
from modelwarden.drift.build import build_profile
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.render import render_html, render_json, render_table
from modelwarden.drift.report import default_specs, evaluate, worst
from modelwarden.drift.schema import FeatureSpec, Schema, load_schema
from modelwarden.drift.stats.base import Correction
from modelwarden.drift.summary import WindowSummary
from modelwarden.drift.tables import columns_from_table, infer_table_schema

DRIFT = 1


def schema_of(profile: ReferenceProfile) -> Schema:
    """The column types a profile expects, to check the current file against."""
    return Schema({name: FeatureSpec(f.type) for name, f in profile.features.items()})


def _reference(
    reference: Path | None, profile_path: Path | None, schema_path: Path | None
) -> ReferenceProfile:
    if profile_path is not None:
        return ReferenceProfile.load(profile_path)
    if reference is None:
        raise click.UsageError("give --reference DATA or --profile PROFILE")
    table = read_table(reference)
    schema = load_schema(schema_path) if schema_path else infer_table_schema(table)
    return build_profile(columns_from_table(table, schema), schema)


_PATH = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("drift")
@click.option("--reference", type=_PATH, help="Reference data (CSV, Parquet, NDJSON).")
@click.option("--current", required=True, type=_PATH, help="Current data to check.")
@click.option("--profile", "profile_path", type=_PATH, help="Use this profile as the reference.")
@click.option("--schema", "schema_path", type=_PATH, help="YAML/JSON schema (docs/drift.md).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "html"]),
    default="table",
    show_default=True,
)
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.option("--min-samples", type=click.IntRange(1), default=100, show_default=True)
@click.option(
    "--correction", type=click.Choice(["bh", "bonferroni", "none"]), default="bh", show_default=True
)
def drift(
    *,
    reference: Path | None,
    current: Path,
    profile_path: Path | None,
    schema_path: Path | None,
    fmt: str,
    out: Path | None,
    min_samples: int,
    correction: str,
) -> None:
    """Compare CURRENT with the reference and print every check per feature.

    Exit status: 0 no drift, 1 drift at warning or above, 2 bad input.
    """
    try:
        profile = _reference(reference, profile_path, schema_path)
        schema = load_schema(schema_path) if schema_path else schema_of(profile)
        columns = columns_from_table(read_table(current), schema)
    except INPUT_ERRORS as exc:
        fail(str(exc))
        return
    summary = WindowSummary.empty(profile)
    summary.add_columns(columns)
    specs = default_specs(profile, min_samples)
    results = evaluate(profile, summary, specs, cast(Correction, correction))
    if fmt == "json":
        text = render_json(profile, summary, results)
    elif fmt == "html":
        text = render_html(profile, summary, results)
    else:
        text = render_table(results) + f"\n\nverdict: {worst(results)}"
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
    if worst(results) in ("Warning", "Critical"):
        raise SystemExit(DRIFT)
