"""Governance gates: what a ModelVersion must show before it may move up a stage.

Every gate is a pure function returning a :class:`GateResult` that says what was measured
(``value``) against what (``threshold``), so ``kubectl get mv -o yaml`` explains a refusal
without reading operator logs. :func:`evaluate_gates` always returns at least one result per
gate family (a ``passed`` placeholder when there is nothing to check), so that a caller that
forgot to evaluate a family is refused by :func:`modelwarden.decide.stages.transition` instead
of waved through.

Families (the part of a gate's name before ``/``):

* ``LineageComplete`` — all of dataSnapshot, codeCommit, configHash, environment and seed are
  recorded; blocking for the tiers in ``GovernanceConfig.lineage_required_tiers`` (1–2),
  advisory otherwise;
* ``OfflineMetric/<metric>`` — the per-tier bounds of ``GovernanceConfig.thresholds_by_tier``;
* ``ChampionChallenger`` — the challenger beats the Production version by more than δ;
* ``Guardrail/<metric>`` — the deployment's ``promotion.championChallenger.guardrails``;
* ``Approvals`` — the roles required by risk tier, or by ``promotion.requireApprovals``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from modelwarden.api.base import Condition
from modelwarden.api.modeldeployment import ChampionChallenger, Guardrail, Promotion
from modelwarden.api.modelversion import Approval, GateResult, ModelVersionSpec
from modelwarden.decide.conditions import set_condition

LINEAGE = "LineageComplete"
OFFLINE_METRIC = "OfflineMetric"
CHAMPION_CHALLENGER = "ChampionChallenger"
GUARDRAIL = "Guardrail"
APPROVALS = "Approvals"
FAMILIES = (LINEAGE, OFFLINE_METRIC, CHAMPION_CHALLENGER, GUARDRAIL, APPROVALS)

LINEAGE_FIELDS = {
    "data_snapshot": "dataSnapshot",
    "code_commit": "codeCommit",
    "config_hash": "configHash",
    "environment": "environment",
    "seed": "seed",
}
"""Lineage attribute → wire name of the fields a rebuild needs (trainingRun etc. are extras)."""
Z_975 = 1.96
"""The two-sided 95 % normal quantile used by ``margin: auto``."""


def _default_thresholds() -> dict[int, tuple[Guardrail, ...]]:
    # Tier 1–2 models must report calibration and fairness; everyone but tier 4 a latency.
    latency = Guardrail(metric="p95LatencyMs", max=500.0)
    return {
        1: (
            Guardrail(metric="ece", max=0.05),
            Guardrail(metric="fairnessGap", max=0.05),
            Guardrail(metric="p95LatencyMs", max=250.0),
        ),
        2: (Guardrail(metric="ece", max=0.1), Guardrail(metric="fairnessGap", max=0.1), latency),
        3: (latency,),
        4: (),
    }


def _default_approvals() -> dict[int, tuple[str, ...]]:
    return {
        1: ("ml-lead", "compliance", "business-owner"),
        2: ("ml-lead", "compliance"),
        3: ("peer",),
        4: (),
    }


def _default_role_groups() -> dict[str, tuple[str, ...]]:
    return {
        "ml-lead": ("modelwarden:ml-leads",),
        "compliance": ("modelwarden:compliance",),
        "business-owner": ("modelwarden:business-owners",),
        "peer": ("modelwarden:ml-engineers", "modelwarden:ml-leads"),
    }


@dataclass(frozen=True)
class GovernanceConfig:
    """Operator-wide governance policy; the defaults are the documented tier table."""

    approvals_by_tier: Mapping[int, tuple[str, ...]] = field(default_factory=_default_approvals)
    """Roles whose approval a version of each risk tier needs (unless the deployment says)."""
    satisfied_by: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {"peer": ("peer", "ml-lead")}
    )
    """Required role → approval roles that count for it (a lead can act as a peer)."""
    role_groups: Mapping[str, tuple[str, ...]] = field(default_factory=_default_role_groups)
    """Approval role → groups allowed to hold it; the admission webhook enforces it."""
    thresholds_by_tier: Mapping[int, tuple[Guardrail, ...]] = field(
        default_factory=_default_thresholds
    )
    """Offline-metric bounds per risk tier; a bound on an unreported metric fails."""
    lineage_required_tiers: frozenset[int] = frozenset({1, 2})
    """Tiers for which incomplete lineage blocks promotion past Validated."""
    require_stamped_approvals: bool = True
    """Count only approvals the webhook stamped (``by`` set): an unstamped one is unverified."""


def lineage_gate(spec: ModelVersionSpec) -> GateResult:
    """Whether the artifact can be rebuilt: ``artifact = f(data, code, config, env, seed)``.

    >>> from modelwarden.api.modelversion import Lineage
    >>> spec = ModelVersionSpec.model_construct(lineage=Lineage(seed=1))
    >>> gate = lineage_gate(spec)
    >>> gate.passed, gate.value
    (False, '1/5')
    >>> gate.message
    'missing: dataSnapshot, codeCommit, configHash, environment'
    """
    missing = [wire for f, wire in LINEAGE_FIELDS.items() if getattr(spec.lineage, f) is None]
    return GateResult(
        name=LINEAGE,
        passed=not missing,
        value=f"{len(LINEAGE_FIELDS) - len(missing)}/{len(LINEAGE_FIELDS)}",
        threshold=", ".join(LINEAGE_FIELDS.values()),
        message=f"missing: {', '.join(missing)}" if missing else "lineage complete",
    )


def bound_gate(family: str, values: Mapping[str, float], bound: Guardrail) -> GateResult:
    """One metric against a ``max``/``min`` bound; an unreported metric is no evidence: fail.

    >>> bound_gate("Guardrail", {"p95LatencyMs": 18}, Guardrail(metric="p95LatencyMs", max=200))
    GateResult(name='Guardrail/p95LatencyMs', passed=True, value='18', threshold='<= 200', \
message='p95LatencyMs 18 within bounds')
    """
    name = f"{family}/{bound.metric}"
    limits = [f"<= {bound.max:g}"] if bound.max is not None else []
    limits += [f">= {bound.min:g}"] if bound.min is not None else []
    threshold = ", ".join(limits)
    if bound.metric not in values:
        return GateResult(
            name=name, passed=False, threshold=threshold, message=f"{bound.metric} not reported"
        )
    value = values[bound.metric]
    passed = (bound.max is None or value <= bound.max) and (bound.min is None or value >= bound.min)
    verdict = "within bounds" if passed else f"outside {threshold}"
    return GateResult(
        name=name,
        passed=passed,
        value=f"{value:g}",
        threshold=threshold,
        message=f"{bound.metric} {value:g} {verdict}",
    )


def auto_margin(p: float, m: int) -> float:
    """δ = 1.96·√(p(1−p)/m): the 95 % half-width of a proportion p measured on m rows.

    p is the champion's metric value: under the null hypothesis "the challenger is no better",
    the challenger's true value is p, and its measured value on its m-row evaluation set has
    standard error √(p(1−p)/m). Beating p by more than δ is then unlikely to be noise.

    >>> round(auto_margin(0.9, 2000), 5)
    0.01315
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"margin auto needs a proportion in [0, 1], got {p:g}")
    return Z_975 * math.sqrt(p * (1.0 - p) / m)


