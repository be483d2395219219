"""Make a rollout plan real: children applied, routes weighted, halt pushed, status patched.

Every write is idempotent (server-side apply), so a reconcile interrupted half-way is simply
finished by the next one. Status is written last, in one patch guarded by resourceVersion:
if the object changed meanwhile the patch is refused and the next reconcile decides afresh.
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from modelwarden.api.modelversion import ModelVersionSpec
from modelwarden.decide import children
from modelwarden.decide.children import (
    LABEL_VERSION,
    ProfileRef,
    ServiceRole,
    SidecarSettings,
    SlotRef,
)
from modelwarden.decide.plan import Plan
from modelwarden.decide.stamps import parse_time
from modelwarden.k8s.evaluators import push_halt, ready_pods
from modelwarden.k8s.kube import Conflict, Kube
from modelwarden.k8s.observe import Slot
from modelwarden.k8s.routing.factory import router_for

log = logging.getLogger(__name__)
Obj = dict[str, Any]


@dataclass
class Realiser:
    kube: Kube
    http: aiohttp.ClientSession
    sidecar: SidecarSettings

    async def create_token(self, ref: SlotRef) -> str:
        """Create the slot's evaluator token (once: it is never rotated by a reconcile); if
        another reconcile created it first, use that one."""
        token = secrets.token_urlsafe(32)
        try:
            await self.kube.create(children.token_secret(ref, token))
        except Conflict:
            name = children.token_secret_name(ref.name)
            existing = await self.kube.get("Secret", ref.namespace, name) or {}
            return base64.b64decode(existing.get("data", {}).get("token", "")).decode()
        return token

    async def realise(
        self,
        slot: Slot,
        plan: Plan,
        versions: dict[str, ModelVersionSpec],
        *,
        pods: list[Obj],
        token: str,
        now: datetime,
    ) -> None:
        """``token`` is the one the observation read; empty when the slot has none yet."""
        ref = SlotRef(slot.name, slot.namespace, slot.uid)
        token = token or await self.create_token(ref)
        halt = plan.status.halted
        await self.kube.apply(
            children.control_configmap(
                ref,
                children.halt_document(
                    halted=plan.halted,
                    reason=halt.reason if halt else "",
                    by=halt.by if halt else "",
                    at=(parse_time(halt.at) or now) if halt else None,
                ),
                self.shadow(slot, plan, pods),
            )
        )
        if plan.halted != (slot.status.halted is not None):
            acked = await push_halt(
                self.http,
                pods,
                token,
                halted=plan.halted,
                reason=halt.reason if halt else "",
                by=halt.by if halt else "",
            )
            log.info(
                "%s/%s: halt=%s pushed to %d pods", ref.namespace, ref.name, plan.halted, acked
            )
        wanted = set()
        profile = await self.profile(ref)
        for workload in plan.workloads:
            version = versions.get(workload.version)
            if version is None:
                continue
            body = children.deployment(
                ref, workload, version.runtime, sidecar=self.sidecar, profile=profile
            )
            wanted.add(body["metadata"]["name"])
            await self.kube.apply(body)
        await self.prune(ref, wanted)
        await self.services(slot, ref, plan)
        await self.autoscaler(slot, ref)
        router = router_for(self.kube, slot.spec)
        await router.apply(ref, plan.weights)

    def shadow(self, slot: Slot, plan: Plan, pods: list[Obj]) -> str:
        """The shadow file: the ready pods of a version being shadowed (their sidecars, so the
        shadow's own signals are measured too); empty when nothing is shadowed or halted."""
        shadowed = {
            children.version_label(w.version)
            for w in plan.workloads
            if w.role == "shadow" and w.replicas > 0
        }
        if plan.halted or not shadowed:
            return ""
        targets = [
            f"http://{pod['status']['podIP']}:{children.EVALUATOR_PORT}"
            for pod in ready_pods(pods)
            if pod["metadata"].get("labels", {}).get(LABEL_VERSION) in shadowed
        ]
        settings = slot.spec.strategy.shadow
        return children.shadow_document(targets, settings.mirror_percent if settings else 100)

    async def profile(self, ref: SlotRef) -> ProfileRef | None:
        """The reference profile of the DriftPolicy that targets the slot (first by name), so
        the sidecars summarise traffic in its bins; None without a policy."""
        policies = await self.kube.list("DriftPolicy", ref.namespace)
        for body in sorted(policies, key=lambda b: b["metadata"]["name"]):
            if body.get("spec", {}).get("deployment") == ref.name:
                source = body["spec"]["reference"]["configMapRef"]
                return ProfileRef(source["name"], source.get("key", children.PROFILE_FILE))
        return None

    async def services(self, slot: Slot, ref: SlotRef, plan: Plan) -> None:
        """The per-role Services are applied; the main one is only created, since its
        selector belongs to the traffic router from then on."""
        s = plan.status
        if await self.kube.get("Service", ref.namespace, children.service_name(ref.name)) is None:
            await self.kube.apply(children.main_service(ref, pinned_version=s.stable_version))
        await self.kube.apply(children.role_service(ref, "stable", s.stable_version))
        if s.canary_version:
            preview = slot.spec.strategy.type == "BlueGreen"
            role: ServiceRole = "preview" if preview else "canary"
            await self.kube.apply(children.role_service(ref, role, s.canary_version))

    async def autoscaler(self, slot: Slot, ref: SlotRef) -> None:
        """Apply the slot's HPA, or delete ours once ``autoscaling`` is removed from the spec
        (an HPA left behind would go on resizing a slot whose owner now sets replicas). The
        status still carrying the ``Autoscaling`` condition says there is one to delete, so
        slots that never autoscaled cost no API call."""
        if slot.spec.autoscaling is not None:
            await self.kube.apply(children.autoscaler(ref, slot.spec.autoscaling))
        elif any(c.type == "Autoscaling" for c in slot.status.conditions):
            log.info("%s/%s: autoscaling removed, deleting its HPA", ref.namespace, ref.name)
            await self.kube.delete("HorizontalPodAutoscaler", ref.namespace, ref.name)

    async def prune(self, ref: SlotRef, wanted: set[str]) -> None:
        """Delete the slot's Deployments no plan wants any more (standbys past the limit)."""
        existing = await self.kube.list(
            "Deployment", ref.namespace, children.slot_selector(ref.name)
        )
        for body in existing:
            name = body["metadata"]["name"]
            if name not in wanted and body["metadata"].get("labels", {}).get(LABEL_VERSION):
                log.info("%s/%s: deleting unused Deployment %s", ref.namespace, ref.name, name)
                await self.kube.delete("Deployment", ref.namespace, name)
