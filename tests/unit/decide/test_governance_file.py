"""The governance policy file: partial files keep the defaults, every malformed key is named,
and a policy that leaves a required role with nobody to hold it is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from modelwarden.api.manifest import ManifestError
from modelwarden.api.modeldeployment import Guardrail
from modelwarden.cli.run_cmd import run as run_command
from modelwarden.decide.gates import GovernanceConfig
from modelwarden.decide.governance_file import parse_governance

DEFAULT = GovernanceConfig()


def test_empty_file_is_the_default_policy() -> None:
    assert parse_governance({}) == DEFAULT


def test_a_full_policy_replaces_the_tier_table() -> None:
    config = parse_governance(
        {
            "approvalsByTier": {1: ["risk-officer"], 2: [], 3: [], 4: []},
            "roleGroups": {"risk-officer": ["okta:risk"]},
            "satisfiedBy": {},
            "thresholdsByTier": {1: [{"metric": "auc", "min": 0.8}]},
            "lineageRequiredTiers": [1],
            "requireStampedApprovals": False,
        }
    )
    assert config.approvals_by_tier == {1: ("risk-officer",), 2: (), 3: (), 4: ()}
    assert config.role_groups["risk-officer"] == ("okta:risk",)
    assert config.role_groups["ml-lead"] == DEFAULT.role_groups["ml-lead"]  # merged
    assert config.thresholds_by_tier == {1: (Guardrail(metric="auc", min=0.8),)}
    assert config.lineage_required_tiers == frozenset({1})
    assert config.require_stamped_approvals is False


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        pytest.param({"approvalsByTier": {5: []}}, "approvalsByTier[5]", id="tier-out-of-range"),
        pytest.param({"roleGroup": {}}, "roleGroup: Extra inputs are not permitted",
                     id="misspelt-key"),
        pytest.param({"roleGroups": {"ml-lead": "ml-leads"}}, "roleGroups.ml-lead",
                     id="groups-not-a-list"),
        pytest.param({"approvalsByTier": {1: ["auditor"]}},
                     "approvalsByTier[1]: role 'auditor' has no roleGroups entry",
                     id="role-nobody-can-hold"),
        pytest.param({"roleGroups": {"compliance": []}},
                     "approvalsByTier[1]: role 'compliance' has no roleGroups entry",
                     id="role-emptied"),
    ],
)  # fmt: skip
def test_bad_policies_name_the_field(document: dict[str, Any], problem: str) -> None:
    with pytest.raises(ManifestError) as err:
        parse_governance(document)
    assert problem in str(err.value)


def test_a_peer_held_through_satisfied_by_is_assignable() -> None:
    # "peer" has groups of its own by default; without them a lead may still approve as peer
    config = parse_governance({"roleGroups": {"peer": []}})
    assert config.role_groups["peer"] == ()


def test_run_refuses_a_broken_policy_file_before_starting(tmp_path: Path) -> None:
    policy = tmp_path / "governance.yaml"
    policy.write_text("approvalsByTier:\n  1: [auditor]\n")
    result = CliRunner().invoke(run_command, ["--governance-config", str(policy)])
    assert result.exit_code == 2
    assert "role 'auditor' has no roleGroups entry" in result.output
    assert "--governance-config" in result.output
