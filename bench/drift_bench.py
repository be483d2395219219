"""Drift engine benchmark: modelwarden vs Evidently's DataDriftPreset vs a scipy KS loop.

Same generated data for every tool (bench/drift_data.py: 100 numeric + 20 categorical
features, 100k reference × 100k current rows).  Measures

* modelwarden's full report (PSI, KS, chi-squared, JS on every feature, Wasserstein on the
  numeric ones) from raw data (profiling + summarising + evaluating) and from summaries;
* Evidently ``DataDriftPreset`` in its own venv (``.venv-bench``, created here) so it can never
  touch the project's dependencies;
* ``scipy.stats.ks_2samp`` per numeric column;
* ingest rate into a window summary on one core (process pinned to one CPU) and the summary
  size at 10k vs 1M rows.

Timings are the best of several runs (the machine may be shared).  Writes
bench/results/drift.json and the drift section of docs/benchmarks.md.

Run: ``make bench-drift`` (= ``.venv/bin/python bench/drift_bench.py``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

import drift_data

from modelwarden.drift.build import build_profile
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.report import CheckSpec, evaluate
from modelwarden.drift.summary import WindowSummary

ROOT = Path(__file__).resolve().parents[1]
BENCH_VENV = ROOT / ".venv-bench"
RESULTS = ROOT / "bench" / "results" / "drift.json"
DOCS = ROOT / "docs" / "benchmarks.md"
EVIDENTLY_REQUIREMENTS = ["evidently==0.7.23", "pandas<3"]
ROWS = 100_000
BEGIN, END = "<!-- drift-bench:begin -->", "<!-- drift-bench:end -->"


def best_of(runs: int, work: Callable[[], Any]) -> float:
    """Fastest wall time of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else the machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def specs_for(profile: ReferenceProfile) -> list[CheckSpec]:
    """The benchmarked report: every binned statistic on every feature."""
    specs = []
    for name, feature in profile.features.items():
        methods = ["psi", "ks", "chi2", "js", "wasserstein"] if feature.is_numeric else [
            "psi", "chi2", "js"
        ]  # fmt: skip
        for method in methods:
            p_value = 0.05 if method in ("ks", "chi2") else None
            warning, critical = (None, None) if method == "chi2" else (0.1, 0.2)
            specs.append(CheckSpec("data", name, method, warning, critical, p_value))
    return specs


def columns(frame: Any) -> dict[str, Any]:
    return {name: frame[name].to_numpy() for name in frame.columns}


def summarise(profile: ReferenceProfile, data: dict[str, Any]) -> WindowSummary:
    summary = WindowSummary.empty(profile)
    summary.add_columns(data)
    return summary


def ensure_evidently() -> tuple[Path | None, str]:
    """A python with Evidently installed, or ``None`` and the reason."""
    python = BENCH_VENV / "bin" / "python"
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        probe = [str(python), "-c", "import evidently"]
        if subprocess.run(probe, capture_output=True, check=False).returncode != 0:
            install = [str(python), "-m", "pip", "install", "-q", *EVIDENTLY_REQUIREMENTS]
            subprocess.run(install, check=True, capture_output=True, timeout=1200)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"could not install Evidently: {exc}"
    return python, ""


def run_evidently() -> dict[str, Any]:
    python, reason = ensure_evidently()
    if python is None:
        return {"available": False, "reason": reason}
    script = ROOT / "bench" / "drift_evidently.py"
    try:
        done = subprocess.run(
            [str(python), str(script), str(ROWS)],
            capture_output=True, text=True, check=True, timeout=3600,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        return {"available": False, "reason": f"Evidently run failed: {exc}"}
    return {"available": True, **json.loads(done.stdout.strip().splitlines()[-1])}


def one_core_ingest(profile: ReferenceProfile, data: dict[str, Any]) -> dict[str, float]:
    """Values per second into a window summary, pinned to one CPU."""
    pinned = hasattr(os, "sched_setaffinity")
    if pinned:
        allowed = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(allowed)})
    try:
        numeric = {k: v for k, v in data.items() if k.startswith("num_")}
        categorical = {k: v for k, v in data.items() if k.startswith("cat_")}
        rates = {}
        for label, part in (("all", data), ("numeric", numeric), ("categorical", categorical)):
            seconds = best_of(5, lambda part=part: summarise(profile, part))
            rates[label] = len(part) * ROWS / seconds
    finally:
        if pinned:
            os.sched_setaffinity(0, allowed)
    return {**rates, "pinned_to_one_cpu": pinned}


def summary_sizes(profile: ReferenceProfile) -> dict[str, Any]:
    """Serialized and in-memory size of a summary after 10k and after 1M rows."""
    sizes = {}
    for rows in (10_000, 1_000_000):
        summary = summarise(profile, columns(drift_data.make(rows, current=True, seed=3)))
        arrays = sum(
            getattr(counter, field).nbytes
            for counter in summary.features.values()
            for field in ("counts", "total")
            if hasattr(counter, field)
        )
        sizes[str(rows)] = {
            "json_bytes": len(json.dumps(summary.to_dict(), separators=(",", ":"))),
            "array_bytes": arrays,
        }
    sizes["equal"] = sizes["10000"]["array_bytes"] == sizes["1000000"]["array_bytes"]
    return sizes


