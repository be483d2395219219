"""Table tests of the admission decisions: identity stamping, append-only approvals, roles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cases.invalid_manifests import sample
from modelwarden.api.modelversion import ModelVersionSpec
from modelwarden.decide.approvals import check_single_production, review_approvals
from modelwarden.decide.gates import GovernanceConfig

NOW = datetime(2026, 11, 23, 12, 30, 0, tzinfo=UTC)
STAMP = "2026-11-23T12:30:00Z"
CONFIG = GovernanceConfig()
LEADS = ["system:authenticated", "modelwarden:ml-leads"]
RECORDED = {
    "role": "ml-lead",
    "decision": "approve",
    "comment": "ok",
    "by": "alice",
    "groups": ["modelwarden:ml-leads"],
    "at": "2026-11-20T09:00:00Z",
}


def spec(*approvals: dict[str, Any]) -> ModelVersionSpec:
    raw = sample("fraud-detector-modelversion")["spec"]
    return ModelVersionSpec.model_validate({**raw, "approvals": list(approvals)})


def review(old, new, user="bob", groups=LEADS):
    return review_approvals(old, new, user=user, groups=groups, now=NOW, config=CONFIG)


@pytest.mark.parametrize(
    ("submitted", "user", "groups"),
    [
        pytest.param({"role": "ml-lead", "decision": "approve"}, "bob", LEADS, id="plain"),
        pytest.param(
            {
                "role": "ml-lead",
                "decision": "approve",
                "by": "alice",
                "groups": ["modelwarden:compliance"],
                "at": "1999-01-01T00:00:00Z",
            },
            "bob",
            LEADS,
            id="forged-identity-overwritten",
        ),
        pytest.param(
            {"role": "compliance", "decision": "reject", "comment": "no DPIA"},
            "carol",
            ["modelwarden:compliance"],
            id="reject-is-stamped-too",
        ),
        pytest.param(
            {"role": "peer", "decision": "approve"},
            "bob",
            LEADS,
            id="lead-may-act-as-peer",
        ),
    ],
)
def test_a_new_approval_is_stamped_with_the_authenticated_identity(submitted, user, groups):
    decision = review(None, spec(submitted), user=user, groups=groups)
    assert decision.allowed, decision.message
    (approval,) = decision.patched_approvals
    assert (approval.by, approval.groups, approval.at) == (user, groups, STAMP)
    assert (approval.role, approval.decision) == (submitted["role"], submitted["decision"])
    assert decision.stamped == (0,)


def test_only_the_new_approvals_are_stamped_on_update():
    old = spec(RECORDED)
    new = spec(RECORDED, {"role": "peer", "decision": "approve", "by": "alice"})
    decision = review(old, new)
    assert decision.allowed
    assert decision.patched_approvals[0] == old.approvals[0]
    assert decision.patched_approvals[1].by == "bob"
    assert decision.json_patch() == [
        {
            "op": "replace",
            "path": "/spec/approvals/1",
            "value": {
                "role": "peer",
                "decision": "approve",
                "comment": "",
                "by": "bob",
                "groups": LEADS,
                "at": STAMP,
            },
        }
    ]


def test_an_update_without_new_approvals_patches_nothing():
    decision = review(spec(RECORDED), spec(RECORDED))
    assert decision.allowed
    assert decision.json_patch() == []


@pytest.mark.parametrize(
    ("new", "message"),
    [
        pytest.param(
            spec(),
            "spec.approvals[0] was removed: recorded approvals are append-only",
            id="removed",
        ),
        pytest.param(
            spec({**RECORDED, "by": "mallory"}), "spec.approvals[0] was edited", id="by-edited"
        ),
        pytest.param(
            spec({**RECORDED, "decision": "reject"}),
            "spec.approvals[0] was edited",
            id="decision-flipped",
        ),
        pytest.param(
            spec({**RECORDED, "comment": "changed my mind"}),
            "spec.approvals[0] was edited",
            id="comment-edited",
        ),
        pytest.param(
            spec({"role": "peer", "decision": "approve"}, RECORDED),
            "spec.approvals[0] was edited",
            id="inserted-before",
        ),
        pytest.param(
            spec({"role": "ml-lead", "decision": "reject", "comment": "ok"}),
            "spec.approvals[0] was edited",
            id="unstamped-but-flipped",
        ),
        pytest.param(
            spec({"role": "ml-lead", "decision": "approve", "comment": "ok", "by": "mallory"}),
            "spec.approvals[0] was edited",
            id="partly-stamped-is-an-edit",
        ),
    ],
)
def test_recorded_approvals_are_append_only(new, message):
    decision = review(spec(RECORDED), new)
    assert not decision.allowed
    assert decision.message.startswith(message)
    assert decision.patched_approvals == ()


def test_the_index_of_a_later_edited_approval_is_named():
    second = {**RECORDED, "role": "peer", "by": "dan"}
    decision = review(spec(RECORDED, second), spec(RECORDED, {**second, "at": "now"}))
    assert decision.message.startswith("spec.approvals[1] was edited")


@pytest.mark.parametrize(
    ("role", "user", "groups", "message"),
    [
        pytest.param(
            "compliance",
            "bob",
            LEADS,
            "spec.approvals[0]: user 'bob' may not approve as 'compliance'; the role needs"
            " membership of one of: modelwarden:compliance",
            id="lead-is-not-compliance",
        ),
        pytest.param(
            "ml-lead",
            "eve",
            [],
            "spec.approvals[0]: user 'eve' may not approve as 'ml-lead'; the role needs"
            " membership of one of: modelwarden:ml-leads",
            id="no-groups",
        ),
        pytest.param(
            "owner",
            "bob",
            LEADS,
            "spec.approvals[0]: unknown approval role 'owner' (known: business-owner,"
            " compliance, ml-lead, peer)",
            id="unknown-role",
        ),
    ],
)
def test_an_approval_in_a_role_the_user_may_not_hold_is_refused(role, user, groups, message):
    decision = review(None, spec({"role": role, "decision": "approve"}), user=user, groups=groups)
    assert (decision.allowed, decision.message) == (False, message)


def test_the_role_to_groups_mapping_is_configurable():
    config = GovernanceConfig(role_groups={"peer": ("team-a",)})
    new = spec({"role": "peer", "decision": "approve"})
    allowed = review_approvals(None, new, user="x", groups=["team-a"], now=NOW, config=config)
    refused = review_approvals(None, new, user="x", groups=LEADS, now=NOW, config=config)
    assert (allowed.allowed, refused.allowed) == (True, False)


@pytest.mark.parametrize(
    ("stage", "others", "refused_by"),
    [
        pytest.param("Production", [], None, id="first-production"),
        pytest.param("Production", [("v1", "Archived"), ("v0", "Retired")], None, id="others-off"),
        pytest.param("Production", [("v1", "Production")], "v1", id="second-production"),
        pytest.param("Production", [("v1", "Degraded")], None, id="replaces-degraded"),
        pytest.param("Production", [("v2", "Production")], None, id="itself-listed"),
        pytest.param("Staging", [("v1", "Production")], None, id="staging-beside-production"),
        pytest.param(
            "Production", [("v1", "Production"), ("v0", "Production")], "v0, v1", id="both-named"
        ),
    ],
)
def test_single_production(stage, others, refused_by):
    message = check_single_production("v2", "fraud", stage, others)
    if refused_by is None:
        assert message is None
    else:
        assert message == (
            f"v2 cannot enter Production: {refused_by} of model fraud is already in Production;"
            " archive it first"
        )


def test_reapplied_manifest_without_stamps_gets_the_recorded_stamps_back():
    # Given a recorded, stamped approval; When the manifest it came from (no stamps) is
    # applied again together with one new approval (a GitOps sync after a pull request)
    unstamped = {"role": "ml-lead", "decision": "approve", "comment": "ok"}
    new = {"role": "peer", "decision": "approve"}
    decision = review(spec(RECORDED), spec(unstamped, new))
    # Then it is allowed: the old decision keeps alice's stamps, the new one gets bob's
    assert decision.allowed
    assert decision.patched_approvals[0].by == "alice"
    assert decision.patched_approvals[0].at == RECORDED["at"]
    assert decision.patched_approvals[1].by == "bob"
    assert [op["path"] for op in decision.json_patch()] == [
        "/spec/approvals/0",
        "/spec/approvals/1",
    ]
    assert decision.json_patch()[0]["value"] == RECORDED
