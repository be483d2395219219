"""Run checks: one entry point, :func:`evaluate`, over a profile and a window summary.

Multiple testing: every check with a significance level (``p_value``) and a p-value is put
in a family with the other checks of the same method in the same call (e.g. KS over all
features), and its p-value is adjusted within the family — Benjamini–Hochberg by default,
Bonferroni or none on request — before it is compared to alpha.  Reported ``p_value`` is the
raw one; the message shows the adjusted one.

>>> from modelwarden.drift.build import build_profile
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> profile = build_profile({"x": rng.normal(size=5000)})
>>> window = WindowSummary.empty(profile)
>>> window.add_columns({"x": rng.normal(1.0, size=2000)})
>>> [(r.method, r.severity) for r in evaluate(profile, window, default_specs(profile))]
[('psi', 'Critical'), ('ks', 'Critical'), ('chi2', 'Critical'), ('js', 'Critical'), \
('wasserstein', 'Critical'), ('missing', 'Ok')]
"""

from __future__ import annotations

from collections.abc import Sequence

from modelwarden.drift.profile import FeatureType, ReferenceProfile
from modelwarden.drift.stats.base import (
    CheckResult,
    CheckSpec,
    Correction,
    Statistic,
    adjust,
    judge,
    sufficient,
)
from modelwarden.drift.stats.calibration import ECE, Brier
from modelwarden.drift.stats.chi2 import ChiSquared
from modelwarden.drift.stats.cosine import Cosine
from modelwarden.drift.stats.fairness import (
    DemographicParityDifference,
    DisparateImpactRatio,
    EqualizedOddsDifference,
    EqualOpportunityDifference,
)
from modelwarden.drift.stats.js import JensenShannon
from modelwarden.drift.stats.ks import KS
from modelwarden.drift.stats.missing import MissingRate
from modelwarden.drift.stats.new_category import NewCategory
from modelwarden.drift.stats.performance import (
    AccuracyDrop,
    AUCDrop,
    F1Drop,
    PrecisionDrop,
    RecallDrop,
)
from modelwarden.drift.stats.psi import PSI
from modelwarden.drift.stats.wasserstein import Wasserstein
from modelwarden.drift.summary import WindowSummary

__all__ = ["METHODS", "CheckResult", "CheckSpec", "default_specs", "evaluate", "worst"]

METHODS: dict[str, Statistic] = {
    s.name: s
    for s in (
        PSI(),
        KS(),
        ChiSquared(),
        JensenShannon(),
        Wasserstein(),
        Cosine(),
        MissingRate(),
        NewCategory(),
        AccuracyDrop(),
        PrecisionDrop(),
        RecallDrop(),
        F1Drop(),
        AUCDrop(),
        ECE(),
        Brier(),
        DemographicParityDifference(),
        DisparateImpactRatio(),
        EqualOpportunityDifference(),
        EqualizedOddsDifference(),
    )
}


def statistic_for(spec: CheckSpec) -> Statistic:
    """The statistic a spec names; ``ValueError`` if unknown or the wrong kind."""
    stat = METHODS.get(spec.method)
    if stat is None:
        raise ValueError(f"unknown method {spec.method!r}; known: {', '.join(METHODS)}")
    if spec.kind not in stat.kinds:
        raise ValueError(f"method {spec.method!r} does not serve kind {spec.kind!r}")
    return stat


def evaluate(
    profile: ReferenceProfile,
    summary: WindowSummary,
    specs: Sequence[CheckSpec],
    correction: Correction = "bh",
) -> list[CheckResult]:
    """Score and judge every spec, in order, correcting p-values per method family."""
    stats = [statistic_for(spec) for spec in specs]
    scores = [stat.score(profile, summary, spec) for stat, spec in zip(stats, specs, strict=True)]
    families: dict[str, list[int]] = {}
    for i, (spec, score) in enumerate(zip(specs, scores, strict=True)):
        if spec.p_value is not None and score.p_value is not None and sufficient(spec, score):
            families.setdefault(spec.method, []).append(i)
    adjusted: list[float | None] = [None] * len(specs)
    for members in families.values():
        raw = [scores[i].p_value or 0.0 for i in members]
        for i, p in zip(members, adjust(raw, correction), strict=True):
            adjusted[i] = p
    return [
        judge(spec, stat.label, stat.higher_is_worse, score, adjusted[i])
        for i, (spec, stat, score) in enumerate(zip(specs, stats, scores, strict=True))
    ]


def worst(results: Sequence[CheckResult]) -> str:
    """The most severe verdict ("Ok" if none alarmed)."""
    order = {"Ok": 0, "InsufficientData": 0, "Warning": 1, "Critical": 2}
    top = max(results, key=lambda r: order[r.severity], default=None)
    return top.severity if top is not None and order[top.severity] else "Ok"


def _binned(kind: str, name: str, numeric: bool, n: int) -> list[CheckSpec]:
    specs = [CheckSpec(kind, name, "psi", 0.1, 0.25, min_samples=n)]
    if numeric:
        specs.append(CheckSpec(kind, name, "ks", 0.1, 0.2, p_value=0.05, min_samples=n))
    specs += [
        CheckSpec(kind, name, "chi2", p_value=0.01, min_samples=n),
        CheckSpec(kind, name, "js", 0.1, 0.2, min_samples=n),
    ]
    if numeric:
        specs.append(CheckSpec(kind, name, "wasserstein", 0.1, 0.2, min_samples=n))
    else:
        specs.append(CheckSpec(kind, name, "new_category", 0.01, 0.05, min_samples=n))
    return specs


def default_specs(profile: ReferenceProfile, min_samples: int = 100) -> list[CheckSpec]:
    """Every applicable check with the documented default thresholds (docs/drift.md)."""
    n = min_samples
    specs: list[CheckSpec] = []
    for name, f in profile.features.items():
        kind = "prediction" if f.type in (FeatureType.PREDICTION, FeatureType.LABEL) else "data"
        if f.type is FeatureType.EMBEDDING:
            specs.append(CheckSpec(kind, name, "cosine", 0.05, 0.15, min_samples=n))
        else:
            specs += _binned(kind, name, f.is_numeric, n)
        specs.append(CheckSpec("missing", name, "missing", 0.05, 0.2, min_samples=n))
    outcome = profile.outcome
    if outcome is not None and outcome.label is not None:
        for metric in ("accuracy", "precision", "recall", "f1", "auc"):
            if metric in outcome.baseline:
                specs.append(CheckSpec("performance", None, metric, 0.05, 0.1, min_samples=n))
        specs.append(CheckSpec("calibration", None, "ece", 0.05, 0.1, min_samples=n))
        specs.append(CheckSpec("calibration", None, "brier", 0.25, 0.3, min_samples=n))
    for attribute in outcome.protected if outcome else ():
        specs += [
            CheckSpec(
                "fairness", attribute, "demographic_parity_difference", 0.1, 0.2, min_samples=n
            ),
            CheckSpec("fairness", attribute, "disparate_impact_ratio", 0.8, 0.6, min_samples=n),
        ]
        if outcome is not None and outcome.label is not None:
            specs.append(
                CheckSpec(
                    "fairness", attribute, "equal_opportunity_difference", 0.1, 0.2, min_samples=n
                )
            )
    return specs
