"""ModelDeployment handlers: read, observe, decide (pure), realise, patch status once.

Reconciles run on every spec/annotation change (so a halt takes effect at once) and on a short
timer (so pauses end and analysis runs with no change to wait for). A per-slot lock keeps the
two from interleaving.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import kopf

from modelwarden.api.base import GROUP, VERSION
from modelwarden.decide.audit import audit_record, format_audit_line
from modelwarden.decide.plan import Role
from modelwarden.decide.rollout import decide
from modelwarden.handlers.context import OperatorContext
from modelwarden.k8s.events import post_event
from modelwarden.k8s.kube import Conflict
from modelwarden.k8s.observe import Slot

log = logging.getLogger(__name__)
audit = logging.getLogger("modelwarden.audit")
PLURAL = "modeldeployments"
RECONCILE_SECONDS = 2.0
"""How often every slot is re-decided with no change to react to (pauses end, analysis runs)."""


async def reconcile(ctx: OperatorContext, namespace: str, name: str) -> None:
    async with ctx.lock(namespace, name):
        started = time.monotonic()
        body = await ctx.kube.get("ModelDeployment", namespace, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return
        slot = Slot.from_body(body)
        now = datetime.now(UTC)
        obs, pods, token = await ctx.observer.observe(slot, now)
        plan = decide(slot.spec, slot.status, obs, slot.generation)
        await ctx.realiser.realise(slot, plan, obs.versions, pods=pods, token=token, now=now)
        new_status = plan.status.model_dump(by_alias=True, exclude_none=True, mode="json")
        old_status = slot.status.model_dump(by_alias=True, exclude_none=True, mode="json")
        if new_status != old_status:
            if slot.status.halted is not None and plan.status.halted is None:
                new_status["halted"] = None  # merge patch: null deletes the key
            try:
                await ctx.kube.patch_status(
                    "ModelDeployment", namespace, name, new_status, slot.resource_version
                )
            except Conflict:
                log.info("%s/%s changed while deciding; deciding again next tick", namespace, name)
                return
        for event in plan.events:
            await post_event(
                ctx.kube,
                body,
                type_=event.type,
                reason=event.reason,
                message=event.message,
                now=now,
            )
            audit.info(
                format_audit_line(
                    audit_record(
                        action=event.reason,
                        actor=obs.actor or "modelwarden",
                        obj_kind="ModelDeployment",
                        obj_name=name,
                        namespace=namespace,
                        uid=slot.uid,
                        resource_version=slot.resource_version,
                        from_=slot.status.phase,
                        to=plan.status.phase,
                        reason=event.message,
                        now=now,
                    )
                )
            )
            if event.reason in ("RolledBack", "RolloutAborted"):
                ctx.recorder.record_rollback(namespace, name)
        _record(ctx, namespace, name, plan.status.model_dump())
        ctx.recorder.observe_reconcile("ModelDeployment", time.monotonic() - started)


def _record(ctx: OperatorContext, namespace: str, name: str, status: dict[str, Any]) -> None:
    rec = ctx.recorder
    rec.set_phase(namespace, name, status["phase"])
    rec.set_canary_weight(namespace, name, status["canary_weight"])
    halted = status.get("halted")
    rec.set_halted(namespace, name, halted is not None, (halted or {}).get("reason", ""))
    analysis = status["analysis"]
    role: Role = "canary" if status["canary_version"] else "stable"
    rec.set_analysis(
        namespace,
        name,
        role,
        samples=analysis["samples"],
        error_rate=analysis["error_rate"],
        latency_p99_ms=analysis["latency_p99_ms"],
    )


@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
async def on_change(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    await reconcile(memo.ctx, namespace or "", name)


@kopf.timer(GROUP, VERSION, PLURAL, interval=RECONCILE_SECONDS, sharp=True)
async def on_tick(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    await reconcile(memo.ctx, namespace or "", name)


@kopf.on.delete(GROUP, VERSION, PLURAL, optional=True)
async def on_delete(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    """Children go with their owner (ownerReferences); only our metric series need forgetting."""
    memo.ctx.recorder.forget_slot(namespace or "", name)
