"""The one interface every statistic implements, and the judging every statistic shares.

A statistic only computes a :class:`Score` (value, p-value if it has one, sample sizes).
Everything that turns a score into a verdict lives here, once: the minimum-sample guard
(too few samples is ``InsufficientData``, never an alarm), warning/critical thresholds, the
direction of "worse", p-value significance after multiple-testing correction, and the message
in words.

Severity rules:

* ``warning``/``critical`` thresholds compare the statistic (``>=`` when higher is worse,
  ``<=`` for ratios such as disparate impact where lower is worse);
* if the spec also sets ``p_value`` (the significance level alpha) and the statistic has a
  p-value, an alarm additionally requires significance after correction; with *only*
  ``p_value`` set, a significant result is ``Critical``.

>>> spec = CheckSpec(kind="data", feature="amount", method="psi", warning=0.1, critical=0.25)
>>> judge(spec, "PSI", True, Score(0.31, None, 50_000, 12_400), None).message
'PSI of amount 0.31 ≥ critical 0.25 over 12,400 samples'
>>> judge(spec, "PSI", True, Score(0.31, None, 50_000, 40), None).severity
'InsufficientData'
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from modelwarden.drift.profile import ReferenceProfile
    from modelwarden.drift.summary import WindowSummary

Kind = Literal["data", "prediction", "performance", "fairness", "calibration", "missing"]
Severity = Literal["Ok", "Warning", "Critical", "InsufficientData"]
Correction = Literal["none", "bonferroni", "bh"]
KINDS: tuple[str, ...] = ("data", "prediction", "performance", "fairness", "calibration", "missing")
SEVERITY_ORDER: dict[str, int] = {"Ok": 0, "InsufficientData": 0, "Warning": 1, "Critical": 2}


@dataclass(frozen=True)
class CheckSpec:
    """One check to run: which statistic on which feature, with which thresholds.

    ``p_value`` is the significance level alpha for statistics that have a p-value.
    ``baseline`` overrides the profile's reference value for performance checks.
    """

    kind: str
    feature: str | None
    method: str
    warning: float | None = None
    critical: float | None = None
    p_value: float | None = None
    min_samples: int = 100
    baseline: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"check kind {self.kind!r} is not one of {KINDS}")
        if self.min_samples < 1:
            raise ValueError("min_samples must be >= 1")


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check; ``message`` explains it in words."""

    kind: str
    feature: str | None
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    severity: Severity
    n_reference: int
    n_current: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form documented in docs/drift.md."""
        return {
            "kind": self.kind,
            "feature": self.feature,
            "method": self.method,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "threshold": self.threshold,
            "severity": self.severity,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "message": self.message,
        }


@dataclass(frozen=True)
class Score:
    """What a statistic computed.  ``reference_required`` is false when the reference side
    needs no samples (e.g. a performance check against a fixed baseline)."""

    statistic: float
    p_value: float | None
    n_reference: int
    n_current: int
    detail: str = ""
    reference_required: bool = True

    @classmethod
    def insufficient(cls, reason: str) -> Score:
        """Nothing to compute (no such feature, no labels, too few groups)."""
        return cls(math.nan, None, 0, 0, reason)


class Statistic(ABC):
    """A drift/quality statistic: subclasses set the class variables and implement
    :meth:`score`, nothing else."""

    #: method name used in :class:`CheckSpec`
    name: ClassVar[str]
    #: short name used in messages ("PSI", "KS")
    label: ClassVar[str]
    #: check kinds this statistic may serve
    kinds: ClassVar[tuple[str, ...]]
    #: False for ratios where smaller values are worse
    higher_is_worse: ClassVar[bool] = True

    @abstractmethod
    def score(self, profile: ReferenceProfile, summary: WindowSummary, spec: CheckSpec) -> Score:
        """Compute the statistic for ``spec.feature`` (or the whole outcome)."""


def _fmt(value: float) -> str:
    """Three significant digits; thousands separators from 1,000 on."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def adjust(p_values: list[float], correction: Correction) -> list[float]:
    """Multiple-testing adjusted p-values (compare each to alpha).

    Bonferroni multiplies by the family size ``m`` (controls the family-wise error rate);
    Benjamini–Hochberg gives ``min_{j>=i} p_(j) * m / j`` over the sorted p-values (controls
    the false discovery rate, much less conservative when many features are tested).

    >>> adjust([0.01, 0.04, 0.03], "bh")
    [0.03, 0.04, 0.04]
    >>> adjust([0.01, 0.5], "bonferroni")
    [0.02, 1.0]
    """
    m = len(p_values)
    if correction == "none" or m == 0:
        return list(p_values)
    if correction == "bonferroni":
        return [min(1.0, p * m) for p in p_values]
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        adjusted[i] = float(f"{min(1.0, running):.15g}")
    return adjusted


