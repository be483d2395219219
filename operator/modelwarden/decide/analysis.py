"""The analysis verdict: do a version's live signals pass the slot's checks?

Pure: the handler gathers the merged evaluator signals, DriftPolicy verdicts and Prometheus
values; this module only compares them with the configured bounds. Too few samples is
``Inconclusive`` — never ``Pass`` — so a rollout cannot be promoted on thin evidence.

>>> from modelwarden.api.modeldeployment import AnalysisCheck, ErrorRateBound
>>> checks = [AnalysisCheck(error_rate=ErrorRateBound(max=0.01))]
>>> analyse(checks, 100, Signals(samples=40, errors=0), {}, {}).verdict
'Inconclusive'
>>> analyse(checks, 100, Signals(samples=400, errors=1), {}, {}).verdict
'Pass'
>>> analyse(checks, 100, Signals(samples=400, errors=12), {}, {}).message
'error rate 3.00% > max 1.00% over 400 requests'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from modelwarden.api.driftpolicy import DriftPolicyStatus
from modelwarden.api.modeldeployment import AnalysisCheck, Verdict
from modelwarden.decide.plan import Signals

_SEVERITY_RANK = {"Stable": 0, "Warning": 1, "Critical": 2}


def judged_verdict(policy: DriftPolicyStatus, canary: str) -> str | None:
    """The DriftPolicy verdict a slot's analysis judges: during a rollout the canary's own
    (the policy judges the canary's traffic apart), else the stable traffic's. None while
    there is none yet, so the analysis waits instead of judging the other version's traffic.

    >>> from modelwarden.api.driftpolicy import CanaryVerdict
    >>> status = DriftPolicyStatus(verdict="Stable", last_evaluation="2026-11-23T12:00:00Z",
    ...                            canary=CanaryVerdict(version="v2", verdict="Critical"))
    >>> judged_verdict(status, ""), judged_verdict(status, "v2"), judged_verdict(status, "v3")
    ('Stable', 'Critical', None)
    >>> judged_verdict(DriftPolicyStatus(), "") is None  # never evaluated
    True
    """
    if not canary:
        return policy.verdict if policy.last_evaluation else None
    judged = policy.canary
    return judged.verdict if judged is not None and judged.version == canary else None


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    message: str
    samples: int = 0
    error_rate: float | None = None
    latency_p99_ms: float | None = None


def analyse(
    checks: Sequence[AnalysisCheck],
    min_samples: int,
    signals: Signals | None,
    drift_verdicts: Mapping[str, str],
    prometheus: Mapping[str, float | None],
) -> Outcome:
    """The verdict of every check together: any failure fails, any unknown is inconclusive."""
    samples = signals.samples if signals else 0

    def outcome(verdict: Verdict, message: str) -> Outcome:
        return Outcome(
            verdict,
            message,
            samples,
            signals.error_rate if signals else None,
            signals.latency_p99_ms if signals else None,
        )

    if samples < min_samples:
        return outcome("Inconclusive", f"waiting for {min_samples} samples, have {samples}")
    failures: list[str] = []
    unknown: list[str] = []
    for check in checks:
        failed, missing = _judge(check, signals, drift_verdicts, prometheus)
        failures += failed
        unknown += missing
    if failures:
        return outcome("Fail", "; ".join(failures))
    if unknown:
        return outcome("Inconclusive", "; ".join(unknown))
    return outcome("Pass", f"{len(checks)} checks passed over {samples} requests")


def _judge(
    check: AnalysisCheck,
    signals: Signals | None,
    drift_verdicts: Mapping[str, str],
    prometheus: Mapping[str, float | None],
) -> tuple[list[str], list[str]]:
    """(failure messages, unknown messages) of one check."""
    samples = signals.samples if signals else 0
    if check.error_rate is not None:
        rate = signals.error_rate if signals else None
        if rate is not None and rate > check.error_rate.max:
            return [
                f"error rate {rate:.2%} > max {check.error_rate.max:.2%} over {samples} requests"
            ], []
    if check.latency_p99_ms is not None:
        p99 = signals.latency_p99_ms if signals else None
        if p99 is None:
            return [], ["no latency histogram yet"]
        if p99 > check.latency_p99_ms.max:
            return [f"p99 latency {p99:.1f} ms > max {check.latency_p99_ms.max:g} ms"], []
    if check.drift_policy is not None:
        name = check.drift_policy.name
        verdict = drift_verdicts.get(name)
        if verdict is None:
            return [], [f"DriftPolicy {name} has no verdict yet"]
        if verdict == "InsufficientData":
            return [], [f"DriftPolicy {name} has too few samples for a verdict"]
        if _SEVERITY_RANK.get(verdict, 0) >= _SEVERITY_RANK[check.drift_policy.fail_on]:
            return [f"DriftPolicy {name} is {verdict}"], []
    if check.prometheus is not None:
        query = check.prometheus.query
        value = prometheus.get(query)
        if value is None:
            return [], [f"no answer from Prometheus for {query!r}"]
        if check.prometheus.max is not None and value > check.prometheus.max:
            return [f"{query!r} = {value:g} > max {check.prometheus.max:g}"], []
        if check.prometheus.min is not None and value < check.prometheus.min:
            return [f"{query!r} = {value:g} < min {check.prometheus.min:g}"], []
    return [], []
