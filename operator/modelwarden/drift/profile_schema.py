"""The profile document's schema: validates profiles read from ConfigMaps and files.

A profile may be hand-edited or truncated on its way through Kubernetes; validating it up
front gives an error naming the field (``features.3.grid_counts``) instead of a numpy
exception deep inside a statistic.  :func:`profile_json_schema` exports the same rules as
JSON Schema for other tools.

>>> sorted(profile_json_schema()["required"])
['features', 'format', 'n_rows', 'version']
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from modelwarden.drift.schema import FeatureType


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureDocument(_Strict):
    """One feature as stored; the consistency checks guard the bin arithmetic."""

    name: str
    type: FeatureType
    n: int = Field(ge=0)
    missing: int = Field(0, ge=0)
    invalid: int = Field(0, ge=0)
    edges: list[float] = []
    grid: list[float] = []
    grid_counts: list[int] = []
    mean: float = 0.0
    std: float = Field(0.0, ge=0)
    minimum: float = 0.0
    maximum: float = 0.0
    categories: list[str] = []
    category_counts: list[int] = []
    dim: int = Field(0, ge=0)
    mean_vector: list[float] = []

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.grid_counts and len(self.grid_counts) != len(self.grid) + 1:
            raise ValueError("grid_counts must have len(grid) + 1 entries")
        if self.grid != sorted(self.grid) or not set(self.edges) <= set(self.grid):
            raise ValueError("grid must be sorted and contain every edge")
        if self.category_counts and len(self.category_counts) != len(self.categories) + 1:
            raise ValueError("category_counts must have len(categories) + 1 entries (other/new)")
        if len(self.mean_vector) != self.dim:
            raise ValueError("mean_vector must have dim entries")
        if min(self.grid_counts + self.category_counts, default=0) < 0:
            raise ValueError("counts must be >= 0")
        return self


class OutcomeDocument(_Strict):
    """Prediction/label/protected columns and baseline metrics."""

    prediction: str
    label: str | None = None
    positive_label: str = "1"
    threshold: float = 0.5
    protected: list[str] = []
    baseline: dict[str, float] = {}
    n_labelled: int = Field(0, ge=0)


class ProfileDocument(_Strict):
    """The whole profile document (format ``modelwarden.profile``, version 1)."""

    format: Literal["modelwarden.profile"]
    version: Literal[1]
    n_rows: int = Field(ge=0)
    features: list[FeatureDocument]
    outcome: OutcomeDocument | None = None

    @model_validator(mode="after")
    def _outcome_columns_exist(self) -> Self:
        names = {f.name for f in self.features}
        if self.outcome is not None:
            used = [self.outcome.prediction, self.outcome.label, *self.outcome.protected]
            missing = [c for c in used if c is not None and c not in names]
            if missing:
                raise ValueError(f"outcome names columns that are not features: {missing}")
        return self


def profile_json_schema() -> dict[str, Any]:
    """JSON Schema of the profile document."""
    return ProfileDocument.model_json_schema()
