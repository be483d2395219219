"""Which stage move a ModelVersion should attempt now, decided from status alone.

The ModelVersion handler calls :func:`next_move` on every reconcile. Everything it needs is
in the object and in what the ModelDeployments report, and every move it returns is recorded
in the same status write that makes it (``handledStageRequest``, ``servedBy``, ``stage``), so
an operator restart replays nothing twice and skips nothing. In order of precedence:

1. a new ``spec.stageRequest`` (one whose key differs from ``status.handledStageRequest``)
   is attempted once, whatever its verdict;
2. a Production version that a deployment served as stable, and that another version of the
   model has replaced there, is archived (the replacement can then enter Production: one
   Production version per model);
3. a Staging version that a deployment now serves as stable is moved to Production, through
   the usual Staging → Production gates (approvals included);
4. a Registered version whose offline gates pass is Validated.

The gates themselves and the legality of each move stay in :mod:`modelwarden.decide.stages`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modelwarden.api.modeldeployment import ModelDeploymentStatus
from modelwarden.api.modelversion import (
    GateResult,
    ServedBy,
    Stage,
    StageRequest,
)
from modelwarden.decide.gates import OFFLINE_METRIC, family

OPERATOR = "modelwarden"


@dataclass(frozen=True)
class Move:
    """A stage change to attempt; ``request_key`` is set when it answers a stage request."""

    to: Stage
    actor: str
    reason: str
    request_key: str = ""


def request_key(request: StageRequest) -> str:
    """Identity of a request: a new stage, time or requester is a new request.

    >>> request_key(StageRequest(stage="Staging", by="alice", at="2026-11-23T12:00:00Z"))
    'Staging@2026-11-23T12:00:00Z@alice'
    """
    return f"{request.stage}@{request.at or ''}@{request.by or ''}"


def served_by(
    name: str, deployments: Sequence[tuple[str, ModelDeploymentStatus]]
) -> list[ServedBy]:
    """Where ``name`` serves, from the deployments' status (what runs, not what is wanted).

    >>> s = ModelDeploymentStatus(stable_version="a", canary_version="b", standby_versions=["c"])
    >>> [(x.deployment, x.role) for x in served_by("b", [("fraud", s)])]
    [('fraud', 'canary')]
    """
    found = []
    for deployment, status in sorted(deployments, key=lambda d: d[0]):
        if status.stable_version == name:
            found.append(ServedBy(deployment=deployment, role="stable"))
        if status.canary_version == name:
            found.append(ServedBy(deployment=deployment, role="canary"))
        if name in status.standby_versions:
            found.append(ServedBy(deployment=deployment, role="standby"))
    return found


def _stable(entries: Sequence[ServedBy]) -> list[str]:
    return [e.deployment for e in entries if e.role == "stable"]


def offline_gates_pass(gates: Sequence[GateResult]) -> bool:
    return all(g.passed for g in gates if family(g) == OFFLINE_METRIC)


def next_move(
    stage: Stage,
    request: StageRequest | None,
    handled_request: str,
    *,
    was_served: Sequence[ServedBy],
    now_served: Sequence[ServedBy],
    replaced_by: Sequence[str],
    gates: Sequence[GateResult],
) -> Move | None:
    """The move to attempt now, or None; see the module docstring for the precedence.

    ``replaced_by`` names the other versions of the same model that deployments serve as
    stable, so a Production version that lost its slot to one of them is archived.
    """
    if request is not None and request_key(request) != handled_request:
        return Move(
            to=request.stage,
            actor=request.by or "unknown",
            reason=request.reason or f"requested {request.stage}",
            request_key=request_key(request),
        )
    lost = [d for d in _stable(was_served) if d not in _stable(now_served)]
    if stage == "Production" and lost and replaced_by:
        reason = f"replaced by {', '.join(replaced_by)} in deployment {', '.join(lost)}"
        return Move(to="Archived", actor=OPERATOR, reason=reason)
    gained = _stable(now_served)
    if stage == "Staging" and gained:
        reason = f"promoted to stable by deployment {', '.join(gained)}"
        return Move(to="Production", actor=OPERATOR, reason=reason)
    if stage == "Registered" and offline_gates_pass(gates):
        return Move(to="Validated", actor=OPERATOR, reason="offline gates passed")
    return None
