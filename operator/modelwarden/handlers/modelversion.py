"""ModelVersion handlers: evaluate the gates, drive the stage machine from status, record it.

One reconcile reads the version, its siblings (the versions of the same model) and the
namespace's ModelDeployments, decides (pure: gates, next move, transition) and writes status
once, guarded by resourceVersion. Reconciles of one *model* are serialised by a lock, so two
versions racing for Production are decided one after the other against fresh reads: the
second sees the first in Production and is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kopf

from modelwarden.api.base import GROUP, VERSION
from modelwarden.api.modeldeployment import ModelDeploymentStatus, Promotion
from modelwarden.api.modelversion import ModelVersionSpec, ModelVersionStatus
from modelwarden.decide.approvals import check_single_production
from modelwarden.decide.audit import audit_record, format_audit_line
from modelwarden.decide.conditions import set_condition
from modelwarden.decide.gates import APPROVALS, GovernanceConfig, evaluate_gates, lineage_condition
from modelwarden.decide.governance import Move, next_move, offline_gates_pass, served_by
from modelwarden.decide.stages import append_history, transition
from modelwarden.decide.stamps import iso
from modelwarden.handlers.context import OperatorContext
from modelwarden.k8s.events import post_event
from modelwarden.k8s.kube import Conflict

log = logging.getLogger(__name__)
audit = logging.getLogger("modelwarden.audit")
PLURAL = "modelversions"
RECONCILE_SECONDS = 3.0
"""How often versions are re-decided with no change of their own (deployments promote them)."""
Obj = dict[str, Any]
CONDITIONS = ("LineageComplete", "Validated", "Approved", "StageChange")


@dataclass(frozen=True)
class Verdict:
    """What one reconcile concluded: the new status and, if a move was attempted, its result."""

    status: ModelVersionStatus
    move: Move | None
    moved: bool
    refused: bool
    message: str


def _promotion(name: str, deployments: list[Obj]) -> Promotion | None:
    """The promotion policy of the deployment that wants or serves ``name``, if any."""
    for body in deployments:
        status = ModelDeploymentStatus.model_validate(body.get("status") or {})
        if body["spec"].get("version") == name or name in (
            status.stable_version,
            status.canary_version,
        ):
            return Promotion.model_validate(body["spec"].get("promotion") or {})
    return None


def decide(
    body: Obj, siblings: list[Obj], deployments: list[Obj], config: GovernanceConfig, now: datetime
) -> Verdict:
    """The new status of ``body``; pure apart from its arguments."""
    name = body["metadata"]["name"]
    spec = ModelVersionSpec.model_validate(body["spec"])
    old = ModelVersionStatus.model_validate(body.get("status") or {})
    stages = {
        s["metadata"]["name"]: (s.get("status") or {}).get("stage", "Registered") for s in siblings
    }
    champion = next(
        (
            s
            for s in siblings
            if s["metadata"]["name"] != name and stages[s["metadata"]["name"]] == "Production"
        ),
        None,
    )
    champion_spec = ModelVersionSpec.model_validate(champion["spec"]) if champion else None
    gates = evaluate_gates(spec, champion_spec, _promotion(name, deployments), config)
    statuses = [
        (d["metadata"]["name"], ModelDeploymentStatus.model_validate(d.get("status") or {}))
        for d in deployments
    ]
    now_served = served_by(name, statuses)
    replaced_by = sorted({st.stable_version for _, st in statuses} & (set(stages) - {name}))
    move = next_move(
        old.stage,
        spec.stage_request,
        old.handled_stage_request,
        was_served=old.served_by,
        now_served=now_served,
        replaced_by=replaced_by,
        gates=gates,
    )
    stamp = iso(now)
    generation = body["metadata"].get("generation")
    new = old.model_copy(
        update={"gates": gates, "served_by": now_served, "approvals": spec.approvals}
    )
    conditions = lineage_condition(old.conditions, gates, stamp, generation)
    conditions = set_condition(
        conditions,
        "Validated",
        true=offline_gates_pass(gates),
        reason="OfflineGates",
        message="; ".join(g.message for g in gates if not g.passed and "/" in g.name) or "pass",
        now=stamp,
        generation=generation,
    )
    approvals = next(g for g in gates if g.name == APPROVALS)
    conditions = set_condition(
        conditions,
        "Approved",
        true=approvals.passed,
        reason="Approvals",
        message=approvals.message,
        now=stamp,
        generation=generation,
    )
    moved, refused, message = False, False, ""
    if move is not None:
        others = [(n, st) for n, st in stages.items() if n != name]
        refusal = check_single_production(name, spec.model, move.to, others)
        result = transition(
            old.stage, move.to, gates, risk_tier=spec.risk_tier, now=now,
            actor=move.actor, reason=move.reason, config=config,
        )  # fmt: skip
        message = refusal or result.message
        refused = refusal is not None or not result.allowed
        if refusal is None and result.allowed and result.entry is not None:
            moved = True
            new = new.model_copy(
                update={"stage": result.to, "history": append_history(old.history, result.entry)}
            )
        if move.request_key:
            new = new.model_copy(update={"handled_stage_request": move.request_key})
        conditions = set_condition(
            conditions,
            "StageChange",
            true=not refused,
            reason="Moved" if moved else ("Refused" if refused else "NoOp"),
            message=message,
            now=stamp,
            generation=generation,
        )
    # set_condition moves the updated one last; a fixed order keeps a no-op reconcile a no-op.
    conditions = sorted(
        conditions, key=lambda c: CONDITIONS.index(c.type) if c.type in CONDITIONS else 99
    )
    new = new.model_copy(update={"conditions": conditions, "observed_generation": generation})
    return Verdict(status=new, move=move, moved=moved, refused=refused, message=message)


async def reconcile(
    ctx: OperatorContext, namespace: str, name: str, config: GovernanceConfig
) -> None:
    body = await ctx.kube.get("ModelVersion", namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return
    model = body["spec"]["model"]
    async with ctx.lock(namespace, f"model/{model}"):
        # Re-read under the lock: another version of this model may just have moved.
        body = await ctx.kube.get("ModelVersion", namespace, name)
        if body is None:
            return
        everything = await ctx.kube.list("ModelVersion", namespace)
        siblings = [v for v in everything if v["spec"].get("model") == model]
        deployments = await ctx.kube.list("ModelDeployment", namespace)
        now = datetime.now(UTC)
        verdict = decide(body, siblings, deployments, config, now)
        old = ModelVersionStatus.model_validate(body.get("status") or {})
        new_dump = verdict.status.model_dump(by_alias=True, exclude_none=True, mode="json")
        old_dump = old.model_dump(by_alias=True, exclude_none=True, mode="json")
        if new_dump == old_dump:
            return
        try:
            written = await ctx.kube.patch_status(
                "ModelVersion", namespace, name, new_dump, body["metadata"]["resourceVersion"]
            )
        except Conflict:
            log.info("%s/%s changed while deciding; deciding again next tick", namespace, name)
            return
    await _record(ctx, written, old, verdict, now)


async def _record(
    ctx: OperatorContext, written: Obj, old: ModelVersionStatus, verdict: Verdict, now: datetime
) -> None:
    """One Event and one audit line per new approval and per attempted move with a new outcome.

    Both are derived from the status just written (approvals recorded, request handled), so
    a restart never posts them twice.
    """
    meta = written["metadata"]

    async def tell(type_: str, reason: str, message: str, record: dict[str, Any]) -> None:
        await post_event(ctx.kube, written, type_=type_, reason=reason, message=message, now=now)
        audit.info(format_audit_line(record))

    def record(action: str, actor: str, from_: str, to: str, why: str) -> dict[str, Any]:
        return audit_record(
            action=action, actor=actor, obj_kind="ModelVersion", obj_name=meta["name"],
            namespace=meta["namespace"], uid=meta["uid"], resource_version=meta["resourceVersion"],
            from_=from_, to=to, reason=why, now=now,
        )  # fmt: skip

    for approval in verdict.status.approvals[len(old.approvals) :]:
        who = approval.by or "unverified"
        text = f"{who} recorded {approval.decision} as {approval.role}: {approval.comment}"
        await tell(
            "Normal",
            "Approval",
            text,
            record(approval.decision, who, "", approval.role, approval.comment),
        )
    move = verdict.move
    if move is None or not (verdict.moved or verdict.refused):
        return
    previous = next((c for c in old.conditions if c.type == "StageChange"), None)
    repeated = previous is not None and previous.message == verdict.message
    if not verdict.moved and not move.request_key and repeated:
        return  # an automatic move still waiting: said once already
    if verdict.moved:
        text = f"{old.stage} → {verdict.status.stage} by {move.actor}: {move.reason}"
        await tell(
            "Normal",
            "StageChanged",
            text,
            record("transition", move.actor, old.stage, move.to, move.reason),
        )
    else:
        text = f"{verdict.message} (asked by {move.actor})"
        await tell(
            "Warning",
            "StageChangeRefused",
            text,
            record("transition-refused", move.actor, old.stage, move.to, verdict.message),
        )


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
async def on_change(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    await reconcile(memo.ctx, namespace or "", name, memo.governance)


@kopf.timer(GROUP, VERSION, PLURAL, interval=RECONCILE_SECONDS, sharp=True)
async def on_tick(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    await reconcile(memo.ctx, namespace or "", name, memo.governance)
