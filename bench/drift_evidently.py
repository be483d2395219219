"""Time Evidently's DataDriftPreset on the benchmark data (runs inside .venv-bench).

Prints one JSON line: seconds for ``Report.run`` (data generation excluded), the Evidently
version and, when it can be found in the snapshot, how many columns Evidently flagged.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import drift_data
import evidently
from evidently import Report
from evidently.presets import DataDriftPreset


def _drifted(snapshot: Any) -> int | None:
    try:
        for metric in snapshot.dict()["metrics"]:
            if str(metric.get("metric_name", "")).startswith("DriftedColumnsCount"):
                return int(metric["value"]["count"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return None


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    reference, current = drift_data.reference(rows), drift_data.current(rows)
    report = Report([DataDriftPreset()])
    start = time.perf_counter()
    snapshot = report.run(current_data=current, reference_data=reference)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "version": evidently.__version__,
                      "drifted_columns": _drifted(snapshot)}))  # fmt: skip


if __name__ == "__main__":
    main()
