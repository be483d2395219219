"""The report model and `merge_reports`: exact sums, interpolated p99, merged summaries."""

from __future__ import annotations

import ast
import inspect

import pytest

from modelwarden.drift.summary import WindowSummary
from modelwarden.evaluator import report as report_module
from modelwarden.evaluator.report import (
    LATENCY_BOUNDS_MS,
    EvaluatorReport,
    GoldenSignals,
    ShadowCounts,
    WindowReport,
    histogram_quantile,
    merge_reports,
)
from modelwarden.examples.fraud import generate_rows, score_rows, v2_request

from .conftest import report, settle


def test_report_module_does_not_import_aiohttp():
    tree = ast.parse(inspect.getsource(report_module))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert "aiohttp" not in imported
    assert "prometheus_client" not in imported


def test_histogram_quantile_interpolates_within_the_bucket():
    bounds = [1.0, 2.0, 4.0]
    assert histogram_quantile(bounds, [0, 0, 0, 0], 0.99) is None
    # 100 observations in (1, 2]: the median sits half-way.
    assert histogram_quantile(bounds, [0, 100, 0, 0], 0.5) == pytest.approx(1.5)
    assert histogram_quantile(bounds, [50, 50, 0, 0], 0.99) == pytest.approx(1.98)
    assert histogram_quantile(bounds, [10, 0, 0, 0], 0.5) == pytest.approx(0.5)
    # Above the last bound the estimate is the last bound.
    assert histogram_quantile(bounds, [0, 0, 0, 5], 0.99) == 4.0


def window(start: float, **signals) -> WindowReport:
    return WindowReport(start=start, end=start + 60, closed=False, signals=GoldenSignals(**signals))


def latency(index: int, count: int) -> list[int]:
    counts = [0] * (len(LATENCY_BOUNDS_MS) + 1)
    counts[index] = count
    return counts


def test_merge_sums_signals_and_derives_rates():
    a = EvaluatorReport(
        pod="a",
        generated_at=0,
        window_seconds=60,
        current=window(
            60,
            requests=100,
            errors=2,
            status={"2xx": 98, "5xx": 2},
            latency_counts=latency(2, 100),
            shadow=ShadowCounts(mirrored=10, compared=10, agreed=9, disagreed=1),
            samples=100,
            rejected={"json": 1},
        ),
        last_closed=window(0, requests=10, latency_counts=latency(3, 10)),
    )
    b = EvaluatorReport(
        pod="b",
        generated_at=0,
        window_seconds=60,
        current=window(
            60,
            requests=100,
            errors=8,
            status={"2xx": 92, "5xx": 8},
            latency_counts=latency(2, 100),
            shadow=ShadowCounts(mirrored=10, compared=10, agreed=7, disagreed=3),
            samples=50,
            rejected={"json": 2, "shape": 1},
        ),
    )
    stale = EvaluatorReport(pod="c", generated_at=0, window_seconds=60, current=window(0))
    merged = merge_reports([a, b, stale])
    assert merged.pods == ["a", "b", "c"]
    assert merged.current is not None
    assert merged.current.pods == ["a", "b"]  # "c" has not rolled over yet
    signals = merged.current.signals
    assert (signals.requests, signals.errors) == (200, 10)
    assert signals.status == {"2xx": 190, "5xx": 10}
    assert signals.rejected == {"json": 3, "shape": 1}
    assert merged.current.error_rate == pytest.approx(0.05)
    assert merged.current.agreement_rate == pytest.approx(0.8)
    assert merged.current.samples == 150
    # Bucket 2 is (0.5, 1.0] ms: p99 of 200 observations interpolates to 0.995 ms.
    assert merged.current.latency_p99_ms == pytest.approx(0.995)
    # Derived figures read the last closed window when there is one.
    assert merged.last_closed is not None
    assert merged.error_rate == 0.0
    assert merged.latency_p99_ms == pytest.approx(1.99)
    dumped = merged.model_dump()
    assert dumped["current"]["error_rate"] == pytest.approx(0.05)


def test_merge_of_nothing_is_empty():
    merged = merge_reports([])
    assert (merged.current, merged.error_rate, merged.samples) == (None, None, 0)


def test_mismatched_histograms_refuse_to_merge():
    other = GoldenSignals(latency_bounds_ms=[1.0], latency_counts=[0, 0])
    with pytest.raises(ValueError, match="bucket bounds"):
        GoldenSignals().merged(other)


async def test_two_proxies_merge_to_the_direct_summary(
    model, start_evaluator, http, profile, tmp_path
):
    proxies = [await start_evaluator(upstream=model.url) for _ in range(2)]
    batches = [generate_rows(5, seed=seed) for seed in range(6)]
    for index, rows in enumerate(batches):
        target = proxies[index % 2]
        async with http.post(target.url + "/v2/models/fraud/infer", json=v2_request(rows)) as a:
            assert a.status == 200
    for proxy in proxies:
        await settle(proxy.evaluator)
    reports = [EvaluatorReport.model_validate(await report(http, p.url)) for p in proxies]
    merged = merge_reports(reports)
    assert merged.current is not None
    assert merged.current.signals.requests == 6
    assert merged.current.summary_pods == merged.current.pods
    direct = WindowSummary.empty(profile)
    for rows in batches:
        scores = score_rows(rows)
        direct.add_rows(
            [
                {**row, "fraud_score": float(s), "fraud_class": int(s >= 0.5)}
                for row, s in zip(rows, scores, strict=True)
            ]
        )
    assert merged.current.window_summary() == direct
    assert merged.current.samples == 30
