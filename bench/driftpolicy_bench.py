"""How long one DriftPolicy evaluation takes: 120 features across 10 pods.

The operator's work per evaluation, minus the network: parse ten `/v1/report` JSON bodies
(each with a window summary over the 120-feature profile of bench/drift_data.py), merge them
(`merge_reports`), rebuild the merged window summary, build the policy's CheckSpecs (PSI on
every feature; or, as a second policy, KS on the numeric ones and chi-squared on the
categorical ones with Benjamini–Hochberg across each family) and evaluate them, then decide.
Timings are the median and best of several runs (the machine may be shared). Writes
bench/results/driftpolicy.json.

Run: ``.venv/bin/python bench/driftpolicy_bench.py``.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import drift_data

from modelwarden.api.driftpolicy import DriftPolicySpec
from modelwarden.decide.drift_policy import Evaluation, decide_policy
from modelwarden.decide.drift_specs import build_checks
from modelwarden.drift.build import build_profile
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.report import evaluate
from modelwarden.drift.summary import WindowSummary
from modelwarden.evaluator.report import EvaluatorReport, WindowReport, merge_reports

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "driftpolicy.json"
PODS = 10
ROWS_PER_POD = 2_000
REFERENCE_ROWS = 50_000
RUNS = 15


def columns(frame: Any) -> dict[str, Any]:
    """Numeric columns as arrays (the fast ingest path), categorical ones as lists."""
    return {c: frame[c].to_numpy() if frame[c].dtype.kind == "f" else frame[c].tolist()
            for c in frame.columns}  # fmt: skip


def pod_report(profile: ReferenceProfile, pod: int) -> str:
    """One pod's `/v1/report` body, as the sidecar would send it."""
    frame = drift_data.make(ROWS_PER_POD, current=True, seed=100 + pod)
    summary = WindowSummary.empty(profile)
    summary.add_columns(columns(frame))
    window = WindowReport(start=0.0, end=5.0, closed=True, summary=summary.to_dict())
    report = EvaluatorReport(
        pod=f"pod-{pod}", generated_at=5.0, window_seconds=5.0, current=window, last_closed=window
    )
    return report.model_dump_json()


def policy(profile: ReferenceProfile, *, tests: bool) -> DriftPolicySpec:
    """One check per feature: PSI (tier defaults), or KS / chi-squared at alpha 0.01."""
    features: list[dict[str, Any]] = []
    for name, feature in profile.features.items():
        check: dict[str, Any] = {"name": name, "method": "psi"}
        check["type"] = "numeric" if feature.is_numeric else "categorical"
        if tests:
            check.update(method="ks" if feature.is_numeric else "chi2", pValue=0.01)
        features.append(check)
    return DriftPolicySpec.model_validate(
        {
            "deployment": "bench",
            "reference": {"configMapRef": {"name": "ref"}},
            "window": {"minSamples": 1000},
            "features": features,
        }
    )


def one_evaluation(profile: ReferenceProfile, spec: DriftPolicySpec, bodies: list[str]) -> float:
    started = time.perf_counter()
    merged = merge_reports([EvaluatorReport.model_validate_json(b) for b in bodies])
    window = merged.decisive()
    assert window is not None
    summary = window.window_summary()
    assert summary is not None
    checks = build_checks(spec, 3)
    results = evaluate(profile, summary, checks.traffic)
    decide_policy(spec, None, Evaluation(datetime.now(UTC), results, summary.n_rows))
    return time.perf_counter() - started


def main() -> None:
    reference = drift_data.make(REFERENCE_ROWS, current=False, seed=1)
    profile = build_profile(columns(reference))
    bodies = [pod_report(profile, pod) for pod in range(PODS)]
    psi, tests = policy(profile, tests=False), policy(profile, tests=True)
    one_evaluation(profile, psi, bodies)  # warm-up
    psi_times = [one_evaluation(profile, psi, bodies) for _ in range(RUNS)]
    test_times = [one_evaluation(profile, tests, bodies) for _ in range(RUNS)]
    result = {
        "features": len(profile.features),
        "pods": PODS,
        "rows_per_pod": ROWS_PER_POD,
        "report_bytes_per_pod": len(bodies[0]),
        "psi_policy": {
            "median_ms": round(statistics.median(psi_times) * 1000, 1),
            "best_ms": round(min(psi_times) * 1000, 1),
        },
        "ks_chi2_bh_policy": {
            "median_ms": round(statistics.median(test_times) * 1000, 1),
            "best_ms": round(min(test_times) * 1000, 1),
        },
        "runs": RUNS,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
