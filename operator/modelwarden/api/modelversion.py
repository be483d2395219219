"""ModelVersion: one trained model, its lineage, its evidence and its place in the lifecycle."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints

from modelwarden.api.base import (
    SEMVER_PATTERN,
    ApiModel,
    CelRule,
    Condition,
    Digest,
    LongText,
    Name,
    Resource,
    ShortText,
    StatusModel,
)

Stage = Literal[
    "Registered", "Validated", "Staging", "Production", "Degraded", "Archived", "Retired"
]
Protocol = Literal["kserve-v1", "kserve-v2", "json"]
ServingRole = Literal["stable", "canary", "shadow", "standby", "preview"]


class Artifact(ApiModel):
    """Where the trained model lives, pinned by content digest."""

    uri: Annotated[
        str, StringConstraints(min_length=1, max_length=2048, pattern=r"^[a-z][a-z0-9+.-]*://.+")
    ]
    """Location of the artifact, with a scheme (s3://, gs://, https://, oci://, file://)."""
    digest: Digest
    """Content digest, sha256:<64 hex>; the operator and auditors compare it, never the URI."""
    format: Annotated[str, StringConstraints(max_length=63)] = "custom"
    """Serialisation format, e.g. xgboost, sklearn, onnx, pytorch."""


class JsonPaths(ApiModel):
    """Where features and predictions are found in a plain-JSON payload."""

    features: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    """Dotted path to the list of feature rows in the request, e.g. ``data.rows``."""
    predictions: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    """Dotted path to the list of predictions in the response, e.g. ``result.scores``."""


class Runtime(ApiModel):
    """How to serve the model: the container the operator runs beside the evaluator sidecar."""

    image: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    """Port the model server listens on (the evaluator takes the pod's serving port)."""
    protocol: Protocol = "kserve-v2"
    """Tells the evaluator how to read payloads."""
    json_paths: JsonPaths | None = None
    """Required when protocol is json."""
    args: Annotated[
        list[Annotated[str, StringConstraints(max_length=1024)]], Field(max_length=64)
    ] = Field(default_factory=list)
    env: Annotated[list[dict[str, Any]], Field(max_length=64)] = Field(default_factory=list)
    """Container env entries (Kubernetes EnvVar objects)."""
    resources: dict[str, Any] = Field(default_factory=dict)
    """Container resource requests and limits (Kubernetes ResourceRequirements)."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="self.protocol != 'json' || has(self.jsonPaths)",
            message="jsonPaths is required when protocol is json",
            field=".jsonPaths",
            check=lambda r: r.protocol != "json" or r.json_paths is not None,
        ),
    )


class Lineage(ApiModel):
    """artifact = f(data, code, config, environment, seed): everything needed to rebuild it.

    Every field is optional at admission; completeness is a governance gate (tiers 1–2 cannot
    pass Validated without it), so that a half-documented model can still be registered.
    """

    data_snapshot: Digest | None = None
    code_commit: (
        Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{7,40}$", max_length=40)] | None
    ) = None
    config_hash: Digest | None = None
    environment: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    """Training environment, ideally an image pinned by digest."""
    seed: Annotated[int, Field(ge=0)] | None = None
    training_run: Annotated[str, StringConstraints(max_length=1024)] | None = None
    feature_set: Annotated[str, StringConstraints(max_length=256)] | None = None


class EvaluationSet(ApiModel):
    """The frozen holdout the offline metrics were computed on."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    digest: Digest | None = None
    size: Annotated[int, Field(ge=1)]
    """Rows in the set; it sets the champion/challenger margin (1.96·√(p(1−p)/m))."""


class OfflineMetrics(ApiModel):
    """Offline evaluation results."""

    evaluation_set: EvaluationSet
    values: Annotated[dict[str, float], Field(max_length=64)] = Field(default_factory=dict)
    """Metric name → value, e.g. auc, accuracy, p95LatencyMs, ece, fairnessGap."""


class ModelCard(ApiModel):
    """The human part of the evidence, rendered by ``modelwarden model-card``."""

    intended_use: LongText = ""
    out_of_scope: LongText = ""
    limitations: LongText = ""
    ethical_considerations: LongText = ""
    training_data: LongText = ""
    evaluation_data: LongText = ""


class Approval(ApiModel):
    """An approval decision; ``by``, ``groups`` and ``at`` are stamped by the admission webhook
    from the authenticated request, whatever the submitter wrote there."""

    role: Annotated[str, StringConstraints(min_length=1, max_length=63)]
    decision: Literal["approve", "reject"]
    comment: ShortText = ""
    by: ShortText | None = None
    groups: Annotated[list[ShortText], Field(max_length=32)] | None = None
    at: Annotated[str, StringConstraints(max_length=64)] | None = None


class StageRequest(ApiModel):
    """A request to move the version to another stage, acted on once by the operator.

    ``by`` and ``at`` are stamped by the admission webhook from the authenticated request, so
    the history names who asked; a new request (a different stage or time) replaces the old.
    """

    stage: Stage
    reason: ShortText = ""
    by: ShortText | None = None
    at: Annotated[str, StringConstraints(max_length=64)] | None = None


class ModelVersionSpec(ApiModel):
    """A registry entry. model, version and artifact are immutable: a new artifact is a new
    ModelVersion, so what was approved is what runs."""

    model: Name
    """Registry name; a ModelDeployment serves versions of one model."""
    version: Annotated[str, StringConstraints(max_length=64, pattern=SEMVER_PATTERN)]
    """Semantic version MAJOR.MINOR.PATCH."""
    artifact: Artifact
    runtime: Runtime
    lineage: Lineage = Field(default_factory=Lineage)
    risk_tier: Annotated[int, Field(ge=1, le=4)] = 3
    """1 critical … 4 experimental; sets the required approvals and default thresholds."""
    owner: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    metrics: OfflineMetrics | None = None
    model_card: ModelCard = Field(default_factory=ModelCard)
    approvals: Annotated[list[Approval], Field(max_length=64)] = Field(default_factory=list)
    stage_request: StageRequest | None = None
    """Ask the operator to move the version (e.g. to Staging or Production); see the status
    ``StageRequest`` condition for the verdict."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="self.model == oldSelf.model && self.version == oldSelf.version"
            " && self.artifact == oldSelf.artifact",
            message="model, version and artifact are immutable: register a new ModelVersion",
        ),
    )


class GateResult(StatusModel):
    """One governance gate: what was measured against what."""

    name: str
    passed: bool
    value: str = ""
    threshold: str = ""
    message: str = ""


class ServedBy(StatusModel):
    deployment: str
    role: ServingRole


class HistoryEntry(StatusModel):
    """One stage transition; the bounded in-object audit trail (Events keep the full one)."""

    at: str
    from_: str = Field(default="", alias="from")
    to: str
    reason: str = ""
    actor: str = ""


class ModelVersionStatus(StatusModel):
    stage: Stage = "Registered"
    gates: list[GateResult] = Field(default_factory=list)
    approvals: list[Approval] = Field(default_factory=list)
    served_by: list[ServedBy] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
    handled_stage_request: str = ""
    """Key (stage@at@by) of the last ``spec.stageRequest`` acted on: each is acted on once."""
    observed_generation: int | None = None


class ModelVersion(Resource):
    kind: Literal["ModelVersion"] = "ModelVersion"
    spec: ModelVersionSpec
    status: ModelVersionStatus | None = None