def champion_gate(
    spec: ModelVersionSpec, champion: ModelVersionSpec | None, rule: ChampionChallenger
) -> GateResult:
    """The challenger must beat the champion on ``rule.metric`` (higher is better) by > δ.

    With no champion (first version, or the Production version is Degraded) there is nothing
    to beat and the gate passes; so it does when the champion never reported the metric.
    """
    metric = rule.metric
    if spec.metrics is None or metric not in spec.metrics.values:
        return GateResult(name=CHAMPION_CHALLENGER, passed=False, message=f"{metric} not reported")
    ours = spec.metrics.values[metric]
    theirs = champion.metrics.values.get(metric) if champion and champion.metrics else None
    if theirs is None:
        why = "no champion in Production" if champion is None else f"champion has no {metric}"
        return GateResult(
            name=CHAMPION_CHALLENGER, passed=True, value=f"{ours:g}", message=f"{why}: pass"
        )
    size = spec.metrics.evaluation_set.size
    try:
        delta = auto_margin(theirs, size) if rule.margin == "auto" else float(rule.margin)
    except ValueError as exc:
        return GateResult(name=CHAMPION_CHALLENGER, passed=False, message=str(exc))
    gain = ours - theirs
    passed = gain > delta
    how = f"auto, m={size}" if rule.margin == "auto" else "fixed"
    return GateResult(
        name=CHAMPION_CHALLENGER,
        passed=passed,
        value=f"{ours:.4g} vs {theirs:.4g} ({gain:+.4g})",
        threshold=f"> {delta:+.4g}",
        message=f"{metric} {'beats' if passed else 'does not beat'} the champion by more than"
        f" {delta:.4g} (margin {how})",
    )


