"""DriftPolicy: what drift means for one deployment, and what to do about it."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints, field_validator

from modelwarden.api.base import (
    ApiModel,
    CelRule,
    Condition,
    Duration,
    Fraction,
    ObjectName,
    Resource,
    Severity,
    StatusModel,
)

FeatureType = Literal["numeric", "categorical", "embedding"]
Method = Literal["psi", "ks", "chi2", "js", "wasserstein", "cosine", "newCategory"]
Action = Literal["alert", "retrain", "rollback", "halt"]
PolicyVerdict = Literal["Stable", "Warning", "Critical", "InsufficientData"]
FairnessMetric = Literal["demographicParity", "equalOpportunity", "disparateImpact"]
FeatureName = Annotated[str, StringConstraints(min_length=1, max_length=128)]

# Which methods make sense for which feature type (also the CEL rule below).
METHODS_BY_TYPE: dict[str, frozenset[str]] = {
    "numeric": frozenset({"psi", "ks", "js", "wasserstein"}),
    "categorical": frozenset({"psi", "chi2", "js", "newCategory"}),
    "embedding": frozenset({"cosine"}),
}
P_VALUE_METHODS = frozenset({"ks", "chi2"})


def _thresholds_ordered(check: Any) -> bool:
    return check.warning is None or check.critical is None or check.warning <= check.critical


_ORDER_RULE = CelRule(
    rule="!has(self.warning) || !has(self.critical) || self.warning <= self.critical",
    message="warning must be less than or equal to critical",
    field=".warning",
    check=_thresholds_ordered,
)
_P_VALUE_RULE = CelRule(
    rule="!has(self.pValue) || self.method in ['ks', 'chi2']",
    message="pValue applies only to the ks and chi2 methods",
    field=".pValue",
    check=lambda c: c.p_value is None or c.method in P_VALUE_METHODS,
)
PValue = Annotated[float, Field(gt=0.0, lt=1.0)]


class FeatureCheck(ApiModel):
    """A per-feature drift check. Thresholds default by the model's risk tier when unset."""

    name: FeatureName
    type: FeatureType = "numeric"
    method: Method = "psi"
    warning: Annotated[float, Field(ge=0)] | None = None
    critical: Annotated[float, Field(ge=0)] | None = None
    p_value: PValue | None = None
    """For ks and chi2: alarm when the (corrected) p-value falls below this."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        _ORDER_RULE,
        _P_VALUE_RULE,
        CelRule(
            rule="(self.type == 'numeric' && self.method in ['psi', 'ks', 'js', 'wasserstein'])"
            " || (self.type == 'categorical' && self.method in ['psi', 'chi2', 'js',"
            " 'newCategory']) || (self.type == 'embedding' && self.method == 'cosine')",
            message="method does not fit the feature type (numeric: psi, ks, js, wasserstein;"
            " categorical: psi, chi2, js, newCategory; embedding: cosine)",
            field=".method",
            check=lambda c: c.method in METHODS_BY_TYPE[c.type],
        ),
    )


class PredictionCheck(ApiModel):
    method: Literal["psi", "ks", "chi2", "js", "wasserstein"] = "psi"
    warning: Annotated[float, Field(ge=0)] | None = None
    critical: Annotated[float, Field(ge=0)] | None = None
    p_value: PValue | None = None

    cel_rules: ClassVar[tuple[CelRule, ...]] = (_ORDER_RULE, _P_VALUE_RULE)


class PerformanceCheck(ApiModel):
    """Decay against an offline baseline, from labelled feedback."""

    metric: Literal["accuracy", "precision", "recall", "f1", "auc"] = "accuracy"
    baseline: Fraction
    max_drop: Fraction = 0.05


class FairnessCheck(ApiModel):
    attributes: Annotated[list[FeatureName], Field(min_length=1, max_length=16)]
    """Protected attributes (group columns) the metrics are computed across."""
    metrics: Annotated[list[FairnessMetric], Field(min_length=1, max_length=3)] = Field(
        default_factory=lambda: list[FairnessMetric](["demographicParity"])
    )
    max_difference: Fraction = 0.1
    """Largest acceptable between-group difference (for disparateImpact: 1 − ratio)."""
    severity: Severity = "Critical"


class CalibrationCheck(ApiModel):
    ece_max: Fraction
    """Expected calibration error (10 equal-width bins) above which the model is miscalibrated."""
    brier_max: Fraction | None = None


class MissingValuesCheck(ApiModel):
    max_increase: Fraction
    """Largest acceptable rise of a feature's missing rate over the reference."""


