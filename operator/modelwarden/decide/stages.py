"""The ModelVersion lifecycle: which stage changes are legal, and which gates guard each.

::

    Registered → Validated → Staging → Production ⇄ Degraded
        │            │          │          │            │
        └────────────┴──────────┴──→ Archived ←─────────┘
                                     │    │
              Staging ←──(re-stage)──┘    └──→ Retired (terminal)

* Moving *up* is guarded by gate families (see :mod:`modelwarden.decide.gates`); every gate of
  a required family must pass, and a required family that was not evaluated at all refuses
  the move, so a caller cannot skip a gate by forgetting it.
* Production ⇄ Degraded and every move to Archived are unguarded: they are monitoring and
  housekeeping decisions, and safety must never wait for paperwork.
* Archived can be re-staged (Archived → Staging, guarded like Validated → Staging), so that a
  previous version can come back through the usual Staging → Production gates; Retired is
  terminal. A serving version (Production, Degraded) is archived, never retired directly.
* Incomplete lineage blocks only the tiers in ``GovernanceConfig.lineage_required_tiers``;
  for the others it is reported as a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from modelwarden.api.modelversion import GateResult, HistoryEntry, Stage
from modelwarden.decide.gates import (
    APPROVALS,
    CHAMPION_CHALLENGER,
    GUARDRAIL,
    LINEAGE,
    OFFLINE_METRIC,
    GovernanceConfig,
    family,
)
from modelwarden.decide.stamps import iso

_TO_STAGING = (OFFLINE_METRIC, LINEAGE)
EDGES: dict[tuple[Stage, Stage], tuple[str, ...]] = {
    ("Registered", "Validated"): (OFFLINE_METRIC,),
    ("Validated", "Staging"): _TO_STAGING,
    ("Staging", "Production"): (*_TO_STAGING, CHAMPION_CHALLENGER, GUARDRAIL, APPROVALS),
    ("Production", "Degraded"): (),
    ("Degraded", "Production"): (),
    ("Archived", "Staging"): _TO_STAGING,
    **{
        (s, "Archived"): ()
        for s in ("Registered", "Validated", "Staging", "Production", "Degraded")
    },
    **{(s, "Retired"): () for s in ("Registered", "Validated", "Staging", "Archived")},
}
"""(from, to) → gate families that must pass; an edge not listed is illegal."""

HISTORY_LIMIT = 20


@dataclass(frozen=True)
class TransitionResult:
    """The verdict on a requested stage change; ``to`` is where the version ends up."""

    allowed: bool
    to: Stage
    entry: HistoryEntry | None = None
    """The history entry to append; None when refused or when nothing changes."""
    message: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _legal_from(current: Stage) -> str:
    targets = [to for (frm, to) in EDGES if frm == current]
    return ", ".join(targets) if targets else "nowhere (terminal)"


def transition(
    current: Stage,
    requested: Stage,
    gates: Sequence[GateResult],
    *,
    risk_tier: int,
    now: datetime,
    actor: str,
    reason: str,
    config: GovernanceConfig | None = None,
) -> TransitionResult:
    """Whether ``current → requested`` may happen now, with the history entry if it may.

    >>> from datetime import UTC, datetime
    >>> now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    >>> kw = {"risk_tier": 3, "now": now, "actor": "alice", "reason": ""}
    >>> transition("Registered", "Production", [], **kw).message
    'illegal transition Registered → Production (legal: Validated, Archived, Retired)'
    >>> result = transition(
    ...     "Production", "Degraded", [], risk_tier=1, now=now, actor="operator", reason="drift"
    ... )
    >>> result.allowed, result.entry.at
    (True, '2026-11-23T12:00:00Z')
    """
    config = config or GovernanceConfig()
    if requested == current:
        return TransitionResult(allowed=True, to=current, message=f"already {current}")
    required = EDGES.get((current, requested))
    if required is None:
        message = f"illegal transition {current} → {requested} (legal: {_legal_from(current)})"
        return TransitionResult(allowed=False, to=current, message=message)
    advisory = risk_tier not in config.lineage_required_tiers
    evaluated = {family(g) for g in gates}
    missing = [f for f in required if f not in evaluated]
    relevant = [g for g in gates if family(g) in required and not g.passed]
    failing = [g for g in relevant if not (advisory and g.name == LINEAGE)]
    warnings = tuple(f"{g.name}: {g.message}" for g in relevant if g not in failing)
    if missing or failing:
        problems = [f"{g.name} ({g.message})" for g in failing]
        problems += [f"{f} (not evaluated)" for f in missing]
        message = f"{current} → {requested} refused; failing gates: {', '.join(problems)}"
        return TransitionResult(allowed=False, to=current, message=message, warnings=warnings)
    entry = HistoryEntry.model_validate(
        {"at": iso(now), "from": current, "to": requested, "reason": reason, "actor": actor}
    )
    return TransitionResult(
        allowed=True,
        to=requested,
        entry=entry,
        message=f"{current} → {requested}",
        warnings=warnings,
    )


def append_history(
    history: Sequence[HistoryEntry], entry: HistoryEntry, limit: int = HISTORY_LIMIT
) -> list[HistoryEntry]:
    """A new list with ``entry`` last and at most ``limit`` entries, the newest kept.

    Status is bounded so the object stays small; Events and the audit log keep the rest.
    """
    return [*history, entry][-limit:]
