"""Carry out a DriftPolicy's actions; every one leaves an Event, an audit line and a metric.

* ``alert``: a Warning Event on the policy (the verdict gauge lets PrometheusRules fire);
* ``retrain``: a Job from ``retraining.jobTemplate`` plus the trigger ConfigMap it mounts;
* ``rollback``: a critical AlertRecord (source ``driftpolicy/<name>``) on the ModelDeployment,
  whose own ``rollback.onCriticalAlerts`` policy then decides — the policy never swaps
  versions itself;
* ``halt``: ``spec.halt: true`` with the reason on the ModelDeployment.

The ModelDeployment is reconciled at once after a rollback or halt, as the alert webhook does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelwarden.api.driftpolicy import DriftPolicySpec
from modelwarden.api.modeldeployment import AlertRecord, ModelDeploymentStatus
from modelwarden.decide.alerts import record_alerts
from modelwarden.decide.audit import audit_record, format_audit_line
from modelwarden.decide.drift_policy import Action, PolicyPlan
from modelwarden.decide.retrain_job import (
    PolicyRef,
    retrain_job,
    trigger_configmap,
    trigger_document,
)
from modelwarden.decide.stamps import iso
from modelwarden.handlers.context import OperatorContext
from modelwarden.handlers.modeldeployment import reconcile
from modelwarden.k8s.events import post_event
from modelwarden.k8s.kube import ApiError, Conflict

log = logging.getLogger(__name__)
audit = logging.getLogger("modelwarden.audit")
Obj = dict[str, Any]
MAX_HALT_REASON = 256


async def _append_alert(
    ctx: OperatorContext, policy: PolicyRef, action: Action, now: datetime
) -> None:
    record = AlertRecord(
        at=iso(now),
        source=f"driftpolicy/{policy.name}",
        severity="Critical",
        name=f"Drift{action.verdict}",
    )
    async with ctx.lock(policy.namespace, policy.deployment):
        body = await ctx.kube.get("ModelDeployment", policy.namespace, policy.deployment)
        if body is None:
            raise ApiError(f"ModelDeployment {policy.deployment} is gone")
        status = ModelDeploymentStatus.model_validate(body.get("status") or {})
        kept = record_alerts(tuple(status.alerts), [record], now)
        await ctx.kube.patch_status(
            "ModelDeployment",
            policy.namespace,
            policy.deployment,
            {"alerts": [a.model_dump(by_alias=True) for a in kept]},
            body["metadata"]["resourceVersion"],
        )
    ctx.recorder.record_alert(policy.namespace, policy.deployment, "Critical")


@dataclass
class Actor:
    """One evaluation's context for its actions."""

    ctx: OperatorContext
    body: Obj
    policy: PolicyRef
    plan: PolicyPlan
    spec: DriftPolicySpec
    deployment: Obj
    now: datetime

    async def retrain(self, action: Action) -> str:
        training, record = self.spec.retraining, self.plan.status.last_retrain
        if training is None or record is None:
            raise ApiError("retrain planned without retraining settings")
        policy, name = self.policy, record.job
        document = trigger_document(policy, self.plan.status, action.reason, self.now)
        await self.ctx.kube.create(trigger_configmap(name, policy, document))
        await self.ctx.kube.create(retrain_job(name, policy, training.job_template, document))
        self.ctx.recorder.record_retrain_job(policy.namespace, policy.name)
        return f"retraining Job {name} created: {action.reason}"

    async def run(self, action: Action) -> str:
        """Do one action; the returned sentence goes into the Event and the audit line."""
        ctx, policy = self.ctx, self.policy
        if action.kind == "alert":
            return f"{action.verdict} drift on {policy.deployment}: {action.reason}"
        if action.kind == "retrain":
            return await self.retrain(action)
        if action.kind == "rollback":
            await _append_alert(ctx, policy, action, self.now)
            await reconcile(ctx, policy.namespace, policy.deployment)
            return (
                f"critical alert handed to {policy.deployment}'s rollback policy: {action.reason}"
            )
        reason = f"DriftPolicy {policy.name}: {action.reason}"[:MAX_HALT_REASON]
        patch = {"spec": {"halt": True, "haltReason": reason}}
        await ctx.kube.patch("ModelDeployment", policy.namespace, policy.deployment, patch)
        await reconcile(ctx, policy.namespace, policy.deployment)
        return f"{policy.deployment} halted: {action.reason}"

    async def execute(self) -> None:
        """Run the plan's actions in order; a failed one is reported and the others still run."""
        policy, meta = self.policy, self.deployment["metadata"]
        for action in self.plan.actions:
            reason = _REASONS[action.kind]
            try:
                message = await self.run(action)
            except (ApiError, Conflict) as exc:
                reason, message = "ActionFailed", f"{action.kind} failed: {exc}"
                log.warning("%s/%s: %s", policy.namespace, policy.name, message)
            await post_event(
                self.ctx.kube, self.body, type_="Warning", reason=reason, message=message,
                now=self.now,
            )  # fmt: skip
            audit.info(
                format_audit_line(
                    audit_record(
                        action=f"drift-{action.kind}",
                        actor="modelwarden",
                        obj_kind="ModelDeployment",
                        obj_name=policy.deployment,
                        namespace=policy.namespace,
                        uid=meta["uid"],
                        resource_version=meta.get("resourceVersion", ""),
                        from_=action.verdict,
                        to=action.kind,
                        reason=message,
                        now=self.now,
                    )
                )
            )
            self.ctx.recorder.record_drift_action(policy.namespace, policy.name, action.kind)


_REASONS = {
    "alert": "DriftAlert",
    "retrain": "RetrainTriggered",
    "rollback": "RollbackRequested",
    "halt": "HaltRequested",
}
