"""What a DriftPolicy evaluation reads from the cluster: the reference profile, the target
slot and its versions, and the sidecars' merged reports per version."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from modelwarden.api.driftpolicy import ConfigMapKeyRef
from modelwarden.decide.children import LABEL_SLOT, LABEL_VERSION, token_secret_name, version_label
from modelwarden.decide.stamps import parse_time
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.evaluator.report import MergedReport
from modelwarden.k8s.evaluators import merged_report
from modelwarden.k8s.kube import Kube

Obj = dict[str, Any]


class ProfileError(LookupError):
    """The reference profile is missing or unreadable; the message says which and why."""


async def load_profile(kube: Kube, namespace: str, ref: ConfigMapKeyRef) -> ReferenceProfile:
    config_map = await kube.get("ConfigMap", namespace, ref.name)
    if config_map is None:
        raise ProfileError(f"reference ConfigMap {namespace}/{ref.name} not found")
    text = (config_map.get("data") or {}).get(ref.key)
    if text is None:
        raise ProfileError(f"reference ConfigMap {ref.name} has no key {ref.key!r}")
    try:
        return ReferenceProfile.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise ProfileError(f"reference profile {ref.name}/{ref.key} is invalid: {exc}") from exc


@dataclass(frozen=True)
class Target:
    """The ModelDeployment a policy watches, as far as the policy cares."""

    body: Obj
    stable: str
    canary: str
    risk_tier: int
    created: datetime | None


async def target(kube: Kube, namespace: str, deployment: str) -> Target | None:
    body = await kube.get("ModelDeployment", namespace, deployment)
    if body is None:
        return None
    status = body.get("status") or {}
    stable = status.get("stableVersion") or body["spec"]["version"]
    version = await kube.get("ModelVersion", namespace, stable)
    spec = (version or {}).get("spec") or {}
    created = parse_time(((version or {}).get("metadata") or {}).get("creationTimestamp", ""))
    return Target(body, stable, status.get("canaryVersion") or "", spec.get("riskTier", 3), created)


async def reports(
    kube: Kube, http: aiohttp.ClientSession, namespace: str, slot: str, versions: list[str]
) -> list[MergedReport | None]:
    """Each version's ready pods' reports, merged (None when no pod answered)."""
    secret = await kube.get("Secret", namespace, token_secret_name(slot))
    token = base64.b64decode(((secret or {}).get("data") or {}).get("token", "")).decode()

    async def one(version: str) -> MergedReport | None:
        selector = f"{LABEL_SLOT}={slot},{LABEL_VERSION}={version_label(version)}"
        pods = await kube.list("Pod", namespace, selector)
        return await merged_report(http, pods, token)

    return list(await asyncio.gather(*(one(v) for v in versions)))
