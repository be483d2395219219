"""A Markdown model card from a ModelVersion and, optionally, its DriftPolicy status.

The card is evidence for a reviewer, so it shows gaps instead of hiding them: an empty section
reads "Not documented." and a missing lineage field reads "missing". Fairness results come from
the DriftPolicy status (checks of kind ``fairness``), because fairness is measured on live
traffic, not only offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelwarden.api.driftpolicy import DriftPolicyStatus
from modelwarden.api.modelversion import ModelVersionSpec, ModelVersionStatus

_UNDOCUMENTED = "_Not documented._"
_LINEAGE_ROWS = (
    ("Data snapshot", "data_snapshot"),
    ("Code commit", "code_commit"),
    ("Config hash", "config_hash"),
    ("Environment", "environment"),
    ("Seed", "seed"),
    ("Training run", "training_run"),
    ("Feature set", "feature_set"),
)


def _cell(value: object) -> str:
    """A table cell: pipes escaped and newlines folded, so one value cannot break the table."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]


def _section(title: str, body: list[str]) -> list[str]:
    return [f"## {title}", "", *body, ""]


def _text(value: str) -> list[str]:
    return [value.strip() or _UNDOCUMENTED]


def _lineage(spec: ModelVersionSpec) -> list[str]:
    rows = [(label, getattr(spec.lineage, attr)) for label, attr in _LINEAGE_ROWS]
    return _table(("Field", "Value"), [(k, "missing" if v is None else f"`{v}`") for k, v in rows])


def _metrics(spec: ModelVersionSpec) -> list[str]:
    if spec.metrics is None:
        return ["_No offline metrics recorded._"]
    ev = spec.metrics.evaluation_set
    digest = f", digest `{ev.digest}`" if ev.digest else ""
    head = [f"Evaluation set **{ev.name}** ({ev.size} rows{digest}).", ""]
    rows = [(name, f"{value:g}") for name, value in sorted(spec.metrics.values.items())]
    return head + _table(("Metric", "Value"), rows)


def _fairness(drift_status: dict[str, Any] | None) -> list[str]:
    if drift_status is None:
        return ["_No DriftPolicy status given._"]
    checks = [
        c for c in DriftPolicyStatus.model_validate(drift_status).checks if c.kind == "fairness"
    ]
    if not checks:
        return ["_No fairness results in the DriftPolicy status._"]
    rows = [
        (
            c.feature,
            c.method,
            "" if c.statistic is None else f"{c.statistic:.4g}",
            "" if c.threshold is None else f"{c.threshold:g}",
            c.severity,
            c.samples,
        )
        for c in checks
    ]
    return _table(("Attribute", "Metric", "Value", "Threshold", "Severity", "Samples"), rows)


def _approvals(spec: ModelVersionSpec) -> list[str]:
    if not spec.approvals:
        return ["_No approvals recorded._"]
    rows = [
        (a.role, a.decision, a.by or "unverified", a.at or "", a.comment) for a in spec.approvals
    ]
    return _table(("Role", "Decision", "By", "When", "Comment"), rows)


def _history(status: ModelVersionStatus | None) -> list[str]:
    if status is None or not status.history:
        return ["_No stage changes recorded._"]
    rows = [(h.at, h.from_ or "—", h.to, h.actor, h.reason) for h in status.history]
    return _table(("When", "From", "To", "By", "Reason"), rows)


def render_model_card(
    name: str,
    spec: ModelVersionSpec,
    status: ModelVersionStatus | None,
    drift_status: dict[str, Any] | None,
) -> str:
    """The model card of ModelVersion ``name`` as Markdown."""
    card = spec.model_card
    stage = status.stage if status is not None else "Registered"
    overview = _table(
        ("Field", "Value"),
        [
            ("Model", spec.model),
            ("Version", spec.version),
            ("Stage", stage),
            ("Risk tier", spec.risk_tier),
            ("Owner", spec.owner),
            ("Artifact", f"`{spec.artifact.uri}` ({spec.artifact.format})"),
            ("Digest", f"`{spec.artifact.digest}`"),
        ],
    )
    lines = [f"# Model card: {spec.model} {spec.version}", "", f"ModelVersion `{name}`.", ""]
    lines += _section("Overview", overview)
    lines += _section("Intended use", _text(card.intended_use))
    lines += _section("Out of scope", _text(card.out_of_scope))
    lines += _section("Limitations", _text(card.limitations))
    lines += _section("Ethical considerations", _text(card.ethical_considerations))
    data = [
        "**Training data.** " + (card.training_data.strip() or _UNDOCUMENTED),
        "",
        "**Evaluation data.** " + (card.evaluation_data.strip() or _UNDOCUMENTED),
        "",
        *_lineage(spec),
    ]
    lines += _section("Data and lineage", data)
    lines += _section("Offline metrics", _metrics(spec))
    lines += _section("Fairness", _fairness(drift_status))
    lines += _section("Approvals", _approvals(spec))
    lines += _section("Stage history", _history(status))
    return "\n".join(lines).rstrip() + "\n"