def sufficient(spec: CheckSpec, score: Score) -> bool:
    """Enough samples on both sides (the reference only if it matters) and a finite value."""
    if score.n_current < spec.min_samples or not math.isfinite(score.statistic):
        return False
    return not score.reference_required or score.n_reference >= spec.min_samples


def judge(
    spec: CheckSpec,
    label: str,
    higher_is_worse: bool,
    score: Score,
    adjusted_p: float | None,
) -> CheckResult:
    """Turn a score into a verdict (see the module docstring for the rules)."""
    subject = f"{label} of {spec.feature}" if spec.feature else label
    n_ref, n_cur = score.n_reference, score.n_current

    def result(severity: Severity, threshold: float | None, message: str) -> CheckResult:
        stat = score.statistic if math.isfinite(score.statistic) else None
        return CheckResult(
            spec.kind,
            spec.feature,
            spec.method,
            stat,
            score.p_value,
            threshold,
            severity,
            n_ref,
            n_cur,
            message,
        )

    if not sufficient(spec, score):
        why = score.detail or (
            f"{n_cur:,} current / {n_ref:,} reference samples < minimum {spec.min_samples:,}"
        )
        return result("InsufficientData", spec.critical or spec.warning, f"{subject}: {why}")

    def worse(threshold: float) -> bool:
        if higher_is_worse:
            return score.statistic >= threshold
        return score.statistic <= threshold

    bad, good = ("≥", "<") if higher_is_worse else ("≤", ">")
    severity: Severity = "Ok"
    threshold = spec.critical if spec.critical is not None else spec.warning
    word = "critical" if spec.critical is not None else "warning"
    if spec.critical is not None and worse(spec.critical):
        severity, threshold, word = "Critical", spec.critical, "critical"
    elif spec.warning is not None and worse(spec.warning):
        severity, threshold, word = "Warning", spec.warning, "warning"
    elif spec.warning is not None:
        threshold, word = spec.warning, "warning"
    has_thresholds = spec.warning is not None or spec.critical is not None
    sample_words = f"over {n_cur:,} samples"
    detail = f" {score.detail}" if score.detail else ""
    if spec.p_value is not None and score.p_value is not None:
        p = score.p_value if adjusted_p is None else adjusted_p
        significant = p <= spec.p_value
        p_words = f"p={_fmt(score.p_value)}"
        if adjusted_p is not None and adjusted_p != score.p_value:
            p_words += f" (adjusted {_fmt(adjusted_p)})"
        p_words += f" {'≤' if significant else '>'} {spec.p_value}"
        if not has_thresholds:
            severity = "Critical" if significant else "Ok"
            message = f"{subject} {_fmt(score.statistic)}, {p_words} {sample_words}{detail}"
            return result(severity, spec.p_value, message)
        if not significant:
            severity = "Ok"
        relation = bad if worse(threshold or 0.0) else good
        message = (
            f"{subject} {_fmt(score.statistic)} {relation} {word} {_fmt(threshold or 0.0)}, "
            f"{p_words} {sample_words}{detail}"
        )
        return result(severity, threshold, message)
    if threshold is None:
        return result("Ok", None, f"{subject} {_fmt(score.statistic)} {sample_words}{detail}")
    relation = bad if worse(threshold) else good
    message = (
        f"{subject} {_fmt(score.statistic)} {relation} {word} {_fmt(threshold)} {sample_words}"
    )
    return result(severity, threshold, message + detail)