def main() -> None:
    reference, current = drift_data.reference(ROWS), drift_data.current(ROWS)
    ref_cols, cur_cols = columns(reference), columns(current)
    numeric = [c for c in reference.columns if c.startswith("num_")]

    def full_from_raw() -> Any:
        profile = build_profile(columns(reference))
        summary = summarise(profile, columns(current))
        return evaluate(profile, summary, specs_for(profile))

    profile = build_profile(ref_cols)
    summary = summarise(profile, cur_cols)
    specs = specs_for(profile)
    results = evaluate(profile, summary, specs)
    from_raw = best_of(3, full_from_raw)
    from_summaries = best_of(10, lambda: evaluate(profile, summary, specs))
    scipy_ks = best_of(3, lambda: [stats.ks_2samp(ref_cols[c], cur_cols[c]) for c in numeric])

    exact = {c: stats.ks_2samp(ref_cols[c], cur_cols[c]).statistic for c in numeric}
    ks_gap = max(
        abs(r.statistic - exact[r.feature])
        for r in results
        if r.method == "ks" and r.feature and r.statistic is not None
    )
    drifted = sorted({r.feature for r in results if r.severity in ("Warning", "Critical")})

    evidently = run_evidently()
    ingest = one_core_ingest(profile, cur_cols)
    sizes = summary_sizes(profile)
    speedup = evidently["seconds"] / from_raw if evidently.get("available") else None
    result = {
        "machine": {
            "cpu": cpu_model(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "data": {
            "reference_rows": ROWS,
            "current_rows": ROWS,
            "numeric": len(numeric),
            "categorical": len(reference.columns) - len(numeric),
        },
        "modelwarden": {
            "checks": len(specs),
            "full_report_from_raw_s": from_raw,
            "full_report_from_summaries_s": from_summaries,
            "drifted_features": len(drifted),
            "max_ks_gap_vs_exact": ks_gap,
            "profile_json_bytes": len(profile.to_json()),
        },
        "scipy_ks_loop_s": scipy_ks,
        "evidently": evidently,
        "speedup_vs_evidently_from_raw": speedup,
        "ingest_values_per_s_one_core": ingest,
        "summary_size": sizes,
        "targets": {
            "full_report_under_1s": from_raw < 1.0,
            "at_least_50x_faster_than_evidently": speedup is not None and speedup >= 50,
            "ingest_at_least_2M_values_per_s": ingest["all"] >= 2e6,
            "summary_size_independent_of_rows": sizes["equal"],
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    write_docs(result)
    print(json.dumps(result, indent=2))


def write_docs(r: dict[str, Any]) -> None:
    """Replace (or append) the drift section of docs/benchmarks.md."""
    mw, ev = r["modelwarden"], r["evidently"]
    evidently_row = (
        f"| Evidently {ev['version']} DataDriftPreset | {ev['seconds']:.2f} s |"
        if ev.get("available")
        else f"| Evidently DataDriftPreset | not run: {ev['reason']} |"
    )
    speed = r["speedup_vs_evidently_from_raw"]
    ingest = r["ingest_values_per_s_one_core"]
    size = r["summary_size"]
    n, raw = mw["checks"], mw["full_report_from_raw_s"]
    summ = mw["full_report_from_summaries_s"]
    section = f"""{BEGIN}
## Drift engine

`make bench-drift` (= `.venv/bin/python bench/drift_bench.py`); raw figures in
`bench/results/drift.json`.  Data: {r["data"]["numeric"]} numeric + {r["data"]["categorical"]}
categorical features, {r["data"]["reference_rows"]:,} reference × {r["data"]["current_rows"]:,}
current rows (bench/drift_data.py), {r["machine"]["cpus"]} CPUs ({r["machine"]["cpu"]}).
modelwarden and scipy: best of several runs; Evidently: one run (it takes
minutes).  The machine is shared with other jobs, so absolute times vary between runs.

| What | Time |
|---|---|
| modelwarden, from raw data (profile + summarise + {n} checks) | {raw:.3f} s |
| modelwarden, from summaries ({n} checks) | {summ:.3f} s |
| scipy `ks_2samp` loop, KS only, numeric columns | {r["scipy_ks_loop_s"]:.3f} s |
{evidently_row}

* Speed-up over Evidently (from raw data): {f"{speed:.0f}×" if speed else "n/a"}.
* KS from summaries vs exact scipy KS: largest gap {mw["max_ks_gap_vs_exact"]:.4f}
  (the documented grid bound).
* Ingest into a window summary, one core: {ingest["all"] / 1e6:.1f} M values/s overall
  ({ingest["numeric"] / 1e6:.1f} M/s numeric, {ingest["categorical"] / 1e6:.1f} M/s categorical).
* Window summary size: count arrays {size["10000"]["array_bytes"]:,} bytes after 10k rows and
  {size["1000000"]["array_bytes"]:,} after 1M rows (equal: {size["equal"]}); the JSON form
  grows only with the number of digits in the counts ({size["10000"]["json_bytes"]:,} vs
  {size["1000000"]["json_bytes"]:,} bytes).
* Reference profile of the 120 features: {mw["profile_json_bytes"]:,} bytes of JSON.
{END}"""
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOCS.write_text(text)


if __name__ == "__main__":
    main()
