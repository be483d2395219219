"""Strict conversion of a loaded Arrow table into profile/summary columns.

Batch files (the ``profile`` and ``drift`` commands) are checked strictly, unlike live
traffic: a text value in a numeric column is a broken file, and the error names the column
and the 1-based data row (header not counted) so it can be fixed.  Reading the file itself is
the CLI's job; this module only looks at the table.

>>> import pyarrow as pa
>>> from modelwarden.drift.schema import parse_schema
>>> table = pa.table({"amount": ["1.5", "2", "abc"], "country": ["FR", "DE", None]})
>>> schema = parse_schema({"features": {"amount": "numeric", "country": "categorical"}})
>>> columns_from_table(table, schema)
Traceback (most recent call last):
...
modelwarden.drift.tables.DataError: column 'amount', row 3: 'abc' is not a number
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelwarden.drift.schema import FeatureSpec, FeatureType, Schema
from modelwarden.drift.values import is_missing


class DataError(ValueError):
    """A data file does not match its schema; says where."""

    def __init__(self, column: str | None, row: int | None, problem: str) -> None:
        where = ", ".join(
            part
            for part in (
                f"column {column!r}" if column is not None else "",
                f"row {row}" if row is not None else "",
            )
            if part
        )
        super().__init__(f"{where}: {problem}" if where else problem)
        self.column, self.row = column, row


def _is_number_type(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    )


def infer_table_schema(table: pa.Table) -> Schema:
    """Schema from column types: numbers → numeric, lists → embedding, else categorical.

    Text columns whose every value parses as a number are numeric too, so that a bad
    value in an otherwise numeric CSV column is reported rather than silently categorical.
    """
    features: dict[str, FeatureSpec] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if _is_number_type(column.type):
            kind = FeatureType.NUMERIC
        elif pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            kind = FeatureType.EMBEDDING
        elif pa.types.is_string(column.type) and _mostly_numbers(column.to_pylist()):
            kind = FeatureType.NUMERIC
        else:
            kind = FeatureType.CATEGORICAL
        features[name] = FeatureSpec(kind)
    return Schema(features)


def _mostly_numbers(values: list[Any]) -> bool:
    present = [v for v in values if v is not None and v != ""]
    good = sum(1 for v in present if _parses(v))
    return bool(present) and good >= 0.9 * len(present)


def _parses(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _numeric(name: str, column: pa.ChunkedArray) -> Any:
    if _is_number_type(column.type) or pa.types.is_boolean(column.type):
        return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    values = column.to_pylist()
    out = np.full(len(values), np.nan)
    for row, value in enumerate(values, start=1):
        if is_missing(value) or value == "":
            continue
        try:
            out[row - 1] = float(value)
        except (TypeError, ValueError):
            raise DataError(name, row, f"{value!r} is not a number") from None
        if not np.isfinite(out[row - 1]):
            raise DataError(name, row, f"{value!r} is not a finite number")
    return out


def _embedding(name: str, column: pa.ChunkedArray) -> list[Any]:
    values = column.to_pylist()
    dim: int | None = None
    out: list[Any] = []
    for row, value in enumerate(values, start=1):
        if value is None or value == "":
            out.append(None)
            continue
        vector = value
        if isinstance(value, str):
            try:
                vector = json.loads(value)
            except json.JSONDecodeError:
                raise DataError(name, row, f"{value[:40]!r} is not a JSON list") from None
        if not isinstance(vector, list) or not all(
            isinstance(v, int | float) and np.isfinite(v) for v in vector
        ):
            raise DataError(name, row, "expected a list of finite numbers")
        dim = len(vector) if dim is None else dim
        if len(vector) != dim:
            raise DataError(name, row, f"vector has {len(vector)} values, expected {dim}")
        out.append(vector)
    return out


def columns_from_table(table: pa.Table, schema: Schema) -> dict[str, Any]:
    """Schema columns as numpy arrays (numeric) or lists; raises :class:`DataError`."""
    columns: dict[str, Any] = {}
    for name, spec in schema.features.items():
        if name not in table.column_names:
            raise DataError(name, None, "column is missing from the file")
        column = table.column(name)
        if spec.type is FeatureType.NUMERIC:
            columns[name] = _numeric(name, column)
        elif spec.type is FeatureType.EMBEDDING:
            columns[name] = _embedding(name, column)
        elif spec.type is FeatureType.PREDICTION and (
            _is_number_type(column.type)
            or (pa.types.is_string(column.type) and _mostly_numbers(column.to_pylist()))
        ):
            columns[name] = _numeric(name, column)
        else:
            columns[name] = column.to_pylist()
    return columns
