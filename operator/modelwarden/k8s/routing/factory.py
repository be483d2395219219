"""Choose the traffic router a ModelDeployment asks for (replica ratio unless told otherwise).

Only the Canary strategy has ``trafficRouting``; blue-green, shadow and recreate switch
traffic by pinning the main Service, which is what the replica-ratio router does.
"""

from __future__ import annotations

from modelwarden.api.modeldeployment import ModelDeploymentSpec
from modelwarden.k8s.kube import Kube
from modelwarden.k8s.routing.base import TrafficRouter
from modelwarden.k8s.routing.gateway_api import GatewayApiRouter
from modelwarden.k8s.routing.istio import IstioRouter
from modelwarden.k8s.routing.replica_ratio import ReplicaRatioRouter


def router_for(kube: Kube, spec: ModelDeploymentSpec) -> TrafficRouter:
    canary = spec.strategy.canary
    routing = canary.traffic_routing if canary is not None else None
    if routing is not None and routing.gateway_api is not None:
        return GatewayApiRouter(kube, routing.gateway_api.http_route)
    if routing is not None and routing.istio is not None:
        return IstioRouter(kube, routing.istio.virtual_service)
    return ReplicaRatioRouter(kube)
