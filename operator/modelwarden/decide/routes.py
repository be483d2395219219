"""Weights → traffic-router objects, and back, as pure functions (the routers do the I/O).

Contract with :class:`~modelwarden.decide.plan.Weights`: at most two versions, the stable one
first and the candidate second (as ``rollout.weights`` builds it); empty weights mean the slot
is halted. Halting is enforced by the evaluators (a clear 503 with the reason), so a halt
leaves routes as they are: resuming is then instant, and a gateway never answers a bare 500
for a route whose weights are all zero.

Mesh routers send traffic to the ``<slot>-stable`` and ``<slot>-canary`` Services (whose
selectors follow the versions in those roles). The user owns the HTTPRoute or VirtualService,
so only the weights of those two backends are touched; a canary backend is added next to the
stable one, copied from it, when the canary first needs traffic.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelwarden.decide.children import LABEL_SLOT, LABEL_VERSION, pod_labels, service_name
from modelwarden.decide.plan import Weights

Obj = dict[str, Any]


class RouteError(ValueError):
    """The weights or the route object cannot be reconciled (a configuration mistake)."""


def role_weights(weights: Weights) -> tuple[int, int] | None:
    """``(stable, canary)`` shares, or ``None`` when halted (see the module docstring).

    >>> role_weights(Weights({"v1": 75, "v2": 25}))
    (75, 25)
    >>> role_weights(Weights({"v1": 100}))
    (100, 0)
    """
    shares = list(weights.by_version.values())
    if not shares:
        return None
    if len(shares) > 2:
        raise RouteError(f"a slot routes to at most two versions, got {weights.by_version}")
    stable, canary = (*shares, 0)[:2]
    if stable + canary != 100 or min(stable, canary) < 0:
        raise RouteError(f"weights must be non-negative and sum to 100, got {weights.by_version}")
    return stable, canary


def replica_ratio_selector(slot: str, weights: Weights) -> dict[str, str | None]:
    """The main Service's selector, as a merge patch (``None`` deletes the version key).

    One version with traffic → pinned to it, so canary pods at weight 0, an old colour
    draining after a blue-green switch, or a preview never take requests; two → every pod of
    the slot, and kube-proxy's even spread over endpoints realises the replica ratio.

    >>> replica_ratio_selector("fraud", Weights({"v1": 100, "v2": 0}))
    {'modelwarden.io/slot': 'fraud', 'modelwarden.io/version': 'v1'}
    >>> replica_ratio_selector("fraud", Weights({"v1": 90, "v2": 10}))
    {'modelwarden.io/slot': 'fraud', 'modelwarden.io/version': None}
    """
    serving = [version for version, share in weights.by_version.items() if share > 0]
    if len(serving) == 1:
        return dict(pod_labels(slot, serving[0]))
    return {LABEL_SLOT: slot, LABEL_VERSION: None}


def ratio_matches(canary_weight: int, stable_ready: int, canary_ready: int) -> bool:
    """Whether ready replicas realise ``canary_weight`` within one replica's granularity.

    With ``n`` ready pods each carries ``100/n`` % of the traffic, and ``split_replicas``
    never misses the weight by more than one pod, so the check is
    ``|100·canary − w·n| ≤ 100``; a canary that should get traffic needs a ready pod::

        w=25, ready (7, 3): 30 % against 25 %, one pod is 10 %  → matches
        w=25, ready (9, 1): 10 % against 25 %                   → does not
        w=25, ready (4, 0): the canary has no ready pod          → does not
        nothing ready: nothing is routed anywhere               → does not
    """
    ready = stable_ready + canary_ready
    if ready == 0 or (canary_weight > 0 and canary_ready == 0):
        return False
    return abs(100 * canary_ready - canary_weight * ready) <= 100


@dataclass(frozen=True)
class _Layout:
    """Where a router keeps its backends: ``rules[].<key>[]``, each naming one Service."""

    key: str
    service_of: Callable[[Obj], str]
    pointed_at: Callable[[Obj, str], Obj]
    default_weight: Callable[[int], int]
    """Weight of a backend that has none, given how many backends its rule has."""


def _set(
    layout: _Layout, rules: list[Obj], stable: str, canary: str, pair: tuple[int, int]
) -> list[Obj]:
    rules = copy.deepcopy(rules)
    touched = False
    for rule in rules:
        backends = rule.get(layout.key) or []
        names = [layout.service_of(b) for b in backends]
        if stable not in names:
            continue
        touched = True
        if pair[1] > 0 and canary not in names:
            backends.append(layout.pointed_at(backends[names.index(stable)], canary))
            names.append(canary)
        for backend, name in zip(backends, names, strict=True):
            if name in (stable, canary):
                backend["weight"] = pair[0] if name == stable else pair[1]
        rule[layout.key] = backends
    if not touched:
        raise RouteError(f"no rule routes to the stable Service {stable!r}")
    return rules


def _read(layout: _Layout, rules: list[Obj], stable: str, canary: str) -> list[tuple[int, int]]:
    pairs = []
    for rule in rules:
        backends = rule.get(layout.key) or []
        found: dict[str, int] = {}
        for backend in backends:
            name = layout.service_of(backend)
            if name in (stable, canary):
                found[name] = int(backend.get("weight", layout.default_weight(len(backends))))
        if stable in found:
            pairs.append((found[stable], found.get(canary, 0)))
    return pairs


# -- Gateway API: HTTPRoute spec.rules[].backendRefs[] ------------------------------------


def _backend_ref_service(ref: Obj) -> str:
    core = ref.get("group", "") == "" and ref.get("kind", "Service") == "Service"
    return str(ref.get("name", "")) if core and "namespace" not in ref else ""


_GATEWAY = _Layout(
    key="backendRefs",
    service_of=_backend_ref_service,
    pointed_at=lambda ref, name: {**copy.deepcopy(ref), "name": name},
    default_weight=lambda _count: 1,  # the Gateway API default
)


def http_route_rules(rules: list[Obj], slot: str, pair: tuple[int, int]) -> list[Obj]:
    """``spec.rules`` with the stable/canary backendRefs weighted ``pair``."""
    return _set(_GATEWAY, rules, service_name(slot, "stable"), service_name(slot, "canary"), pair)


def http_route_weights(rules: list[Obj], slot: str) -> list[tuple[int, int]]:
    """``(stable, canary)`` weights of every rule that routes to the slot's stable Service."""
    return _read(_GATEWAY, rules, service_name(slot, "stable"), service_name(slot, "canary"))


