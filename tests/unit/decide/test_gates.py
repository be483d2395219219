"""Table tests of the governance gates, starting from the fraud and email samples."""

from __future__ import annotations

import math
from typing import Any

import pytest
from scipy.stats import norm

from cases.invalid_manifests import sample
from modelwarden.api.base import Condition
from modelwarden.api.modeldeployment import ChampionChallenger, Guardrail, Promotion
from modelwarden.api.modelversion import ModelVersionSpec
from modelwarden.decide.gates import (
    FAMILIES,
    GovernanceConfig,
    approvals_gate,
    auto_margin,
    bound_gate,
    champion_gate,
    evaluate_gates,
    family,
    lineage_condition,
    lineage_gate,
)

CONFIG = GovernanceConfig()


def version(name: str = "fraud-detector-modelversion", **changes: Any) -> ModelVersionSpec:
    """A sample's spec with top-level (camelCase) fields replaced."""
    raw = sample(name)["spec"]
    return ModelVersionSpec.model_validate({**raw, **changes})


def with_metrics(values: dict[str, float], size: int = 2000) -> ModelVersionSpec:
    return version(metrics={"evaluationSet": {"name": "holdout", "size": size}, "values": values})


def stamped(role: str, decision: str = "approve", by: str | None = None) -> dict[str, Any]:
    return {"role": role, "decision": decision, "by": by or f"{role}-person", "at": "t"}


# --- lineage -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drop", "passed", "value", "message"),
    [
        pytest.param([], True, "5/5", "lineage complete", id="complete"),
        pytest.param(["dataSnapshot"], False, "4/5", "missing: dataSnapshot", id="no-data"),
        pytest.param(["codeCommit"], False, "4/5", "missing: codeCommit", id="no-code"),
        pytest.param(["configHash"], False, "4/5", "missing: configHash", id="no-config"),
        pytest.param(["environment"], False, "4/5", "missing: environment", id="no-env"),
        pytest.param(["seed"], False, "4/5", "missing: seed", id="no-seed"),
        pytest.param(
            ["seed", "codeCommit"], False, "3/5", "missing: codeCommit, seed", id="two-missing"
        ),
        pytest.param(["trainingRun", "featureSet"], True, "5/5", "lineage complete", id="extras"),
    ],
)
def test_lineage_gate(drop, passed, value, message):
    lineage = sample("fraud-detector-modelversion")["spec"]["lineage"]
    spec = version(lineage={k: v for k, v in lineage.items() if k not in drop})
    gate = lineage_gate(spec)
    assert (gate.name, gate.passed, gate.value, gate.message) == (
        "LineageComplete",
        passed,
        value,
        message,
    )


@pytest.mark.parametrize(
    ("lineage", "status", "reason"),
    [
        pytest.param(None, "True", "Complete", id="complete"),
        pytest.param({}, "False", "Missing", id="empty"),
    ],
)
def test_lineage_condition(lineage, status, reason):
    spec = version() if lineage is None else version(lineage=lineage)
    others = [Condition(type="Ready", status="True")]
    conditions = lineage_condition(others, evaluate_gates(spec, None, None, CONFIG), "t1", 3)
    condition = conditions[-1]
    assert (condition.type, condition.status, condition.reason) == (
        "LineageComplete",
        status,
        reason,
    )
    assert (condition.last_transition_time, condition.observed_generation) == ("t1", 3)
    assert conditions[0].type == "Ready"


# --- bounds (offline thresholds and guardrails) ---------------------------------------------


@pytest.mark.parametrize(
    ("bound", "values", "passed", "threshold"),
    [
        pytest.param(
            Guardrail(metric="ece", max=0.05), {"ece": 0.02}, True, "<= 0.05", id="max-ok"
        ),
        pytest.param(
            Guardrail(metric="ece", max=0.05), {"ece": 0.05}, True, "<= 0.05", id="max-equal"
        ),
        pytest.param(
            Guardrail(metric="ece", max=0.05), {"ece": 0.06}, False, "<= 0.05", id="max-over"
        ),
        pytest.param(Guardrail(metric="auc", min=0.9), {"auc": 0.95}, True, ">= 0.9", id="min-ok"),
        pytest.param(
            Guardrail(metric="auc", min=0.9), {"auc": 0.89}, False, ">= 0.9", id="min-under"
        ),
        pytest.param(
            Guardrail(metric="auc", min=0.9, max=0.99),
            {"auc": 0.995},
            False,
            "<= 0.99, >= 0.9",
            id="both-over",
        ),
        pytest.param(
            Guardrail(metric="auc", min=0.9), {"f1": 0.95}, False, ">= 0.9", id="not-reported"
        ),
    ],
)
def test_bound_gate(bound, values, passed, threshold):
    gate = bound_gate("Guardrail", values, bound)
    assert (gate.name, gate.passed, gate.threshold) == (
        f"Guardrail/{bound.metric}",
        passed,
        threshold,
    )
    if bound.metric not in values:
        assert gate.message == f"{bound.metric} not reported"


