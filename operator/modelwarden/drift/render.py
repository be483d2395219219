"""Render a batch drift report as a text table, stable JSON or a self-contained HTML page.

All renderers are pure (they return strings).  The JSON document is versioned and its check
entries have exactly the fields of :meth:`CheckResult.to_dict`; see docs/drift.md.

>>> from modelwarden.drift.report import CheckResult
>>> r = CheckResult("data", "x", "psi", 0.31, None, 0.25, "Critical", 900, 120, "PSI of x ...")
>>> print(render_table([r]))
FEATURE  METHOD  STATISTIC  P-VALUE  THRESHOLD  SEVERITY  N_REF  N_CUR
x        psi     0.31       -        0.25       Critical  900    120
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Sequence
from typing import Any

from modelwarden.drift.profile import FeatureProfile, ReferenceProfile
from modelwarden.drift.report import CheckResult, worst
from modelwarden.drift.stats.binned import coarse_pair
from modelwarden.drift.summary import WindowSummary

REPORT_FORMAT = "modelwarden.drift-report"
REPORT_VERSION = 1


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def render_table(results: Sequence[CheckResult]) -> str:
    """Aligned plain-text table, one line per check."""
    header = (
        "FEATURE",
        "METHOD",
        "STATISTIC",
        "P-VALUE",
        "THRESHOLD",
        "SEVERITY",
        "N_REF",
        "N_CUR",
    )
    rows = [header] + [
        (
            r.feature or "-",
            r.method,
            _num(r.statistic),
            _num(r.p_value),
            _num(r.threshold),
            r.severity,
            str(r.n_reference),
            str(r.n_current),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def report_document(
    profile: ReferenceProfile, summary: WindowSummary, results: Sequence[CheckResult]
) -> dict[str, Any]:
    """The versioned JSON report."""
    severity = worst(results)
    return {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "drift": severity != "Ok",
        "severity": severity,
        "n_reference": profile.n_rows,
        "n_current": summary.n_rows,
        "checks": [r.to_dict() for r in results],
    }


def render_json(
    profile: ReferenceProfile, summary: WindowSummary, results: Sequence[CheckResult]
) -> str:
    """Indented JSON of :func:`report_document` (NaN is never emitted)."""
    return json.dumps(report_document(profile, summary, results), indent=2, allow_nan=False)


def _bin_labels(feature: FeatureProfile) -> list[str]:
    if feature.is_categorical:
        return [*feature.categories, "other/new"]
    edges = [f"{e:.4g}" for e in feature.edges]
    if not edges:
        return ["all"]
    middle = [f"({a}, {b}]" for a, b in itertools.pairwise(edges)]
    return [f"≤ {edges[0]}", *middle, f"> {edges[-1]}"]


def histogram_svg(
    labels: Sequence[str], reference: Sequence[float], current: Sequence[float]
) -> str:
    """Overlaid bar chart of two distributions (fractions), as inline SVG."""
    width, height, pad = 640, 220, 30
    slot = (width - 2 * pad) / max(len(labels), 1)
    top = max([*reference, *current, 1e-12])
    bars: list[str] = []
    for i, label in enumerate(labels):
        x = pad + i * slot
        for fraction, colour in ((reference[i], "#4c78a8"), (current[i], "#f58518")):
            h = (height - 2 * pad) * fraction / top
            left, bar, y = x + slot * 0.1, slot * 0.8, height - pad - h
            bars.append(
                f'<rect x="{left:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}"'
                f' fill="{colour}" fill-opacity="0.55">'
                f"<title>{html.escape(label)}: reference {reference[i]:.3f}, "
                f"current {current[i]:.3f}</title></rect>"
            )
        if len(labels) <= 16:
            bars.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - pad + 14}" font-size="9" '
                f'text-anchor="middle">{html.escape(label[:14])}</text>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img">{"".join(bars)}</svg>'
    )


_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}"
    ".Critical{background:#f8d0d0}.Warning{background:#fbeec2}.Ok{background:#dff0d8}"
    ".InsufficientData{background:#eee}"
    ".legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}"
)


def render_html(
    profile: ReferenceProfile, summary: WindowSummary, results: Sequence[CheckResult]
) -> str:
    """Self-contained page: verdict, every check, and a histogram per binned feature."""
    severity = worst(results)
    rows = "".join(
        f'<tr class="{r.severity}"><td>{html.escape(r.feature or "-")}</td>'
        f"<td>{html.escape(r.method)}</td><td>{_num(r.statistic)}</td><td>{_num(r.p_value)}</td>"
        f"<td>{_num(r.threshold)}</td><td>{r.severity}</td><td>{html.escape(r.message)}</td></tr>"
        for r in results
    )
    charts: list[str] = []
    for name in profile.features:
        pair = coarse_pair(profile, summary, name)
        if pair is None:
            continue
        ref_total, cur_total = max(int(pair.reference.sum()), 1), max(int(pair.current.sum()), 1)
        charts.append(
            f"<h3>{html.escape(name)}</h3>"
            + histogram_svg(
                _bin_labels(pair.feature),
                (pair.reference / ref_total).tolist(),
                (pair.current / cur_total).tolist(),
            )
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>modelwarden drift report"
        f"</title><style>{_STYLE}</style></head><body><h1>Drift report: {severity}</h1>"
        f"<p>{profile.n_rows:,} reference rows, {summary.n_rows:,} current rows.</p>"
        "<table><tr><th>Feature</th><th>Method</th><th>Statistic</th><th>p-value</th>"
        f"<th>Threshold</th><th>Severity</th><th>Message</th></tr>{rows}</table>"
        '<p class="legend"><span style="background:#4c78a8"></span>reference'
        '<span style="background:#f58518"></span>current</p>'
        f"{''.join(charts)}</body></html>"
    )