# -- Istio: VirtualService spec.http[].route[].destination.host ---------------------------


def _istio_layout(namespace: str) -> _Layout:
    def service_of(route: Obj) -> str:
        host = str(route.get("destination", {}).get("host", ""))
        name, _, rest = host.partition(".")
        in_namespace = rest in ("", namespace) or rest.startswith(f"{namespace}.svc")
        return name if in_namespace else ""

    def pointed_at(route: Obj, name: str) -> Obj:
        route = copy.deepcopy(route)
        route["destination"]["host"] = name
        route["destination"].pop("subset", None)
        return route

    return _Layout(
        key="route",
        service_of=service_of,
        pointed_at=pointed_at,
        default_weight=lambda count: 100 if count == 1 else 0,  # Istio's reading of no weight
    )


def virtual_service_http(
    http: list[Obj], slot: str, namespace: str, pair: tuple[int, int]
) -> list[Obj]:
    """``spec.http`` with the stable/canary destinations weighted ``pair``."""
    stable, canary = service_name(slot, "stable"), service_name(slot, "canary")
    return _set(_istio_layout(namespace), http, stable, canary, pair)


def virtual_service_weights(http: list[Obj], slot: str, namespace: str) -> list[tuple[int, int]]:
    """``(stable, canary)`` weights of every http route that reaches the stable Service."""
    stable, canary = service_name(slot, "stable"), service_name(slot, "canary")
    return _read(_istio_layout(namespace), http, stable, canary)
