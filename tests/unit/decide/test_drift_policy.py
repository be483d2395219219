"""DriftPolicy decisions: verdicts, the consecutive guard, once-per-episode actions, retraining
guards, tier defaults and the cron matcher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modelwarden.api.driftpolicy import DriftPolicySpec, DriftPolicyStatus, RetrainRecord
from modelwarden.decide.cron import Cron, fired_between
from modelwarden.decide.drift_policy import Evaluation, decide_policy, due
from modelwarden.decide.drift_specs import build_checks
from modelwarden.decide.stamps import iso
from modelwarden.drift.stats.base import CheckResult, Severity

T0 = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)


def policy(**overrides: Any) -> DriftPolicySpec:
    body: dict[str, Any] = {
        "deployment": "fraud",
        "reference": {"configMapRef": {"name": "ref"}},
        "window": {"minSamples": 100},
        "interval": "5s",
        "consecutiveEvaluations": 2,
        "features": [{"name": "amount"}],
        "actions": {"warning": ["alert"], "critical": ["alert", "retrain", "rollback"]},
        "retraining": {"jobTemplate": {"spec": {}}, "cooldown": "1h"},
    }
    body.update(overrides)
    return DriftPolicySpec.model_validate(body)


def psi(severity: Severity, value: float = 0.31) -> CheckResult:
    return CheckResult(
        "data",
        "amount",
        "psi",
        value,
        None,
        0.25 if severity == "Critical" else 0.1,
        severity,
        5000,
        12_400,
        f"PSI of amount {value} ≥ critical 0.25 over 12,400 samples",
    )


def run(
    spec: DriftPolicySpec,
    severities: list[Severity | None],
    status: DriftPolicyStatus | None = None,
    samples: int = 12_400,
    step: timedelta = timedelta(seconds=5),
    **extra: Any,
) -> tuple[DriftPolicyStatus, list[list[str]]]:
    """Evaluate a sequence of windows (None = no window); the actions of each evaluation."""
    taken: list[list[str]] = []
    for i, severity in enumerate(severities):
        results = None if severity is None else [psi(severity)]
        ev = Evaluation(T0 + i * step, results, samples, **extra)
        plan = decide_policy(spec, status, ev)
        status = plan.status
        taken.append([a.kind for a in plan.actions])
    assert status is not None
    return status, taken


@dataclass
class Case:
    id: str
    severities: list[Severity | None]
    verdict: str
    actions: list[list[str]]
    samples: int = 12_400
    spec: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("stable never acts", ["Ok", "Ok", "Ok"], "Stable", [[], [], []]),
    Case(
        "one noisy window does not act",
        ["Critical", "Ok", "Critical", "Ok"],
        "Stable",
        [[], [], [], []],
    ),
    Case(
        "critical acts once after two in a row",
        ["Critical", "Critical", "Critical", "Critical"],
        "Critical",
        [[], ["alert", "rollback", "retrain"], [], []],
    ),
    Case(
        "escalation runs the critical actions",
        ["Warning", "Warning", "Critical", "Critical"],
        "Critical",
        [[], ["alert"], [], ["alert", "rollback", "retrain"]],
    ),
    Case(
        "back to warning in the same episode does not repeat",
        ["Warning", "Warning", "Critical", "Warning", "Warning"],
        "Warning",
        [[], ["alert"], [], [], []],
    ),
    Case(
        "low traffic is insufficient data and never acts",
        ["Critical", "Critical", "Critical"],
        "InsufficientData",
        [[], [], []],
        samples=40,
    ),
    Case("no window at all", [None, None], "InsufficientData", [[], []]),
    Case(
        "a quiet window does not end the episode",
        ["Warning", "Warning", None, "Warning", "Warning"],
        "Warning",
        [[], ["alert"], [], [], []],
    ),
    Case(
        "halt as a critical action",
        ["Critical", "Critical"],
        "Critical",
        [[], ["halt"]],
        spec={"actions": {"critical": ["halt"]}},
    ),
    Case(
        "act at once with consecutiveEvaluations 1",
        ["Warning"],
        "Warning",
        [["alert"]],
        spec={"consecutiveEvaluations": 1},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_verdicts_and_actions(case: Case) -> None:
    status, taken = run(policy(**case.spec), case.severities, samples=case.samples)
    assert status.verdict == case.verdict
    assert taken == case.actions


def test_stable_ends_the_episode_so_a_new_breach_acts_again() -> None:
    spec = policy(retraining=None, actions={"critical": ["rollback"]})
    status, taken = run(spec, ["Critical", "Critical", "Ok", "Critical", "Critical"])
    assert taken == [[], ["rollback"], [], [], ["rollback"]]
    assert status.actions_taken == ["Critical/rollback"]


def test_check_status_keeps_since_while_the_breach_persists() -> None:
    status, _ = run(policy(), ["Critical", "Critical", "Critical"], step=timedelta(minutes=1))
    check = status.checks[0]
    assert (check.severity, check.since, check.samples) == ("Critical", iso(T0), 12_400)
    assert check.message == "PSI of amount 0.31 ≥ critical 0.25 over 12,400 samples since 10:05 UTC"
    assert status.episode == iso(T0)
    assert status.consecutive == 3


@pytest.mark.parametrize(
    ("last_retrain_ago", "retrains"),
    [(timedelta(minutes=30), False), (timedelta(hours=2), True)],
    ids=["within cooldown: deferred", "after cooldown: runs"],
)
def test_retrain_respects_cooldown(last_retrain_ago: timedelta, retrains: bool) -> None:
    earlier = RetrainRecord(at=iso(T0 - last_retrain_ago), reason="x", job="j")
    status = DriftPolicyStatus(last_retrain=earlier)
    spec = policy(actions={"critical": ["retrain"]})
    after, taken = run(spec, ["Critical", "Critical"], status=status)
    assert ("retrain" in taken[1]) is retrains
    assert ("Critical/retrain" in after.actions_taken) is retrains


def test_deferred_retrain_fires_when_the_cooldown_ends() -> None:
    earlier = RetrainRecord(at=iso(T0 - timedelta(minutes=59)), reason="x", job="j")
    spec = policy(actions={"critical": ["retrain"]})
    status, taken = run(
        spec, ["Critical"] * 4, DriftPolicyStatus(last_retrain=earlier), step=timedelta(seconds=30)
    )
    assert taken == [[], [], ["retrain"], []]
    assert status.last_retrain is not None
    assert status.last_retrain.reason.startswith("Critical drift: PSI of amount")


@pytest.mark.parametrize(
    ("age", "retrains"),
    [(timedelta(days=10), False), (timedelta(days=31), True)],
    ids=["young model", "stale model"],
)
def test_max_model_age(age: timedelta, retrains: bool) -> None:
    spec = policy(retraining={"jobTemplate": {}, "maxModelAge": "30d"})
    _, taken = run(spec, ["Ok", "Ok"], model_created=T0 - age, stable_version="fraud-v1")
    assert taken == ([["retrain"], []] if retrains else [[], []])


def test_schedule_fires_once_per_matching_minute() -> None:
    spec = policy(retraining={"jobTemplate": {}, "schedule": "6 10 * * *", "cooldown": "1m"})
    _, taken = run(spec, ["Ok"] * 4, step=timedelta(seconds=20))
    # evaluations at 10:05:00, :20, :40, 10:06:00 — only the last crosses 10:06
    assert taken == [[], [], [], ["retrain"]]


@pytest.mark.parametrize(
    ("interval", "elapsed", "expected"),
    [("5s", 4, False), ("5s", 5, True), ("5m", 120, False)],
    ids=["too early", "on time", "long interval"],
)
def test_due(interval: str, elapsed: int, expected: bool) -> None:
    status = DriftPolicyStatus(last_evaluation=iso(T0))
    assert due(status, interval, T0 + timedelta(seconds=elapsed)) is expected
    assert due(None, interval, T0)


@pytest.mark.parametrize(
    ("feature", "tier", "expected"),
    [
        ({"name": "a"}, 3, (0.1, 0.25, None)),
        ({"name": "a"}, 1, (0.05, 0.125, None)),
        ({"name": "a"}, 4, (0.15, 0.375, None)),
        ({"name": "a", "critical": 0.05}, 3, (0.05, 0.05, None)),
        ({"name": "a", "warning": 0.3}, 3, (0.3, 0.3, None)),
        ({"name": "a", "method": "ks", "pValue": 0.01}, 3, (None, None, 0.01)),
        ({"name": "a", "type": "categorical", "method": "chi2"}, 3, (None, None, 0.01)),
        ({"name": "a", "warning": 0.2, "critical": 0.4}, 1, (0.2, 0.4, None)),
    ],
    ids=[
        "tier 3 psi",
        "tier 1 tighter",
        "tier 4 looser",
        "critical only caps warning",
        "warning only raises critical",
        "pValue only stays a significance test",
        "chi2 defaults to alpha",
        "explicit thresholds win",
    ],
)
def test_tier_defaults(
    feature: dict[str, Any], tier: int, expected: tuple[float | None, ...]
) -> None:
    check = build_checks(policy(features=[feature]), tier).traffic[0]
    assert (check.warning, check.critical, check.p_value) == expected
    assert check.min_samples == 100


def test_build_checks_splits_traffic_and_labelled() -> None:
    spec = policy(
        prediction={"method": "psi"},
        fairness={
            "attributes": ["channel"],
            "metrics": ["demographicParity", "equalOpportunity", "disparateImpact"],
        },
        performance={"metric": "auc", "baseline": 0.9, "maxDrop": 0.04},
        calibration={"eceMax": 0.1},
        missingValues={"maxIncrease": 0.02},
    )
    checks = build_checks(spec, 3, prediction_feature="fraud_score")
    traffic = [(c.kind, c.feature, c.method, c.warning, c.critical) for c in checks.traffic]
    assert traffic == [
        ("data", "amount", "psi", 0.1, 0.25),
        ("prediction", "fraud_score", "psi", 0.1, 0.25),
        ("missing", "amount", "missing", 0.01, 0.02),
        ("fairness", "channel", "demographic_parity_difference", None, 0.1),
        ("fairness", "channel", "disparate_impact_ratio", None, 0.9),
    ]
    labelled = [(c.kind, c.method, c.warning, c.critical, c.baseline) for c in checks.labelled]
    assert labelled == [
        ("fairness", "equal_opportunity_difference", None, 0.1, None),
        ("performance", "auc", 0.02, 0.04, 0.9),
        ("calibration", "ece", 0.05, 0.1, None),
    ]
    assert {c.min_samples for c in checks.labelled} == {10}
    assert build_checks(spec, 3).traffic[1].kind == "missing"  # no prediction column


@pytest.mark.parametrize(
    ("schedule", "moment", "expected"),
    [
        ("0 2 * * 0", datetime(2026, 11, 22, 2, 0, tzinfo=UTC), True),
        ("0 2 * * 7", datetime(2026, 11, 22, 2, 0, tzinfo=UTC), True),
        ("0 2 * * 0", datetime(2026, 11, 23, 2, 0, tzinfo=UTC), False),
        ("*/15 * * * *", datetime(2026, 11, 23, 2, 45, tzinfo=UTC), True),
        ("*/15 * * * *", datetime(2026, 11, 23, 2, 50, tzinfo=UTC), False),
        ("0 0 1 * 1", datetime(2026, 11, 23, 0, 0, tzinfo=UTC), True),
        ("0 0 1,15 6-8 *", datetime(2026, 7, 15, 0, 0, tzinfo=UTC), True),
        ("0 0 1,15 6-8 *", datetime(2026, 9, 15, 0, 0, tzinfo=UTC), False),
    ],
    ids=[
        "sunday",
        "7 is sunday",
        "monday is not",
        "step",
        "off step",
        "day or weekday",
        "list and range",
        "month out of range",
    ],
)
def test_cron(schedule: str, moment: datetime, expected: bool) -> None:
    assert Cron.parse(schedule).matches(moment) is expected


@pytest.mark.parametrize(
    "schedule", ["* * * *", "60 * * * *", "* * 0 * *", "*/0 * * * *", "a * * * *"]
)
def test_cron_rejects(schedule: str) -> None:
    with pytest.raises(ValueError, match="cron"):
        Cron.parse(schedule)


def test_fired_between_is_half_open() -> None:
    cron = Cron.parse("5 10 * * *")
    assert fired_between(cron, T0, T0 + timedelta(hours=1)) is None
    assert fired_between(cron, T0 - timedelta(seconds=1), T0) == T0


@pytest.mark.parametrize(
    ("severities", "evaluated", "drifted"),
    [
        pytest.param(["Ok"], "True", "False", id="stable"),
        pytest.param(["Critical", "Critical"], "True", "True", id="critical"),
        pytest.param([None], "False", "False", id="no-window"),
    ],
)
def test_conditions_follow_the_verdict(
    severities: list[Severity | None], evaluated: str, drifted: str
) -> None:
    status, _ = run(policy(), severities)
    conditions = {c.type: c.status for c in status.conditions}
    assert conditions == {"Evaluated": evaluated, "Drifted": drifted}
