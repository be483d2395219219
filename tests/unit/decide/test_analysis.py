"""Table tests of the analysis verdict for DriftPolicy checks: the verdict a policy gives the
judged traffic fails, passes or (too few samples, none yet) waits."""

from __future__ import annotations

import pytest

from modelwarden.api.modeldeployment import AnalysisCheck
from modelwarden.decide.analysis import analyse
from modelwarden.decide.plan import Signals

SIGNALS = Signals(samples=500, errors=0, latency_p99_ms=10.0)


def drift_check(fail_on: str = "Critical") -> AnalysisCheck:
    return AnalysisCheck.model_validate({"driftPolicy": {"name": "fraud-drift", "failOn": fail_on}})


@pytest.mark.parametrize(
    ("verdicts", "fail_on", "expected", "message"),
    [
        pytest.param({"fraud-drift": "Stable"}, "Critical", "Pass", "1 checks passed",
                     id="stable-passes"),
        pytest.param({"fraud-drift": "Warning"}, "Critical", "Pass", "1 checks passed",
                     id="warning-below-fail-on"),
        pytest.param({"fraud-drift": "Warning"}, "Warning", "Fail",
                     "DriftPolicy fraud-drift is Warning", id="warning-at-fail-on"),
        pytest.param({"fraud-drift": "Critical"}, "Critical", "Fail",
                     "DriftPolicy fraud-drift is Critical", id="critical-fails"),
        pytest.param({"fraud-drift": "InsufficientData"}, "Critical", "Inconclusive",
                     "too few samples for a verdict", id="insufficient-data-waits"),
        pytest.param({}, "Critical", "Inconclusive", "has no verdict yet", id="no-verdict-waits"),
    ],
)  # fmt: skip
def test_drift_policy_check(
    verdicts: dict[str, str], fail_on: str, expected: str, message: str
) -> None:
    outcome = analyse([drift_check(fail_on)], 100, SIGNALS, verdicts, {})
    assert outcome.verdict == expected
    assert message in outcome.message
