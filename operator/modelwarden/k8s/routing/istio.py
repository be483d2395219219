"""Istio: weights on the VirtualService's ``http[].route[]`` destinations.

The VirtualService belongs to the user; the operator rewrites only the weights of the routes
to ``<slot>-stable``/``<slot>-canary`` (short or fully qualified host in the slot's namespace),
with the resourceVersion it read, so a concurrent edit makes the write fail, not vanish.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelwarden.decide.children import SlotRef
from modelwarden.decide.plan import Weights
from modelwarden.decide.routes import role_weights, virtual_service_http, virtual_service_weights
from modelwarden.k8s.kube import Kube
from modelwarden.k8s.routing.base import RouteNotFound


@dataclass
class IstioRouter:
    kube: Kube
    virtual_service: str
    """Name of the VirtualService, in the slot's namespace."""

    async def apply(self, slot: SlotRef, weights: Weights) -> None:
        pair = role_weights(weights)
        if pair is None:
            return
        body = await self.kube.get("VirtualService", slot.namespace, self.virtual_service)
        if body is None:
            raise RouteNotFound(f"VirtualService {slot.namespace}/{self.virtual_service} not found")
        http = virtual_service_http(body["spec"].get("http", []), slot.name, slot.namespace, pair)
        patch = {
            "metadata": {"resourceVersion": body["metadata"]["resourceVersion"]},
            "spec": {"http": http},
        }
        await self.kube.patch("VirtualService", slot.namespace, self.virtual_service, patch)

    async def verify(self, slot: SlotRef, weights: Weights) -> bool:
        pair = role_weights(weights)
        if pair is None:
            return True
        body = await self.kube.get("VirtualService", slot.namespace, self.virtual_service)
        if body is None:
            return False
        found = virtual_service_weights(body["spec"].get("http", []), slot.name, slot.namespace)
        return bool(found) and all(rule == pair for rule in found)
