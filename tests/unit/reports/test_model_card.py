"""The model card renders every sample ModelVersion and shows gaps instead of hiding them."""

from __future__ import annotations

import pytest

from cases.invalid_manifests import sample, sample_files
from modelwarden.api.modelversion import ModelVersionSpec, ModelVersionStatus
from modelwarden.reports import render_model_card

SECTIONS = [
    "## Overview",
    "## Intended use",
    "## Out of scope",
    "## Limitations",
    "## Ethical considerations",
    "## Data and lineage",
    "## Offline metrics",
    "## Fairness",
    "## Approvals",
    "## Stage history",
]
VERSION_SAMPLES = [p.stem for p in sample_files() if p.stem.endswith("-modelversion")]


def load(stem: str, **changes: object) -> tuple[str, ModelVersionSpec]:
    doc = sample(stem)
    return doc["metadata"]["name"], ModelVersionSpec.model_validate({**doc["spec"], **changes})


def test_there_are_version_samples_to_render():
    assert VERSION_SAMPLES == ["email-classifier-modelversion", "fraud-detector-modelversion"]


@pytest.mark.parametrize("stem", VERSION_SAMPLES)
def test_every_sample_renders_every_section_in_order(stem):
    name, spec = load(stem)
    card = render_model_card(name, spec, None, None)
    assert card.startswith(f"# Model card: {spec.model} {spec.version}\n")
    assert f"ModelVersion `{name}`." in card
    positions = [card.index(f"\n{s}\n") for s in SECTIONS]
    assert positions == sorted(positions)
    assert f"| Risk tier | {spec.risk_tier} |" in card
    assert spec.model_card.intended_use in card
    assert card.endswith(("|\n", "_\n"))  # one final newline, no trailing blank line


def test_the_fraud_card_shows_lineage_metrics_and_card_text():
    card = render_model_card(*load("fraud-detector-modelversion"), None, None)
    assert "| Seed | `42` |" in card
    assert "| Code commit | `9f8d1115c2a7e4b3d6f0a1c9e8b7d6c5a4f3e2d1` |" in card
    assert "Evaluation set **holdout-2025w03** (2000 rows, digest `sha256:7d6c" in card
    assert "| auc | 0.994 |" in card
    assert "| p95LatencyMs | 18 |" in card
    assert "Credit decisions; any use without a human review queue." in card
    assert "**Training data.** _Not documented._" in card


def test_the_email_card_shows_what_is_not_documented():
    card = render_model_card(*load("email-classifier-modelversion"), None, None)
    assert "## Out of scope\n\n_Not documented._\n" in card
    assert "## Ethical considerations\n\n_Not documented._\n" in card
    assert "| Training run | missing |" in card
    assert "| peer | approve | unverified |  | reviewed notebook and eval |" in card


def test_missing_lineage_and_metrics_are_shown_as_gaps():
    card = render_model_card(
        *load("fraud-detector-modelversion", lineage={}, metrics=None), None, None
    )
    assert "| Data snapshot | missing |" in card
    assert "| Seed | missing |" in card
    assert "## Offline metrics\n\n_No offline metrics recorded._\n" in card


def test_approvals_show_who_and_when():
    approvals = [
        {"role": "ml-lead", "decision": "approve", "by": "alice", "at": "2026-11-20T09:00:00Z"},
        {
            "role": "compliance",
            "decision": "reject",
            "by": "carol",
            "at": "2026-11-21T10:00:00Z",
            "comment": "needs DPIA | see ticket",
        },
    ]
    card = render_model_card(*load("fraud-detector-modelversion", approvals=approvals), None, None)
    assert "| ml-lead | approve | alice | 2026-11-20T09:00:00Z |  |" in card
    assert (
        "| compliance | reject | carol | 2026-11-21T10:00:00Z | needs DPIA \\| see ticket |" in card
    )


def test_stage_history_comes_from_status():
    status = ModelVersionStatus.model_validate(
        {
            "stage": "Staging",
            "history": [
                {
                    "at": "t1",
                    "from": "Registered",
                    "to": "Validated",
                    "actor": "op",
                    "reason": "ok",
                },
                {"at": "t2", "from": "Validated", "to": "Staging", "actor": "bob", "reason": "go"},
            ],
        }
    )
    card = render_model_card(*load("fraud-detector-modelversion"), status, None)
    assert "| Stage | Staging |" in card
    assert (
        "| t1 | Registered | Validated | op | ok |\n| t2 | Validated | Staging | bob | go |" in card
    )


def test_without_status_the_card_says_so():
    card = render_model_card(*load("fraud-detector-modelversion"), None, None)
    assert "| Stage | Registered |" in card
    assert "## Stage history\n\n_No stage changes recorded._\n" in card
    assert "## Fairness\n\n_No DriftPolicy status given._\n" in card


@pytest.mark.parametrize(
    ("drift_status", "expected"),
    [
        pytest.param(
            {
                "verdict": "Warning",
                "checks": [
                    {"kind": "drift", "feature": "amount", "method": "psi", "statistic": 0.3},
                    {
                        "kind": "fairness",
                        "feature": "channel",
                        "method": "demographicParity",
                        "statistic": 0.04213,
                        "threshold": 0.1,
                        "severity": "Ok",
                        "samples": 5000,
                    },
                    {
                        "kind": "fairness",
                        "feature": "channel",
                        "method": "equalOpportunity",
                        "statistic": 0.15,
                        "threshold": 0.1,
                        "severity": "Critical",
                        "samples": 800,
                    },
                ],
            },
            "| channel | demographicParity | 0.04213 | 0.1 | Ok | 5000 |\n"
            "| channel | equalOpportunity | 0.15 | 0.1 | Critical | 800 |\n\n",
            id="fairness-checks-only",
        ),
        pytest.param(
            {"verdict": "Stable", "checks": [{"kind": "drift", "feature": "amount"}]},
            "## Fairness\n\n_No fairness results in the DriftPolicy status._\n",
            id="no-fairness-checks",
        ),
        pytest.param(
            {"checks": [{"kind": "fairness", "feature": "country", "method": "disparateImpact"}]},
            "| country | disparateImpact |  |  | Ok | 0 |",
            id="not-yet-measured",
        ),
    ],
)
def test_fairness_comes_from_the_drift_policy_status(drift_status, expected):
    card = render_model_card(*load("fraud-detector-modelversion"), None, drift_status)
    assert expected in card
    assert "| amount |" not in card