@pytest.mark.parametrize(
    ("tier", "values", "failing"),
    [
        pytest.param(1, {"ece": 0.02, "fairnessGap": 0.03, "p95LatencyMs": 18}, [], id="tier1-ok"),
        pytest.param(
            1, {"ece": 0.02, "p95LatencyMs": 18}, ["OfflineMetric/fairnessGap"], id="tier1-no-fair"
        ),
        pytest.param(
            1,
            {"ece": 0.06, "fairnessGap": 0.03, "p95LatencyMs": 300},
            ["OfflineMetric/ece", "OfflineMetric/p95LatencyMs"],
            id="tier1-two-over",
        ),
        pytest.param(
            2, {"ece": 0.08, "fairnessGap": 0.08, "p95LatencyMs": 300}, [], id="tier2-looser"
        ),
        pytest.param(3, {"p95LatencyMs": 499}, [], id="tier3-latency-only"),
        pytest.param(3, {"p95LatencyMs": 501}, ["OfflineMetric/p95LatencyMs"], id="tier3-slow"),
        pytest.param(4, {}, [], id="tier4-none"),
    ],
)
def test_offline_thresholds_by_tier(tier, values, failing):
    spec = version(
        riskTier=tier, metrics={"evaluationSet": {"name": "h", "size": 10}, "values": values}
    )
    gates = [g for g in evaluate_gates(spec, None, None, CONFIG) if family(g) == "OfflineMetric"]
    assert [g.name for g in gates if not g.passed] == failing
    assert gates  # a placeholder stands in when the tier has no thresholds


def test_offline_thresholds_are_overridable():
    config = GovernanceConfig(thresholds_by_tier={3: (Guardrail(metric="accuracy", min=0.95),)})
    spec = version("email-classifier-modelversion")
    gates = [g for g in evaluate_gates(spec, None, None, config) if family(g) == "OfflineMetric"]
    assert [(g.name, g.passed, g.value) for g in gates] == [
        ("OfflineMetric/accuracy", False, "0.942")
    ]


# --- champion / challenger ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "m", "expected"),
    [
        pytest.param(0.9, 2000, 1.96 * math.sqrt(0.9 * 0.1 / 2000), id="p0.9-m2000"),
        # by hand: 0.5·0.5/100 = 0.0025, √ = 0.05, ·1.96 = 0.098
        pytest.param(0.5, 100, 0.098, id="p0.5-m100-by-hand"),
        # by hand: 0.99·0.01/10000 = 9.9e-7, √ ≈ 9.9499e-4, ·1.96 ≈ 1.95018e-3
        pytest.param(0.99, 10000, 0.00195018, id="p0.99-m10000-by-hand"),
        pytest.param(1.0, 50, 0.0, id="p1-no-variance"),
        pytest.param(0.0, 50, 0.0, id="p0-no-variance"),
    ],
)
def test_auto_margin_by_hand(p, m, expected):
    assert auto_margin(p, m) == pytest.approx(expected, rel=1e-5, abs=1e-12)


@pytest.mark.parametrize(
    ("p", "m"),
    [
        pytest.param(0.994, 2000, id="fraud-sample"),
        pytest.param(0.942, 5000, id="email-sample"),
        pytest.param(0.5, 1, id="tiny-set"),
        pytest.param(0.73, 123457, id="huge-set"),
    ],
)
def test_auto_margin_matches_the_normal_quantile(p, m):
    oracle = norm.ppf(0.975) * math.sqrt(p * (1 - p) / m)
    assert auto_margin(p, m) == pytest.approx(oracle, rel=1e-4)  # 1.96 vs 1.959964


