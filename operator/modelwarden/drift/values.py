"""Turn untrusted column values into numbers and category keys without ever raising.

Monitoring data comes from live traffic: strings in numeric columns, ``inf``, ``None`` and
vectors of the wrong length all happen.  Everything here classifies each value as *valid*,
*missing* (``None``/NaN, the value was simply absent) or *invalid* (present but unusable), so
the window summary can count bad input instead of failing.

>>> values, missing, invalid = to_float(["1.5", None, "x", float("inf"), 2])
>>> values.tolist()[0::4], missing.tolist(), invalid.tolist()
([1.5, 2.0], [False, True, False, False, False], [False, False, True, True, False])
>>> category_key(3.0), category_key(True), category_key("FR"), category_key(float("nan"))
('3', 'true', 'FR', None)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def is_missing(value: object) -> bool:
    """``None`` and float NaN mean "no value"; everything else is present."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _one_float(value: object) -> float | None:
    """Parse one value as a finite float; ``None`` when it is not one."""
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, int | float | np.integer | np.floating | str | bytes):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _try_array(column: Sequence[Any]) -> npt.NDArray[Any] | None:
    """A numpy view of a list when numpy can make a rectangular array of it."""
    try:
        return np.asarray(column)
    except (ValueError, TypeError, OverflowError):
        return None


def to_float(column: Sequence[Any] | npt.NDArray[Any]) -> tuple[FloatArray, BoolArray, BoolArray]:
    """Return ``(values, missing, invalid)``; values are 0.0 wherever they are not valid.

    Numeric numpy arrays take a vectorised path; anything else falls back to a per-value parse.
    """
    array = column if isinstance(column, np.ndarray) else _try_array(column)
    if array is not None and array.dtype.kind in "fiub" and array.ndim == 1:
        values = array.astype(np.float64, copy=False)
        missing = np.isnan(values)
        invalid = np.isinf(values)
        if missing.any() or invalid.any():
            values = np.where(missing | invalid, 0.0, values)
        return values, missing, invalid
    items = list(column)
    values = np.zeros(len(items), dtype=np.float64)
    missing = np.zeros(len(items), dtype=np.bool_)
    invalid = np.zeros(len(items), dtype=np.bool_)
    for i, item in enumerate(items):
        if is_missing(item):
            missing[i] = True
            continue
        number = _one_float(item)
        if number is None:
            invalid[i] = True
        else:
            values[i] = number
    return values, missing, invalid


def category_key(value: object) -> str | None:
    """Canonical string for a category value, ``None`` for missing.

    Integral numbers lose their ``.0`` so that ``1`` read from CSV and ``1.0`` read from
    Parquet are the same class; booleans become ``"true"``/``"false"``.
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return str(int(number))
        return repr(number)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def to_vectors(
    column: Sequence[Any] | npt.NDArray[Any], dim: int
) -> tuple[FloatArray, BoolArray, BoolArray]:
    """Stack embedding values into an ``(n, dim)`` matrix plus missing/invalid masks.

    A value is invalid when it is not a sequence of ``dim`` finite numbers.
    """
    array = column if isinstance(column, np.ndarray) else None
    if array is not None and array.ndim == 2 and array.dtype.kind in "fiu":
        n = array.shape[0]
        if array.shape[1] != dim:
            return np.zeros((n, dim)), np.zeros(n, np.bool_), np.ones(n, np.bool_)
        matrix = array.astype(np.float64, copy=False)
        finite: BoolArray = np.asarray(np.isfinite(matrix).all(axis=1))
        if not finite.all():
            matrix = np.where(finite[:, None], matrix, 0.0)
        return matrix, np.zeros(n, np.bool_), ~finite
    items = list(column)
    matrix = np.zeros((len(items), dim), dtype=np.float64)
    missing = np.zeros(len(items), dtype=np.bool_)
    invalid = np.zeros(len(items), dtype=np.bool_)
    for i, item in enumerate(items):
        if is_missing(item):
            missing[i] = True
            continue
        try:
            row = np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError):
            invalid[i] = True
            continue
        if row.shape != (dim,) or not np.isfinite(row).all():
            invalid[i] = True
            continue
        matrix[i] = row
    return matrix, missing, invalid