def required_roles(
    risk_tier: int, promotion: Promotion | None, config: GovernanceConfig
) -> tuple[str, ...]:
    """The deployment's ``requireApprovals`` if set (even empty), else the tier's default."""
    if promotion is not None and promotion.require_approvals is not None:
        return tuple(promotion.require_approvals)
    return tuple(config.approvals_by_tier.get(risk_tier, ()))


def _standing(approvals: list[Approval], config: GovernanceConfig) -> dict[tuple[str, str], str]:
    """(role, approver) → latest decision: an approver may withdraw their own reject."""
    latest: dict[tuple[str, str], str] = {}
    for approval in approvals:
        if config.require_stamped_approvals and not approval.by:
            continue
        latest[(approval.role, approval.by or "")] = approval.decision
    return latest


def approvals_gate(
    spec: ModelVersionSpec, promotion: Promotion | None, config: GovernanceConfig
) -> GateResult:
    """Every required role approved and no standing reject from anyone holding one."""
    required = required_roles(spec.risk_tier, promotion, config)
    standing = _standing(spec.approvals, config)
    missing, rejected = [], []
    for role in required:
        counts = config.satisfied_by.get(role, (role,))
        decisions = [d for (r, _), d in standing.items() if r in counts]
        if "reject" in decisions:
            rejected.append(role)
        elif "approve" not in decisions:
            missing.append(role)
    problems = [f"rejected by {', '.join(rejected)}"] if rejected else []
    problems += [f"missing {', '.join(missing)}"] if missing else []
    approved = sorted({r for (r, _), d in standing.items() if d == "approve"})
    return GateResult(
        name=APPROVALS,
        passed=not problems,
        value=", ".join(approved),
        threshold=", ".join(required) or "none",
        message="; ".join(problems) or "all required approvals present",
    )


def _placeholder(family: str, why: str) -> GateResult:
    return GateResult(name=family, passed=True, message=why)


def evaluate_gates(
    spec: ModelVersionSpec,
    champion: ModelVersionSpec | None,
    promotion: Promotion | None,
    config: GovernanceConfig,
) -> list[GateResult]:
    """All gates for ``spec``; ``champion`` is the version in Production (not Degraded)."""
    values = spec.metrics.values if spec.metrics else {}
    bounds = config.thresholds_by_tier.get(spec.risk_tier, ())
    gates = [lineage_gate(spec)]
    gates += [bound_gate(OFFLINE_METRIC, values, b) for b in bounds] or [
        _placeholder(OFFLINE_METRIC, f"no offline thresholds for tier {spec.risk_tier}")
    ]
    rule = promotion.champion_challenger if promotion else None
    if rule is None:
        gates.append(_placeholder(CHAMPION_CHALLENGER, "not configured"))
        gates.append(_placeholder(GUARDRAIL, "not configured"))
    else:
        gates.append(champion_gate(spec, champion, rule))
        gates += [bound_gate(GUARDRAIL, values, g) for g in rule.guardrails] or [
            _placeholder(GUARDRAIL, "no guardrails configured")
        ]
    gates.append(approvals_gate(spec, promotion, config))
    return gates


def lineage_condition(
    conditions: list[Condition], gates: list[GateResult], now: str, generation: int | None = None
) -> list[Condition]:
    """``conditions`` with ``LineageComplete`` set from the lineage gate (False when missing)."""
    gate = next(g for g in gates if g.name == LINEAGE)
    reason = "Complete" if gate.passed else "Missing"
    return set_condition(
        conditions,
        LINEAGE,
        true=gate.passed,
        reason=reason,
        message=gate.message,
        now=now,
        generation=generation,
    )


def family(gate: GateResult) -> str:
    """``OfflineMetric/auc`` → ``OfflineMetric``."""
    return gate.name.partition("/")[0]
