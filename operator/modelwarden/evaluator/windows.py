"""Tumbling windows: the one being filled and the last closed one, nothing older.

Windows are aligned to multiples of the window length since the epoch so every pod's
windows start at the same instants and `merge_reports` can line them up.  Keeping just
two windows is what bounds the evaluator's memory over time.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable

from modelwarden.drift.summary import WindowSummary
from modelwarden.evaluator.report import (
    LATENCY_BOUNDS_MS,
    ConfusionCell,
    FeedbackCounts,
    GoldenSignals,
    ShadowCounts,
    WindowReport,
)

SummaryFactory = Callable[[], tuple[WindowSummary | None, str | None]]
ConfusionKey = tuple[str, str, str, str]


class Window:
    """Counters of one window; cheap to update on the request path."""

    __slots__ = (
        "confusion",
        "dropped",
        "end",
        "errors",
        "feedback",
        "halted",
        "labelled",
        "latency",
        "profile_digest",
        "rejected",
        "requests",
        "samples",
        "shadow",
        "start",
        "status",
        "summary",
    )

    def __init__(self, start: float, end: float, factory: SummaryFactory) -> None:
        self.start = start
        self.end = end
        self.requests = 0
        self.errors = 0
        self.halted = 0
        self.status: Counter[str] = Counter()
        self.latency = [0] * (len(LATENCY_BOUNDS_MS) + 1)
        self.shadow: Counter[str] = Counter()
        self.samples = 0
        self.rejected: Counter[str] = Counter()
        self.dropped = 0
        self.confusion: Counter[ConfusionKey] = Counter()
        self.feedback: Counter[str] = Counter()
        self.summary, self.profile_digest = factory()
        self.labelled, _ = factory()

    def record_request(self, status: int, latency_ms: float) -> None:
        """One proxied request: status 0 means the upstream never answered."""
        self.requests += 1
        if status == 0 or status >= 500:
            self.errors += 1
        self.status[f"{status // 100}xx" if status else "none"] += 1
        self.latency[bisect_left(LATENCY_BOUNDS_MS, latency_ms)] += 1

    def add_rows(self, rows: list[dict[str, object]]) -> None:
        """Feed rows to the summary (never raises: the summary counts bad values)."""
        if self.summary is not None and rows:
            self.summary.add_rows(rows)
        self.samples += len(rows)

    def report(self, *, closed: bool) -> WindowReport:
        shadow = ShadowCounts(**self.shadow)
        return WindowReport(
            start=self.start,
            end=self.end,
            closed=closed,
            signals=GoldenSignals(
                requests=self.requests,
                errors=self.errors,
                halted=self.halted,
                status=dict(self.status),
                latency_counts=list(self.latency),
                shadow=shadow,
                samples=self.samples,
                rejected=dict(self.rejected),
                dropped=self.dropped,
            ),
            summary=None if self.summary is None else self.summary.to_dict(),
            labelled_summary=None if self.labelled is None else self.labelled.to_dict(),
            profile_digest=self.profile_digest,
            confusion=[
                ConfusionCell(group_feature=k[0], group=k[1], prediction=k[2], label=k[3], count=n)
                for k, n in sorted(self.confusion.items())
            ],
            feedback=FeedbackCounts(**dict(self.feedback)),
        )


class Windows:
    """The current window and the last closed one, rolled over lazily on access."""

    def __init__(
        self,
        seconds: float,
        factory: SummaryFactory,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if seconds <= 0:
            raise ValueError("window length must be positive")
        self.seconds = seconds
        self._factory = factory
        self._clock = clock
        self._current = self._window_at(clock())
        self._last: Window | None = None

    def _window_at(self, now: float) -> Window:
        start = math.floor(now / self.seconds) * self.seconds
        return Window(start, start + self.seconds, self._factory)

    @property
    def current(self) -> Window:
        now = self._clock()
        if now >= self._current.end:
            if now >= self._current.end + self.seconds:
                # No traffic touched the windows in between: the last closed one was empty.
                self._last = self._window_at(now - self.seconds)
            else:
                self._last = self._current
            self._current = self._window_at(now)
        return self._current

    @property
    def last_closed(self) -> Window | None:
        _ = self.current
        return self._last

    def refresh_summary(self) -> None:
        """After a profile reload: restart the current summary if nothing was added yet."""
        window = self.current
        if window.samples == 0:
            window.summary, window.profile_digest = self._factory()
            window.labelled, _ = self._factory()
