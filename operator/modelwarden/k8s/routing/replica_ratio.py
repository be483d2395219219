"""No mesh: traffic follows the ratio of ready replicas behind the slot's main Service.

The replica counts themselves come from the plan's workloads (``decide.replicas``); this
router only sets the Service selector, pinning it to a single serving version or opening it
to every pod of the slot (see ``decide.routes.replica_ratio_selector``), and verifies that the
ready replicas realise the weight within one replica's granularity.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelwarden.decide.children import SlotRef, service_name, workload_name
from modelwarden.decide.plan import Weights
from modelwarden.decide.routes import ratio_matches, replica_ratio_selector, role_weights
from modelwarden.k8s.kube import Kube


@dataclass
class ReplicaRatioRouter:
    kube: Kube

    async def apply(self, slot: SlotRef, weights: Weights) -> None:
        if role_weights(weights) is None:
            return
        selector = replica_ratio_selector(slot.name, weights)
        patch = {"spec": {"selector": selector}}
        await self.kube.patch("Service", slot.namespace, service_name(slot.name), patch)

    async def verify(self, slot: SlotRef, weights: Weights) -> bool:
        pair = role_weights(weights)
        if pair is None:
            return True
        service = await self.kube.get("Service", slot.namespace, service_name(slot.name))
        if service is None:
            return False
        wanted = {k: v for k, v in replica_ratio_selector(slot.name, weights).items() if v}
        if service["spec"].get("selector") != wanted:
            return False
        ready = [await self._ready(slot, version) for version in weights.by_version]
        if pair[1] == 0:
            return ready[0] > 0
        if pair[1] == 100:
            return ready[1] > 0
        return ratio_matches(pair[1], ready[0], ready[1])

    async def _ready(self, slot: SlotRef, version: str) -> int:
        name = workload_name(slot.name, version)
        body = await self.kube.get("Deployment", slot.namespace, name)
        return int((body or {}).get("status", {}).get("readyReplicas", 0))
