"""Gather what a ModelDeployment's rollout decision needs, from the API and the sidecars."""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import aiohttp

from modelwarden.api.driftpolicy import DriftPolicyStatus
from modelwarden.api.modeldeployment import ModelDeploymentSpec, ModelDeploymentStatus
from modelwarden.api.modelversion import ModelVersionSpec
from modelwarden.decide.analysis import judged_verdict
from modelwarden.decide.children import (
    LABEL_VERSION,
    slot_selector,
    token_secret_name,
    version_label,
)
from modelwarden.decide.plan import AutoscalerState, Observation, Signals
from modelwarden.decide.promql import render
from modelwarden.evaluator.report import MergedReport
from modelwarden.k8s.evaluators import merged_report, ready_pods
from modelwarden.k8s.kube import Kube
from modelwarden.providers.base import MetricProvider
from modelwarden.providers.prometheus import PrometheusProvider

log = logging.getLogger(__name__)
Obj = dict[str, Any]
COMMAND_ANNOTATION = "modelwarden.io/command"
ACTOR_ANNOTATION = "modelwarden.io/actor"


def autoscaler_state(hpa: Obj) -> AutoscalerState | None:
    """The HPA's verdict on itself: active when it can read its scale and its metrics; else
    the first failing condition's reason and message. None until the controller has looked.

    >>> autoscaler_state({"status": {"conditions": [
    ...     {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale"},
    ...     {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
    ...      "message": "missing request for cpu in container model"}]}}).reason
    'FailedGetResourceMetric'
    >>> autoscaler_state({"status": {}}) is None
    True
    """
    conditions = {
        c["type"]: c for c in (hpa.get("status") or {}).get("conditions") or [] if "type" in c
    }
    relevant = [conditions[t] for t in ("AbleToScale", "ScalingActive") if t in conditions]
    if not relevant:
        return None
    failing = next((c for c in relevant if c.get("status") != "True"), None)
    shown = failing or relevant[-1]
    return AutoscalerState(
        active=failing is None,
        reason=str(shown.get("reason", "")),
        message=str(shown.get("message", "")),
    )


@dataclass(frozen=True)
class Slot:
    """One ModelDeployment as read at the start of a reconcile."""

    name: str
    namespace: str
    uid: str
    generation: int
    resource_version: str
    spec: ModelDeploymentSpec
    status: ModelDeploymentStatus
    annotations: dict[str, str]

    @classmethod
    def from_body(cls, body: Obj) -> Slot:
        meta = body["metadata"]
        return cls(
            name=meta["name"],
            namespace=meta["namespace"],
            uid=meta["uid"],
            generation=meta.get("generation", 0),
            resource_version=meta.get("resourceVersion", ""),
            spec=ModelDeploymentSpec.model_validate(body["spec"]),
            status=ModelDeploymentStatus.model_validate(body.get("status") or {}),
            annotations=dict(meta.get("annotations") or {}),
        )

    def version_names(self) -> set[str]:
        s = self.status
        names = {self.spec.version, s.stable_version, s.canary_version, *s.standby_versions}
        return {n for n in names if n}


def signals_of(report: MergedReport | None) -> Signals | None:
    """The decisive window (last closed, else current) as the decision's Signals."""
    window = report.decisive() if report else None
    if window is None:
        return None
    return Signals(
        samples=window.signals.requests,
        errors=window.signals.errors,
        latency_p99_ms=window.latency_p99_ms,
        agreement=window.agreement_rate,
    )


