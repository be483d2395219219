"""The traffic-router interface: one implementation per way of splitting traffic.

Like Flagger's ``pkg/router``: every router sets the weights its own way and then verifies
the weights *it* set, by reading back what the cluster holds (a route object, or the ready
replicas behind a Service). A rollout only moves on once ``verify`` says the traffic really
is where the plan wants it.
"""

from __future__ import annotations

from typing import Protocol

from modelwarden.decide.children import SlotRef
from modelwarden.decide.plan import Weights


class TrafficRouter(Protocol):
    async def apply(self, slot: SlotRef, weights: Weights) -> None:
        """Make the cluster route ``weights``; empty weights (halted) leave routes alone."""

    async def verify(self, slot: SlotRef, weights: Weights) -> bool:
        """Whether the cluster routes ``weights`` now (halted: always true)."""


class RouteNotFound(LookupError):
    """The HTTPRoute or VirtualService named in the ModelDeployment does not exist."""