class Actions(ApiModel):
    warning: Annotated[list[Action], Field(max_length=4)] = Field(
        default_factory=lambda: list[Action](["alert"])
    )
    critical: Annotated[list[Action], Field(max_length=4)] = Field(
        default_factory=lambda: list[Action](["alert"])
    )


class Retraining(ApiModel):
    job_template: dict[str, Any]
    """A batch/v1 JobTemplateSpec; the trigger's reason and statistics are passed in."""
    cooldown: Duration = "24h"
    schedule: Annotated[str, StringConstraints(max_length=128)] | None = None
    """Cron schedule for periodic retraining, independent of drift."""
    max_model_age: Duration | None = None
    """Retrain when the served version is older than this."""


class ConfigMapKeyRef(ApiModel):
    name: ObjectName
    key: Annotated[str, StringConstraints(min_length=1, max_length=253)] = "profile.json"


class ReferenceSource(ApiModel):
    config_map_ref: ConfigMapKeyRef
    """ConfigMap holding the reference profile made by ``modelwarden profile``."""


class Window(ApiModel):
    duration: Duration = "1h"
    min_samples: Annotated[int, Field(ge=1)] = 1000
    """Below this many rows the verdict is InsufficientData and no action is taken."""


class DriftPolicySpec(ApiModel):
    deployment: ObjectName
    """The ModelDeployment whose traffic is checked."""
    reference: ReferenceSource
    window: Window = Field(default_factory=Window)
    interval: Duration = "5m"
    consecutive_evaluations: Annotated[int, Field(ge=1, le=100)] = 2
    """A verdict must hold this many evaluations in a row before any action is taken."""
    features: Annotated[
        list[FeatureCheck],
        # A list-map keyed by name: the API server rejects duplicate names itself, at no CEL
        # cost (a pairwise CEL rule over 500 items exceeds the CRD cost budget).
        Field(
            max_length=500,
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            },
        ),
    ] = Field(default_factory=list)

    @field_validator("features")
    @classmethod
    def _unique_names(cls, features: list[FeatureCheck]) -> list[FeatureCheck]:
        names = [f.name for f in features]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"feature names must be unique: {', '.join(duplicates)} repeated")
        return features

    prediction: PredictionCheck | None = None
    performance: PerformanceCheck | None = None
    fairness: FairnessCheck | None = None
    calibration: CalibrationCheck | None = None
    missing_values: MissingValuesCheck | None = None
    actions: Actions = Field(default_factory=Actions)
    retraining: Retraining | None = None

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="!has(self.actions) || has(self.retraining) || !("
            "(has(self.actions.warning) && 'retrain' in self.actions.warning)"
            " || (has(self.actions.critical) && 'retrain' in self.actions.critical))",
            message="the retrain action needs retraining.jobTemplate",
            field=".retraining",
            check=lambda p: (
                "retrain" not in (*p.actions.warning, *p.actions.critical)
                or p.retraining is not None
            ),
        ),
    )


class CheckStatus(StatusModel):
    kind: str
    feature: str = ""
    method: str = ""
    statistic: float | None = None
    p_value: float | None = None
    threshold: float | None = None
    severity: str = "Ok"
    samples: int = 0
    since: str = ""
    message: str = ""


class RetrainRecord(StatusModel):
    at: str
    reason: str
    job: str


class CanaryVerdict(StatusModel):
    """The canary's traffic, judged by the same checks. The policy's actions never fire on it;
    a ModelDeployment whose analysis has a ``driftPolicy`` check judges its canary by it."""

    version: str
    verdict: PolicyVerdict = "InsufficientData"
    samples: int = 0
    message: str = ""


class DriftPolicyStatus(StatusModel):
    verdict: PolicyVerdict = "InsufficientData"
    samples: int = 0
    window: str = ""
    last_evaluation: str = ""
    consecutive: int = 0
    stable_version: str = ""
    checks: list[CheckStatus] = Field(default_factory=list)
    canary: CanaryVerdict | None = None
    episode: str = ""
    """Start of the current breach episode (first Warning/Critical since Stable); empty when
    Stable. Actions fire at most once per episode."""
    actions_taken: list[str] = Field(default_factory=list)
    """``<verdict>/<action>`` already executed in this episode (the idempotency record)."""
    last_retrain: RetrainRecord | None = None
    message: str = ""
    conditions: list[Condition] = Field(default_factory=list)
    observed_generation: int | None = None


class DriftPolicy(Resource):
    kind: Literal["DriftPolicy"] = "DriftPolicy"
    spec: DriftPolicySpec
    status: DriftPolicyStatus | None = None
