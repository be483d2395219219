"""The `/v1/report` JSON schema and the cross-pod merge the operator runs on it.

This module is deliberately free of aiohttp and of any server state: the operator
imports it to pull `/v1/report` from every ready evaluator pod and fold the answers
into one view with `merge_reports`.  Everything that is counted here is a plain sum,
and the latency histogram uses fixed bucket bounds, so merging pods is exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from modelwarden.drift.summary import WindowSummary

SCHEMA_VERSION = 1

#: Upper bounds (milliseconds) of the latency histogram; one more bucket counts
#: everything above the last bound.  Fixed so histograms of all pods line up.
LATENCY_BOUNDS_MS: tuple[float, ...] = (
    0.25,
    0.5,
    1.0,
    2.0,
    3.0,
    5.0,
    7.5,
    10.0,
    15.0,
    25.0,
    50.0,
    75.0,
    100.0,
    150.0,
    250.0,
    500.0,
    750.0,
    1000.0,
    2500.0,
    5000.0,
    10000.0,
)


def histogram_quantile(bounds: Sequence[float], counts: Sequence[int], q: float) -> float | None:
    """Estimate quantile `q` (0..1) from bucket counts by linear interpolation.

    `counts[i]` counts observations in `(bounds[i-1], bounds[i]]` (the first bucket
    starts at 0) and `counts[-1]` those above `bounds[-1]`.  Within the bucket that
    holds the target rank the value is interpolated linearly between its bounds;
    a rank that falls in the overflow bucket reports the last finite bound, so the
    estimate is a lower bound there.  Returns None without observations.

    >>> histogram_quantile([1.0, 2.0], [0, 10, 0], 0.5)
    1.5
    >>> histogram_quantile([1.0, 2.0], [0, 0, 3], 0.99)
    2.0
    """
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    cumulative = 0.0
    for index, count in enumerate(counts):
        if count and cumulative + count >= rank:
            if index >= len(bounds):
                return float(bounds[-1])
            lower = 0.0 if index == 0 else float(bounds[index - 1])
            upper = float(bounds[index])
            fraction = (rank - cumulative) / count
            return lower + (upper - lower) * max(0.0, min(1.0, fraction))
        cumulative += count
    return float(bounds[-1])


class ShadowCounts(BaseModel):
    """Outcome of mirroring requests to a shadow model."""

    mirrored: int = 0
    compared: int = 0
    agreed: int = 0
    disagreed: int = 0
    errors: int = 0
    dropped: int = 0

    def merged(self, other: ShadowCounts) -> ShadowCounts:
        return ShadowCounts(
            **{name: getattr(self, name) + getattr(other, name) for name in type(self).model_fields}
        )


class GoldenSignals(BaseModel):
    """Traffic, errors and latency of one window on one pod (or summed over pods).

    `latency_counts[i]` counts requests whose latency (ms) fell in bucket `i` of
    `latency_bounds_ms`; the extra last entry counts everything slower.
    `errors` counts upstream 5xx answers plus requests the upstream never answered.
    `halted` counts requests refused with 503 while halted (not errors).
    `samples` counts rows fed to the window summary; `rejected` counts payloads the
    evaluator could not read, by reason; `dropped` counts payloads not evaluated
    because the evaluation queue was full.
    """

    requests: int = 0
    errors: int = 0
    halted: int = 0
    status: dict[str, int] = Field(default_factory=dict)
    latency_bounds_ms: list[float] = Field(default_factory=lambda: list(LATENCY_BOUNDS_MS))
    latency_counts: list[int] = Field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))
    shadow: ShadowCounts = Field(default_factory=ShadowCounts)
    samples: int = 0
    rejected: dict[str, int] = Field(default_factory=dict)
    dropped: int = 0

    def merged(self, other: GoldenSignals) -> GoldenSignals:
        """Sum two signal sets; raises ValueError when the histograms do not line up."""
        if self.latency_bounds_ms != other.latency_bounds_ms:
            raise ValueError("latency histograms use different bucket bounds")
        return GoldenSignals(
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            halted=self.halted + other.halted,
            status=dict(Counter(self.status) + Counter(other.status)),
            latency_bounds_ms=list(self.latency_bounds_ms),
            latency_counts=[
                a + b for a, b in zip(self.latency_counts, other.latency_counts, strict=True)
            ],
            shadow=self.shadow.merged(other.shadow),
            samples=self.samples + other.samples,
            rejected=dict(Counter(self.rejected) + Counter(other.rejected)),
            dropped=self.dropped + other.dropped,
        )

    def latency_quantile_ms(self, q: float) -> float | None:
        return histogram_quantile(self.latency_bounds_ms, self.latency_counts, q)


class ConfusionCell(BaseModel):
    """Count of joined feedback with this (predicted class, true label), optionally per group.

    `group_feature` is empty for the overall matrix; otherwise the cell counts only
    requests whose feature `group_feature` had value `group` (fairness slices).
    """

    model_config = ConfigDict(frozen=True)

    group_feature: str = ""
    group: str = ""
    prediction: str
    label: str
    count: int = 0

    def key(self) -> tuple[str, str, str, str]:
        return (self.group_feature, self.group, self.prediction, self.label)


class FeedbackCounts(BaseModel):
    """Labelled feedback received in a window: joined to a prediction, or not found."""

    received: int = 0
    joined: int = 0
    unmatched: int = 0

    def merged(self, other: FeedbackCounts) -> FeedbackCounts:
        return FeedbackCounts(
            received=self.received + other.received,
            joined=self.joined + other.joined,
            unmatched=self.unmatched + other.unmatched,
        )


def merge_confusion(cells: Sequence[Sequence[ConfusionCell]]) -> list[ConfusionCell]:
    """Sum confusion cells with the same key; sorted for a stable JSON form."""
    totals: Counter[tuple[str, str, str, str]] = Counter()
    for group in cells:
        for cell in group:
            totals[cell.key()] += cell.count
    return [
        ConfusionCell(group_feature=k[0], group=k[1], prediction=k[2], label=k[3], count=n)
        for k, n in sorted(totals.items())
    ]


class WindowReport(BaseModel):
    """One tumbling window of one pod.

    `summary` is `WindowSummary.to_dict()` of every evaluated row (None without a
    reference profile); `labelled_summary` summarises the rows whose label arrived
    through `/v1/feedback` in this window (features, prediction and label), which is
    where performance and fairness counts come from.

    Windows are aligned to multiples of the window length since the epoch, so the
    windows of different pods share `start` and can be merged.
    """

    start: float
    end: float
    closed: bool
    signals: GoldenSignals = Field(default_factory=GoldenSignals)
    summary: dict[str, Any] | None = None
    labelled_summary: dict[str, Any] | None = None
    profile_digest: str | None = None
    confusion: list[ConfusionCell] = Field(default_factory=list)
    feedback: FeedbackCounts = Field(default_factory=FeedbackCounts)


class HaltStatus(BaseModel):
    """Whether the pod refuses traffic, why, since when (epoch seconds), and who said so."""

    halted: bool = False
    reason: str = ""
    since: float | None = None
    by: str = ""
    source: Literal["", "file", "api"] = ""


class EvaluatorReport(BaseModel):
    """The body of `GET /v1/report` on one evaluator pod."""

    schema_version: int = SCHEMA_VERSION
    pod: str = ""
    mode: Literal["proxy", "collector"] = "proxy"
    generated_at: float
    window_seconds: float
    halt: HaltStatus = Field(default_factory=HaltStatus)
    current: WindowReport
    last_closed: WindowReport | None = None


class MergedWindow(BaseModel):
    """Windows with the same `start` from several pods, summed and merged.

    `pods` lists the pods whose window went into the signals; `summary_pods` those
    whose summary was merged (summaries built on a different reference profile than
    the most common one are left out and their pods are missing here).
    """

    start: float
    end: float
    pods: list[str] = Field(default_factory=list)
    summary_pods: list[str] = Field(default_factory=list)
    signals: GoldenSignals = Field(default_factory=GoldenSignals)
    summary: dict[str, Any] | None = None
    labelled_summary: dict[str, Any] | None = None
    profile_digest: str | None = None
    confusion: list[ConfusionCell] = Field(default_factory=list)
    feedback: FeedbackCounts = Field(default_factory=FeedbackCounts)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def error_rate(self) -> float | None:
        """Errors over requests answered or failed upstream; None without requests."""
        if self.signals.requests == 0:
            return None
        return self.signals.errors / self.signals.requests

    @computed_field  # type: ignore[prop-decorator]
    @property
    def latency_p99_ms(self) -> float | None:
        """p99 latency interpolated from the merged histogram (see histogram_quantile)."""
        return self.signals.latency_quantile_ms(0.99)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def agreement_rate(self) -> float | None:
        """Share of compared shadow predictions that agreed; None before any comparison."""
        shadow = self.signals.shadow
        if shadow.compared == 0:
            return None
        return shadow.agreed / shadow.compared

    @computed_field  # type: ignore[prop-decorator]
    @property
    def samples(self) -> int:
        """Rows that went into the merged summary."""
        return self.signals.samples

    def window_summary(self) -> WindowSummary | None:
        """The merged summary as a drift-engine object, for drift tests."""
        return None if self.summary is None else WindowSummary.from_dict(self.summary)

    def labelled_window_summary(self) -> WindowSummary | None:
        """The merged summary of labelled rows, for performance and fairness checks."""
        if self.labelled_summary is None:
            return None
        return WindowSummary.from_dict(self.labelled_summary)


class MergedReport(BaseModel):
    """All pods' reports folded together; see `merge_reports`.

    The derived figures (`error_rate`, `latency_p99_ms`, `agreement_rate`, `samples`)
    read the last closed window, which is complete, and fall back to the current
    window before any window has closed.
    """

    pods: list[str] = Field(default_factory=list)
    halted_pods: list[str] = Field(default_factory=list)
    current: MergedWindow | None = None
    last_closed: MergedWindow | None = None

    def decisive(self) -> MergedWindow | None:
        return self.last_closed if self.last_closed is not None else self.current

    @computed_field  # type: ignore[prop-decorator]
    @property
    def error_rate(self) -> float | None:
        window = self.decisive()
        return None if window is None else window.error_rate

    @computed_field  # type: ignore[prop-decorator]
    @property
    def latency_p99_ms(self) -> float | None:
        window = self.decisive()
        return None if window is None else window.latency_p99_ms

    @computed_field  # type: ignore[prop-decorator]
    @property
    def agreement_rate(self) -> float | None:
        window = self.decisive()
        return None if window is None else window.agreement_rate

    @computed_field  # type: ignore[prop-decorator]
    @property
    def samples(self) -> int:
        window = self.decisive()
        return 0 if window is None else window.samples


def _merge_summaries(parts: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    merged: WindowSummary | None = None
    for part in parts:
        if part is not None:
            summary = WindowSummary.from_dict(part)
            merged = summary if merged is None else merged.merge(summary)
    return None if merged is None else merged.to_dict()


def _merge_windows(windows: Sequence[tuple[str, WindowReport]]) -> MergedWindow | None:
    """Merge the windows that share the newest `start`; older ones are stale and skipped."""
    if not windows:
        return None
    newest = max(window.start for _, window in windows)
    chosen = [(pod, window) for pod, window in windows if window.start == newest]
    signals = GoldenSignals()
    feedback = FeedbackCounts()
    for _, window in chosen:
        signals = signals.merged(window.signals)
        feedback = feedback.merged(window.feedback)
    digests = Counter(w.profile_digest for _, w in chosen if w.summary is not None)
    digest = digests.most_common(1)[0][0] if digests else None
    same = [(pod, w) for pod, w in chosen if w.summary is not None and w.profile_digest == digest]
    summary = _merge_summaries([w.summary for _, w in same])
    labelled = _merge_summaries([w.labelled_summary for _, w in same])
    return MergedWindow(
        start=newest,
        end=max(window.end for _, window in chosen),
        pods=[pod for pod, _ in chosen],
        summary_pods=[pod for pod, _ in same],
        signals=signals,
        summary=summary,
        labelled_summary=labelled,
        profile_digest=digest,
        confusion=merge_confusion([window.confusion for _, window in chosen]),
        feedback=feedback,
    )


def merge_reports(reports: Sequence[EvaluatorReport]) -> MergedReport:
    """Fold the `/v1/report` answers of several pods into one `MergedReport`.

    Signals, confusion cells and feedback counts are summed; window summaries are
    merged with `WindowSummary.merge`.  Each of `current` and `last_closed` merges
    the pods' windows with the newest common start (a pod that has not rolled over
    yet is left out of that window).  Pods are named by `pod`, or by position when
    unnamed.  An empty input gives an empty report.
    """
    names = [report.pod or f"pod-{index}" for index, report in enumerate(reports)]
    current = _merge_windows([(name, r.current) for name, r in zip(names, reports, strict=True)])
    last = _merge_windows(
        [
            (name, r.last_closed)
            for name, r in zip(names, reports, strict=True)
            if r.last_closed is not None
        ]
    )
    return MergedReport(
        pods=names,
        halted_pods=[name for name, r in zip(names, reports, strict=True) if r.halt.halted],
        current=current,
        last_closed=last,
    )
