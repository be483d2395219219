"""Table tests of which stage move a ModelVersion attempts, from its status alone."""

from __future__ import annotations

import pytest

from modelwarden.api.modeldeployment import ModelDeploymentStatus
from modelwarden.api.modelversion import GateResult, ServedBy, StageRequest
from modelwarden.decide.governance import Move, next_move, request_key, served_by

REQUEST = StageRequest(stage="Production", reason="ship", by="alice", at="t1")
OK = [GateResult(name="OfflineMetric/auc", passed=True)]
BAD = [GateResult(name="OfflineMetric/auc", passed=False)]
STABLE = [ServedBy(deployment="fraud", role="stable")]
STANDBY = [ServedBy(deployment="fraud", role="standby")]

CASES = [
    # id, stage, request, handled, was, now, replaced_by, gates, expected
    ("new request wins", "Staging", REQUEST, "", [], STABLE, [], OK,
     Move("Production", "alice", "ship", "Production@t1@alice")),
    ("handled request is not replayed", "Staging", REQUEST, "Production@t1@alice", [], [], [],
     OK, None),
    ("unstamped request names nobody", "Validated", StageRequest(stage="Staging"), "", [], [],
     [], OK, Move("Staging", "unknown", "requested Staging", "Staging@@")),
    ("production that lost its slot is archived", "Production", None, "", STABLE, STANDBY,
     ["fraud-v2"], OK,
     Move("Archived", "modelwarden", "replaced by fraud-v2 in deployment fraud")),
    ("production never served stays", "Production", None, "", [], [], ["fraud-v2"], OK, None),
    ("production still stable stays", "Production", None, "", STABLE, STABLE, ["x"], OK, None),
    ("lost slot with no replacement stays", "Production", None, "", STABLE, [], [], OK, None),
    ("staging served as stable is promoted", "Staging", None, "", [], STABLE, [], OK,
     Move("Production", "modelwarden", "promoted to stable by deployment fraud")),
    ("validated served as stable waits for staging", "Validated", None, "", [], STABLE, [], OK,
     None),
    ("staging as standby stays", "Staging", None, "", [], STANDBY, [], OK, None),
    ("registered with passing offline gates", "Registered", None, "", [], [], [], OK,
     Move("Validated", "modelwarden", "offline gates passed")),
    ("registered with a failing offline gate", "Registered", None, "", [], [], [], BAD, None),
    ("approvals do not hold back validation", "Registered", None, "", [], [], [],
     [*OK, GateResult(name="Approvals", passed=False)],
     Move("Validated", "modelwarden", "offline gates passed")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("stage", "request_", "handled", "was", "now", "replaced", "gates", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_next_move(stage, request_, handled, was, now, replaced, gates, expected):
    move = next_move(
        stage,
        request_,
        handled,
        was_served=was,
        now_served=now,
        replaced_by=replaced,
        gates=gates,
    )
    assert move == expected


def test_a_new_time_or_requester_is_a_new_request():
    again = REQUEST.model_copy(update={"at": "t2"})
    other = REQUEST.model_copy(update={"by": "bob"})
    assert len({request_key(REQUEST), request_key(again), request_key(other)}) == 3


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (ModelDeploymentStatus(), []),
        (ModelDeploymentStatus(stable_version="v"), [("stable", "a")]),
        (
            ModelDeploymentStatus(stable_version="x", canary_version="v", standby_versions=["v"]),
            [("canary", "a"), ("standby", "a")],
        ),
    ],
    ids=["not served", "stable", "canary and standby"],
)
def test_served_by_reads_every_slot_role(status, expected):
    found = served_by("v", [("a", status)])
    assert [(s.role, s.deployment) for s in found] == expected