@pytest.mark.parametrize("p", [pytest.param(-0.1, id="negative"), pytest.param(18.0, id="ms")])
def test_auto_margin_needs_a_proportion(p):
    with pytest.raises(ValueError, match="proportion"):
        auto_margin(p, 100)


AUC = ChampionChallenger(metric="auc")


@pytest.mark.parametrize(
    ("challenger", "champion", "rule", "passed", "message"),
    [
        pytest.param({"auc": 0.92}, {"auc": 0.9}, AUC, True, "beats", id="beats-auto-margin"),
        pytest.param({"auc": 0.91}, {"auc": 0.9}, AUC, False, "does not beat", id="within-noise"),
        pytest.param(
            {"auc": 0.75},  # 0.75 − 0.5 is exactly 0.25 in binary floating point
            {"auc": 0.5},
            ChampionChallenger(metric="auc", margin="0.25"),
            False,
            "does not beat",
            id="gain-equal-to-margin-is-not-enough",
        ),
        pytest.param({"auc": 0.89}, {"auc": 0.9}, AUC, False, "does not beat", id="worse"),
        pytest.param(
            {"auc": 0.905},
            {"auc": 0.9},
            ChampionChallenger(metric="auc", margin="0.001"),
            True,
            "margin fixed",
            id="fixed-margin",
        ),
        pytest.param(
            {"auc": 0.905},
            {"auc": 0.9},
            ChampionChallenger(metric="auc", margin="0"),
            True,
            "beats",
            id="zero-margin",
        ),
        pytest.param({"auc": 0.5}, None, AUC, True, "no champion in Production", id="no-champion"),
        pytest.param(
            {"auc": 0.5}, {"f1": 0.9}, AUC, True, "champion has no auc", id="champion-lacks-metric"
        ),
        pytest.param({"f1": 0.99}, {"auc": 0.9}, AUC, False, "auc not reported", id="no-metric"),
        pytest.param(
            {"lat": 20},
            {"lat": 30},
            ChampionChallenger(metric="lat"),
            False,
            "proportion",
            id="auto-needs-proportion",
        ),
    ],
)
def test_champion_gate(challenger, champion, rule, passed, message):
    champ = None if champion is None else with_metrics(champion, size=999)
    gate = champion_gate(with_metrics(challenger, size=2000), champ, rule)
    assert gate.name == "ChampionChallenger"
    assert gate.passed is passed
    assert message in gate.message


def test_champion_gate_reports_value_and_threshold():
    gate = champion_gate(with_metrics({"auc": 0.92}), with_metrics({"auc": 0.9}), AUC)
    assert gate.value == "0.92 vs 0.9 (+0.02)"
    assert gate.threshold == "> +0.01315"
    assert gate.message == "auc beats the champion by more than 0.01315 (margin auto, m=2000)"