@dataclass
class Observer:
    kube: Kube
    http: aiohttp.ClientSession
    prometheus_url: str = ""
    """The operator's default Prometheus (``--prometheus-url``) for checks without an
    ``address`` of their own."""

    def metric_provider(self, address: str | None) -> MetricProvider | None:
        """The provider a check's query goes to; None when neither it nor the operator names
        a Prometheus (the check then never passes: no answer is not a pass)."""
        url = address or self.prometheus_url
        return PrometheusProvider(url, self.http) if url else None

    async def versions(self, slot: Slot) -> tuple[dict[str, ModelVersionSpec], frozenset[str]]:
        """The referenced ModelVersions' specs, and which of them carry their approvals."""
        found: dict[str, ModelVersionSpec] = {}
        approved: set[str] = set()
        for name in sorted(slot.version_names()):
            body = await self.kube.get("ModelVersion", slot.namespace, name)
            if body is None:
                continue
            found[name] = ModelVersionSpec.model_validate(body["spec"])
            conditions = (body.get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Approved" and c.get("status") == "True" for c in conditions):
                approved.add(name)
        return found, frozenset(approved)

    async def token(self, slot: Slot) -> str:
        secret = await self.kube.get("Secret", slot.namespace, token_secret_name(slot.name))
        if secret is None:
            return ""
        return base64.b64decode(secret.get("data", {}).get("token", "")).decode()

    async def drift_verdicts(self, slot: Slot) -> dict[str, str]:
        verdicts = {}
        for check in slot.spec.analysis.checks:
            if check.drift_policy is not None:
                body = await self.kube.get("DriftPolicy", slot.namespace, check.drift_policy.name)
                status = DriftPolicyStatus.model_validate((body or {}).get("status") or {})
                verdict = judged_verdict(status, slot.status.canary_version)
                if verdict:
                    verdicts[check.drift_policy.name] = verdict
        return verdicts

    async def prometheus_values(self, slot: Slot) -> dict[str, float | None]:
        """Each prometheus check's value, keyed by its query as written; placeholders are
        filled in for the version under analysis (the canary during a rollout)."""
        values: dict[str, float | None] = {}
        status = slot.status
        for check in slot.spec.analysis.checks:
            if check.prometheus is None:
                continue
            query = render(
                check.prometheus.query,
                namespace=slot.namespace,
                slot=slot.name,
                stable=status.stable_version,
                version=status.canary_version or status.stable_version,
            )
            provider = self.metric_provider(check.prometheus.address)
            values[check.prometheus.query] = None
            if provider is None:
                continue
            try:
                values[check.prometheus.query] = await provider.query(query)
            except Exception as exc:  # an offline or failing provider is "no answer"
                log.warning("prometheus query %r failed: %s", query, exc)
        return values

    async def observe(self, slot: Slot, now: datetime) -> tuple[Observation, list[Obj], str]:
        """The observation, plus the slot's pods (the handler pushes halts to them) and its
        evaluator token (empty before the first reconcile creates it)."""
        selector = slot_selector(slot.name)
        (versions, approved), deployments, pods, token = await asyncio.gather(
            self.versions(slot),
            self.kube.list("Deployment", slot.namespace, selector),
            self.kube.list("Pod", slot.namespace, selector),
            self.token(slot),
        )
        # Label values are bounded (long names are hashed), so map them back to names.
        names = {version_label(v): v for v in slot.version_names()}

        def version_of(obj: Obj) -> str:
            return names.get(obj["metadata"].get("labels", {}).get(LABEL_VERSION, ""), "")

        ready = {version_of(d): d.get("status", {}).get("readyReplicas", 0) for d in deployments}
        by_version: dict[str, list[Obj]] = {}
        for pod in ready_pods(pods):
            by_version.setdefault(version_of(pod), []).append(pod)
        live = [v for v in (slot.status.stable_version, slot.status.canary_version) if v]
        reports = await asyncio.gather(
            *(merged_report(self.http, by_version.get(v, []), token) for v in live)
        )
        merged = dict(zip(live, reports, strict=True))
        signals = {v: s for v, r in merged.items() if (s := signals_of(r))}
        canary = slot.status.canary_version
        if slot.spec.strategy.type == "Shadow" and canary in signals:
            # Agreement is measured by the stable pods' sidecars, which do the mirroring.
            window = merged[slot.status.stable_version]
            decisive = window.decisive() if window else None
            agreement = decisive.agreement_rate if decisive else None
            signals[canary] = replace(signals[canary], agreement=agreement)
        obs = Observation(
            now=now,
            versions=versions,
            approved=approved,
            ready=ready,
            signals=signals,
            drift_verdicts=await self.drift_verdicts(slot),
            prometheus=await self.prometheus_values(slot),
            alerts=tuple(slot.status.alerts),
            actor=slot.annotations.get(ACTOR_ANNOTATION, ""),
            command=slot.annotations.get(COMMAND_ANNOTATION, ""),
            selector=slot_selector(slot.name),
            autoscaler=await self.autoscaler(slot),
        )
        return obs, pods, token

    async def autoscaler(self, slot: Slot) -> AutoscalerState | None:
        if slot.spec.autoscaling is None:
            return None
        hpa = await self.kube.get("HorizontalPodAutoscaler", slot.namespace, slot.name)
        return None if hpa is None else autoscaler_state(hpa)
