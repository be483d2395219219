"""From a DriftPolicySpec to the drift engine's CheckSpecs, with risk-tier default thresholds.

A feature check that leaves its thresholds unset gets the defaults of the served
ModelVersion's risk tier: the tier-3 values below scaled by :data:`TIER_FACTOR` (tier 1,
critical models, alarms at half the drift; tier 4, experiments, at one and a half times).
A check that sets only ``pValue`` stays a pure significance test (no thresholds added); one
that sets only one threshold gets the other from the table, capped so warning ≤ critical.

Checks on labelled rows (performance, calibration, equal opportunity) are returned apart:
they run on the sidecars' labelled summary (rows joined with ``/v1/feedback``), the others on
all traffic.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelwarden.api.driftpolicy import DriftPolicySpec
from modelwarden.drift.stats.base import CheckSpec

#: tier-3 (warning, critical) per engine method; the statistic each method reports is in
#: docs/drift.md (chi2 has no effect size and defaults to a significance test at alpha 0.01)
TIER3_THRESHOLDS: dict[str, tuple[float, float]] = {
    "psi": (0.1, 0.25),
    "ks": (0.1, 0.2),
    "js": (0.1, 0.2),
    "wasserstein": (0.1, 0.2),
    "cosine": (0.05, 0.15),
    "new_category": (0.01, 0.05),
}
TIER_FACTOR: dict[int, float] = {1: 0.5, 2: 0.75, 3: 1.0, 4: 1.5}
DEFAULT_ALPHA = 0.01
_ENGINE_METHOD = {"newCategory": "new_category"}
_FAIRNESS_METHOD = {
    "demographicParity": "demographic_parity_difference",
    "equalOpportunity": "equal_opportunity_difference",
    "disparateImpact": "disparate_impact_ratio",
}
_NEEDS_LABELS = {"equal_opportunity_difference"}


@dataclass(frozen=True)
class PolicyChecks:
    traffic: list[CheckSpec]
    labelled: list[CheckSpec]


def tier_thresholds(method: str, tier: int) -> tuple[float, float] | None:
    """Default (warning, critical) of ``method`` for ``tier``; None for chi2.

    >>> tier_thresholds("psi", 3), tier_thresholds("psi", 1)
    ((0.1, 0.25), (0.05, 0.125))
    """
    base = TIER3_THRESHOLDS.get(method)
    if base is None:
        return None
    factor = TIER_FACTOR.get(tier, 1.0)
    return round(base[0] * factor, 6), round(base[1] * factor, 6)


def _thresholds(
    method: str,
    tier: int,
    warning: float | None,
    critical: float | None,
    p_value: float | None,
) -> tuple[float | None, float | None, float | None]:
    """(warning, critical, alpha) after filling the unset thresholds from the tier table."""
    unset = warning is None and critical is None
    defaults = tier_thresholds(method, tier)
    if (unset and p_value is not None) or defaults is None:
        return warning, critical, DEFAULT_ALPHA if unset and p_value is None else p_value
    if critical is None:
        critical = max(defaults[1], warning or 0.0)
    if warning is None:
        warning = min(defaults[0], critical)
    return warning, critical, p_value


def _half(limit: float) -> tuple[float, float]:
    """Warning at half the limit, Critical at the limit."""
    return limit / 2, limit


def build_checks(
    spec: DriftPolicySpec, tier: int, prediction_feature: str | None = None
) -> PolicyChecks:
    """Every check the policy configures, in a stable order (status rows follow it).

    ``prediction_feature`` is the profile's prediction column (the prediction check is skipped
    without one). Data checks need ``window.minSamples`` rows; fairness groups and labelled
    checks a tenth of that, since labels and groups are scarcer.
    """
    n = spec.window.min_samples
    few = max(1, n // 10)
    traffic: list[CheckSpec] = []
    labelled: list[CheckSpec] = []
    for f in spec.features:
        method = _ENGINE_METHOD.get(f.method, f.method)
        warning, critical, alpha = _thresholds(method, tier, f.warning, f.critical, f.p_value)
        traffic.append(CheckSpec("data", f.name, method, warning, critical, alpha, n))
    if spec.prediction is not None and prediction_feature is not None:
        p = spec.prediction
        warning, critical, alpha = _thresholds(p.method, tier, p.warning, p.critical, p.p_value)
        traffic.append(
            CheckSpec("prediction", prediction_feature, p.method, warning, critical, alpha, n)
        )
    if spec.missing_values is not None:
        warning, critical = _half(spec.missing_values.max_increase)
        for f in spec.features:
            traffic.append(CheckSpec("missing", f.name, "missing", warning, critical, None, n))
    if spec.fairness is not None:
        fair = spec.fairness
        for attribute in fair.attributes:
            for metric in fair.metrics:
                method = _FAIRNESS_METHOD[metric]
                limit = (
                    1 - fair.max_difference if metric == "disparateImpact" else fair.max_difference
                )
                critical_only = fair.severity == "Critical"
                warning, critical = (None, limit) if critical_only else (limit, None)
                check = CheckSpec("fairness", attribute, method, warning, critical, None, few)
                (labelled if method in _NEEDS_LABELS else traffic).append(check)
    if spec.performance is not None:
        perf = spec.performance
        warning, critical = _half(perf.max_drop)
        labelled.append(
            CheckSpec("performance", None, perf.metric, warning, critical, None, few, perf.baseline)
        )
    if spec.calibration is not None:
        cal = spec.calibration
        limits = {"ece": cal.ece_max, "brier": cal.brier_max}
        for method, cal_limit in limits.items():
            if cal_limit is not None:
                low, high = _half(cal_limit)
                labelled.append(CheckSpec("calibration", None, method, low, high, None, few))
    return PolicyChecks(traffic, labelled)
