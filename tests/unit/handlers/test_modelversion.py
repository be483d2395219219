"""The ModelVersion reconcile decision over plain API bodies: moves happen once, one
Production version per model, the champion comes from the siblings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from modelwarden.api.modelversion import StageRequest
from modelwarden.decide.gates import GovernanceConfig
from modelwarden.handlers.admission import stamp_request
from modelwarden.handlers.modelversion import decide

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DIGEST = "sha256:" + "0" * 64
CONFIG = GovernanceConfig()


def body(name: str, stage: str = "Registered", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "generation": 1},
        "spec": {
            "model": "fraud",
            "version": "1.0.0",
            "artifact": {"uri": "s3://m/x", "digest": DIGEST},
            "runtime": {"image": "m:1"},
            "owner": "team",
            "riskTier": 4,
            "metrics": {"evaluationSet": {"name": "h", "size": 2000}, "values": {"auc": 0.9}},
            **spec,
        },
        "status": {"stage": stage},
    }


def request(stage: str) -> dict[str, Any]:
    return {"stageRequest": {"stage": stage, "by": "alice", "at": "t1"}}


def apply(obj: dict[str, Any], siblings: list[dict[str, Any]], deployments: list[Any]) -> Any:
    verdict = decide(obj, siblings, deployments, CONFIG, NOW)
    obj["status"] = verdict.status.model_dump(by_alias=True, exclude_none=True, mode="json")
    return verdict


def test_a_request_is_acted_on_once_and_a_replay_changes_nothing():
    mv = body("a", "Validated", **request("Staging"))
    first = apply(mv, [mv], [])
    assert first.moved
    assert mv["status"]["stage"] == "Staging"
    assert [h["to"] for h in mv["status"]["history"]] == ["Staging"]
    before = dict(mv["status"])
    again = apply(mv, [mv], [])  # e.g. after an operator restart
    assert (again.move, again.moved) == (None, False)
    assert mv["status"] == before


def test_a_second_production_version_is_refused_and_the_request_consumed():
    champion = body("a", "Production")
    challenger = body("b", "Staging", **request("Production"))
    verdict = apply(challenger, [champion, challenger], [])
    assert verdict.refused
    assert "a of model fraud is already in Production" in verdict.message
    assert challenger["status"]["stage"] == "Staging"
    assert challenger["status"]["handledStageRequest"] == "Production@t1@alice"


@pytest.mark.parametrize(
    ("auc", "passed"), [(0.95, True), (0.905, False)], ids=["beats", "within margin"]
)
def test_the_champion_is_the_production_sibling(auc, passed):
    champion = body("a", "Production")
    challenger = body("b", "Staging")
    challenger["spec"]["metrics"]["values"]["auc"] = auc
    slot = {
        "metadata": {"name": "fraud"},
        "spec": {
            "version": "b",
            "promotion": {"championChallenger": {"metric": "auc", "margin": "auto"}},
        },
        "status": {"stableVersion": "a", "canaryVersion": "b"},
    }
    verdict = decide(challenger, [champion, challenger], [slot], CONFIG, NOW)
    gate = next(g for g in verdict.status.gates if g.name == "ChampionChallenger")
    assert gate.passed is passed
    assert [(s.deployment, s.role) for s in verdict.status.served_by] == [("fraud", "canary")]


def test_the_production_version_replaced_in_its_slot_is_archived():
    old, new = body("a", "Production"), body("b", "Staging")
    slot = {
        "metadata": {"name": "fraud"},
        "spec": {"version": "a"},
        "status": {"stableVersion": "a"},
    }
    apply(old, [old, new], [slot])
    assert old["status"]["servedBy"] == [{"deployment": "fraud", "role": "stable"}]
    slot["status"] = {"stableVersion": "b", "standbyVersions": ["a"]}
    verdict = apply(old, [old, new], [slot])
    assert verdict.moved
    assert old["status"]["stage"] == "Archived"


@pytest.mark.parametrize(
    ("new", "old", "stamped"),
    [
        (None, None, False),
        (StageRequest(stage="Staging"), None, True),
        (StageRequest(stage="Staging", by="bob", at="x"), None, True),
        (
            StageRequest(stage="Staging", by="al", at="x"),
            StageRequest(stage="Staging", by="al", at="x"),
            False,
        ),
        (StageRequest(stage="Staging"), StageRequest(stage="Staging", by="al", at="x"), True),
    ],
    ids=["none", "new", "forged by", "unchanged", "asked again"],
)
def test_stage_requests_are_stamped_when_changed(new, old, stamped):
    result = stamp_request(new, old, "alice", NOW)
    assert (result is not None) is stamped
    if result is not None:
        assert (result.by, result.at) == ("alice", "2026-11-23T12:00:00.000000Z")
