"""``modelwarden profile``: build a reference profile from a training data file."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from modelwarden.drift.build import build_profile
from modelwarden.drift.profile import ProfileFormatError
from modelwarden.drift.schema import FeatureType, Schema, SchemaError, load_schema
from modelwarden.drift.tables import DataError, columns_from_table, infer_table_schema

#: exit status for unreadable or malformed input (1 is reserved for "drift found")
BAD_INPUT = 2
FORMATS = ("csv", "parquet", "ndjson")
INPUT_ERRORS = (DataError, SchemaError, ProfileFormatError, OSError, pa.ArrowException)


def detect_format(path: Path) -> str:
    """File format from the extension (``.csv``, ``.parquet``/``.pq``, ``.ndjson``/``.jsonl``)."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".ndjson", ".jsonl", ".json"):
        return "ndjson"
    return "csv"


def _csv_shape_error(path: Path) -> None:
    """Raise a :class:`DataError` at the first row whose field count differs from the header."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        for row, fields in enumerate(reader, start=1):
            if fields and len(fields) != len(header):
                raise DataError(None, row, f"has {len(fields)} fields, header has {len(header)}")


def _read_csv(path: Path) -> pa.Table:
    try:
        return pacsv.read_csv(path)
    except pa.ArrowInvalid:
        _csv_shape_error(path)
        # a type conversion failed beyond pyarrow's inference block: read as text and let the
        # schema check name the column and row
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
        options = pacsv.ConvertOptions(column_types={name: pa.string() for name in header})
        return pacsv.read_csv(path, convert_options=options)


def _read_ndjson(path: Path) -> pa.Table:
    try:
        return pajson.read_json(path)
    except pa.ArrowInvalid:
        with path.open(encoding="utf-8") as handle:
            for row, line in enumerate(handle, start=1):
                try:
                    json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(None, row, f"not valid JSON: {exc.msg}") from None
        raise


def read_table(path: Path, fmt: str | None = None) -> pa.Table:
    """Load CSV, Parquet or NDJSON; malformed rows raise :class:`DataError` with the row."""
    fmt = fmt or detect_format(path)
    if fmt == "parquet":
        return pq.read_table(path)
    if fmt == "ndjson":
        return _read_ndjson(path)
    return _read_csv(path)


def with_binning(schema: Schema, bins: int | None, binning: str | None) -> Schema:
    """Override the bin count / strategy of every numeric feature (CLI flags)."""
    if bins is None and binning is None:
        return schema
    features = {
        name: dataclasses.replace(
            spec,
            bins=bins if bins is not None else spec.bins,
            binning=binning if binning is not None else spec.binning,
        )
        if spec.type in (FeatureType.NUMERIC, FeatureType.PREDICTION)
        else spec
        for name, spec in schema.features.items()
    }
    return dataclasses.replace(schema, features=features)


def fail(message: str) -> None:
    """Print an input error and exit with :data:`BAD_INPUT`."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(BAD_INPUT)


@click.command("profile")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--schema",
    "schema_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML/JSON schema (docs/drift.md); inferred from column types when omitted.",
)
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Profile file.",
)
@click.option("--bins", type=click.IntRange(1, 1000), help="Bins per numeric feature (default 10).")
@click.option("--binning", type=click.Choice(["quantile", "uniform"]), help="Bin edges strategy.")
@click.option("--input-format", type=click.Choice(FORMATS), help="Default: from the extension.")
def profile(
    *,
    data: Path,
    schema_path: Path | None,
    out: Path,
    bins: int | None,
    binning: str | None,
    input_format: str | None,
) -> None:
    """Build a reference profile of DATA (CSV, Parquet or NDJSON) for drift checks.

    Exit status 2 on malformed input; the message names the column and row.
    """
    try:
        table = read_table(data, input_format)
        schema = load_schema(schema_path) if schema_path else infer_table_schema(table)
        schema = with_binning(schema, bins, binning)
        result = build_profile(columns_from_table(table, schema), schema)
    except INPUT_ERRORS as exc:
        fail(f"{data}: {exc}")
        return
    text = result.to_json()
    out.write_text(text, encoding="utf-8")
    click.echo(
        f"profiled {len(result.features)} features over {result.n_rows:,} rows "
        f"→ {out} ({len(text) / 1024:.1f} KiB)"
    )
