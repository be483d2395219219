"""Gateway API: weights on the HTTPRoute's backendRefs to ``<slot>-stable``/``<slot>-canary``.

The route belongs to the user; the operator rewrites only those backendRefs' weights, with
the resourceVersion it read, so a concurrent edit makes the write fail instead of being lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelwarden.decide.children import SlotRef
from modelwarden.decide.plan import Weights
from modelwarden.decide.routes import http_route_rules, http_route_weights, role_weights
from modelwarden.k8s.kube import Kube
from modelwarden.k8s.routing.base import RouteNotFound


@dataclass
class GatewayApiRouter:
    kube: Kube
    route: str
    """Name of the HTTPRoute, in the slot's namespace."""

    async def apply(self, slot: SlotRef, weights: Weights) -> None:
        pair = role_weights(weights)
        if pair is None:
            return
        body = await self.kube.get("HTTPRoute", slot.namespace, self.route)
        if body is None:
            raise RouteNotFound(f"HTTPRoute {slot.namespace}/{self.route} not found")
        rules = http_route_rules(body["spec"].get("rules", []), slot.name, pair)
        patch = {
            "metadata": {"resourceVersion": body["metadata"]["resourceVersion"]},
            "spec": {"rules": rules},
        }
        await self.kube.patch("HTTPRoute", slot.namespace, self.route, patch)

    async def verify(self, slot: SlotRef, weights: Weights) -> bool:
        pair = role_weights(weights)
        if pair is None:
            return True
        body = await self.kube.get("HTTPRoute", slot.namespace, self.route)
        if body is None:
            return False
        found = http_route_weights(body["spec"].get("rules", []), slot.name)
        return bool(found) and all(rule == pair for rule in found)
