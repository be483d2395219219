"""Table tests of the ModelVersion stage machine: every edge, legal or not, and every guard."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from modelwarden.api.modelversion import GateResult, HistoryEntry
from modelwarden.decide.gates import FAMILIES, GovernanceConfig
from modelwarden.decide.stages import append_history, transition

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
STAGES = ("Registered", "Validated", "Staging", "Production", "Degraded", "Archived", "Retired")

# Written out by hand (not read from EDGES) so that a change to the machine fails here.
LEGAL = {
    "Registered": {"Validated", "Archived", "Retired"},
    "Validated": {"Staging", "Archived", "Retired"},
    "Staging": {"Production", "Archived", "Retired"},
    "Production": {"Degraded", "Archived"},
    "Degraded": {"Production", "Archived"},
    "Archived": {"Staging", "Retired"},
    "Retired": set(),
}
GUARDS = {
    ("Registered", "Validated"): {"OfflineMetric"},
    ("Validated", "Staging"): {"OfflineMetric", "LineageComplete"},
    ("Archived", "Staging"): {"OfflineMetric", "LineageComplete"},
    ("Staging", "Production"): set(FAMILIES),
}


def passing() -> list[GateResult]:
    return [GateResult(name=f, passed=True, message="ok") for f in FAMILIES]


def failing(name: str) -> list[GateResult]:
    """All families pass, plus one failing gate called ``name``."""
    return [*passing(), GateResult(name=name, passed=False, message="bad")]


def move(current, requested, gates, tier=1, config=None):
    return transition(
        current,
        requested,
        gates,
        risk_tier=tier,
        now=NOW,
        actor="alice",
        reason="because",
        config=config,
    )


EDGE_CASES = [
    pytest.param(frm, to, to in LEGAL[frm], id=f"{frm}-to-{to}")
    for frm in STAGES
    for to in STAGES
    if frm != to
]


@pytest.mark.parametrize(("current", "requested", "legal"), EDGE_CASES)
def test_every_edge_with_passing_gates(current, requested, legal):
    result = move(current, requested, passing())
    assert result.allowed is legal
    if legal:
        assert result.to == requested
        assert result.entry == HistoryEntry.model_validate(
            {
                "at": "2026-11-23T12:00:00Z",
                "from": current,
                "to": requested,
                "reason": "because",
                "actor": "alice",
            }
        )
    else:
        assert result.to == current
        assert result.entry is None
        assert result.message.startswith(f"illegal transition {current} → {requested}")


@pytest.mark.parametrize(
    ("current", "legal"),
    [
        pytest.param("Retired", "nowhere (terminal)", id="retired-is-terminal"),
        pytest.param("Production", "Degraded, Archived", id="production"),
    ],
)
def test_an_illegal_request_lists_the_legal_targets(current, legal):
    result = move(current, "Registered", passing())
    assert result.message == f"illegal transition {current} → Registered (legal: {legal})"


@pytest.mark.parametrize("stage", STAGES)
def test_requesting_the_current_stage_is_a_no_op_without_history(stage):
    result = move(stage, stage, [])
    assert (result.allowed, result.to, result.entry) == (True, stage, None)


GUARD_CASES = [
    pytest.param(frm, to, fam, fam in GUARDS.get((frm, to), set()), id=f"{frm}-to-{to}-{fam}")
    for frm, targets in LEGAL.items()
    for to in sorted(targets)
    for fam in FAMILIES
]


@pytest.mark.parametrize(("current", "requested", "family", "guarded"), GUARD_CASES)
def test_a_failing_gate_blocks_exactly_the_edges_it_guards(current, requested, family, guarded):
    result = move(current, requested, failing(f"{family}/x"), tier=1)
    assert result.allowed is not guarded
    if guarded:
        assert result.to == current
        assert f"{family}/x (bad)" in result.message
        assert result.entry is None


@pytest.mark.parametrize(
    ("current", "requested", "family"),
    [
        pytest.param(frm, to, fam, id=f"{frm}-to-{to}-without-{fam}")
        for (frm, to), families in GUARDS.items()
        for fam in sorted(families)
    ],
)
def test_a_guard_family_that_was_not_evaluated_refuses(current, requested, family):
    gates = [g for g in passing() if g.name != family]
    result = move(current, requested, gates)
    assert not result.allowed
    assert f"{family} (not evaluated)" in result.message


@pytest.mark.parametrize(
    ("tier", "allowed"),
    [
        pytest.param(1, False, id="tier1-blocks"),
        pytest.param(2, False, id="tier2-blocks"),
        pytest.param(3, True, id="tier3-warns"),
        pytest.param(4, True, id="tier4-warns"),
    ],
)
def test_incomplete_lineage_blocks_only_tiers_one_and_two(tier, allowed):
    gates = [
        *(g for g in passing() if g.name != "LineageComplete"),
        GateResult(name="LineageComplete", passed=False, message="missing: seed"),
    ]
    result = move("Validated", "Staging", gates, tier=tier)
    assert result.allowed is allowed
    if allowed:
        assert result.warnings == ("LineageComplete: missing: seed",)
    else:
        assert "LineageComplete (missing: seed)" in result.message


def test_the_lineage_tiers_are_configurable():
    config = GovernanceConfig(lineage_required_tiers=frozenset({1, 2, 3}))
    result = move("Validated", "Staging", failing("LineageComplete"), tier=3, config=config)
    assert not result.allowed


def test_the_refusal_names_every_failing_gate():
    gates = [
        *passing(),
        GateResult(name="Approvals", passed=False, message="missing compliance"),
        GateResult(name="Guardrail/p95LatencyMs", passed=False, message="p95LatencyMs 300"),
    ]
    result = move("Staging", "Production", gates)
    assert result.message == (
        "Staging → Production refused; failing gates: Approvals (missing compliance),"
        " Guardrail/p95LatencyMs (p95LatencyMs 300)"
    )


def entry(i: int) -> HistoryEntry:
    return HistoryEntry.model_validate({"at": f"t{i}", "from": "Registered", "to": "Validated"})


@pytest.mark.parametrize(
    ("before", "limit", "kept"),
    [
        pytest.param(0, 20, [0], id="empty"),
        pytest.param(5, 20, [1, 2, 3, 4, 5, 0], id="below-limit"),
        pytest.param(19, 20, [*range(1, 20), 0], id="reaches-limit"),
        pytest.param(25, 20, [*range(7, 26), 0], id="over-limit-drops-oldest"),
        pytest.param(3, 1, [0], id="limit-one"),
    ],
)
def test_history_is_bounded_and_keeps_the_newest(before, limit, kept):
    history = [entry(i) for i in range(1, before + 1)]
    result = append_history(history, entry(0), limit=limit)
    assert [e.at for e in result] == [f"t{i}" for i in kept]
    assert len(history) == before  # the input is not mutated