# --- approvals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "approvals", "require", "passed", "message"),
    [
        pytest.param(
            1,
            [stamped("ml-lead"), stamped("compliance"), stamped("business-owner")],
            None,
            True,
            "all required approvals present",
            id="tier1-complete",
        ),
        pytest.param(
            1,
            [stamped("ml-lead"), stamped("compliance")],
            None,
            False,
            "missing business-owner",
            id="tier1-missing-business",
        ),
        pytest.param(
            1,
            [stamped("ml-lead"), stamped("compliance", "reject"), stamped("business-owner")],
            None,
            False,
            "rejected by compliance",
            id="tier1-compliance-rejects",
        ),
        pytest.param(
            1,
            [
                stamped("ml-lead"),
                stamped("compliance", "reject", by="carol"),
                stamped("compliance", "approve", by="dave"),
                stamped("business-owner"),
            ],
            None,
            False,
            "rejected by compliance",
            id="another-approver-cannot-override-a-reject",
        ),
        pytest.param(
            1,
            [
                stamped("ml-lead"),
                stamped("compliance", "reject", by="carol"),
                stamped("compliance", "approve", by="carol"),
                stamped("business-owner"),
            ],
            None,
            True,
            "all required approvals present",
            id="approver-withdraws-own-reject",
        ),
        pytest.param(
            2,
            [stamped("ml-lead"), stamped("compliance")],
            None,
            True,
            "all required approvals present",
            id="tier2-complete",
        ),
        pytest.param(
            2, [stamped("ml-lead")], None, False, "missing compliance", id="tier2-missing"
        ),
        pytest.param(
            3, [stamped("peer")], None, True, "all required approvals present", id="tier3-peer"
        ),
        pytest.param(
            3,
            [stamped("ml-lead")],
            None,
            True,
            "all required approvals present",
            id="tier3-lead-counts-as-peer",
        ),
        pytest.param(3, [], None, False, "missing peer", id="tier3-none"),
        pytest.param(
            3,
            [{"role": "peer", "decision": "approve"}],
            None,
            False,
            "missing peer",
            id="unstamped-approval-does-not-count",
        ),
        pytest.param(
            3,
            [stamped("peer"), stamped("ml-lead", "reject")],
            None,
            False,
            "rejected by peer",
            id="tier3-lead-reject-blocks",
        ),
        pytest.param(4, [], None, True, "all required approvals present", id="tier4-none-needed"),
        pytest.param(
            4,
            [stamped("compliance", "reject")],
            None,
            True,
            "all required approvals present",
            id="reject-by-a-role-not-required-does-not-block",
        ),
        pytest.param(
            4,
            [],
            ["compliance"],
            False,
            "missing compliance",
            id="deployment-requires-more",
        ),
        pytest.param(
            1,
            [stamped("ml-lead")],
            ["ml-lead"],
            True,
            "all required approvals present",
            id="deployment-requires-less",
        ),
        pytest.param(
            1, [], [], True, "all required approvals present", id="deployment-requires-none"
        ),
        pytest.param(
            1,
            [stamped("compliance", "reject")],
            None,
            False,
            "rejected by compliance; missing ml-lead, business-owner",
            id="rejected-and-missing",
        ),
    ],
)
def test_approvals_gate(tier, approvals, require, passed, message):
    spec = version(riskTier=tier, approvals=approvals)
    promotion = Promotion(require_approvals=require)
    gate = approvals_gate(spec, promotion, CONFIG)
    assert (gate.name, gate.passed, gate.message) == ("Approvals", passed, message)


def test_unstamped_approvals_count_when_configured():
    spec = version("email-classifier-modelversion")
    assert not approvals_gate(spec, None, CONFIG).passed
    config = GovernanceConfig(require_stamped_approvals=False)
    assert approvals_gate(spec, None, config).passed


def test_approvals_by_tier_are_configurable():
    config = GovernanceConfig(approvals_by_tier={3: ("ml-lead", "peer")})
    spec = version("email-classifier-modelversion", approvals=[stamped("peer")])
    gate = approvals_gate(spec, None, config)
    assert (gate.passed, gate.threshold, gate.message) == (
        False,
        "ml-lead, peer",
        "missing ml-lead",
    )


# --- everything together ----------------------------------------------------------------


def test_evaluate_gates_on_the_fraud_sample_against_a_champion():
    promotion = Promotion.model_validate(
        sample("fraud-detector-modeldeployment")["spec"]["promotion"]
    )
    approvals = [stamped(r) for r in ("ml-lead", "compliance", "business-owner")]
    challenger = version(approvals=approvals)
    champion = with_metrics({"auc": 0.985, "p95LatencyMs": 20})
    gates = evaluate_gates(challenger, champion, promotion, CONFIG)
    assert [(g.name, g.passed) for g in gates] == [
        ("LineageComplete", True),
        ("OfflineMetric/ece", True),
        ("OfflineMetric/fairnessGap", True),
        ("OfflineMetric/p95LatencyMs", True),
        ("ChampionChallenger", True),  # 0.994 − 0.985 = 0.009 > 1.96·√(.985·.015/2000) ≈ 0.0053
        ("Guardrail/p95LatencyMs", True),
        ("Approvals", True),
    ]


def test_evaluate_gates_emits_every_family_when_nothing_is_configured():
    spec = version("email-classifier-modelversion", riskTier=4)
    gates = evaluate_gates(spec, None, None, CONFIG)
    assert {family(g) for g in gates} == set(FAMILIES)
    assert all(g.passed for g in gates)


def test_guardrails_fail_the_challenger_that_breaks_them():
    promotion = Promotion(
        champion_challenger=ChampionChallenger(
            metric="auc", guardrails=[Guardrail(metric="p95LatencyMs", max=10)]
        )
    )
    gates = evaluate_gates(version(), None, promotion, CONFIG)
    guard = next(g for g in gates if g.name == "Guardrail/p95LatencyMs")
    assert (guard.passed, guard.value, guard.threshold) == (False, "18", "<= 10")
