"""Replica arithmetic for a canary: how many pods each side gets for a traffic weight.

Two regimes, as in Argo Rollouts' ``utils/replicaset/canary.go``:

* **Replica ratio** (no mesh): kube-proxy spreads requests evenly over the ready endpoints of
  the slot's Service, so the *only* lever on traffic is the number of pods per side. The two
  sides share the slot's total, which an HPA may own through ``/scale``: keeping
  ``stable + canary == total`` means a scale-up or scale-down is split by weight, never
  taken from one side to feed the other.
* **Mesh** (Gateway API, Istio): route weights move the traffic, so the stable side stays at
  full size (an abort or a rollback then needs no scale-up) and the canary only needs enough
  pods for its share.
"""

from __future__ import annotations


def _check(total: int, canary_weight: int) -> None:
    if total < 0:
        raise ValueError(f"total replicas must not be negative, got {total}")
    if not 0 <= canary_weight <= 100:
        raise ValueError(f"canary weight must be within 0..100, got {canary_weight}")


def split_replicas(total: int, canary_weight: int, *, mesh: bool) -> tuple[int, int]:
    """``(stable, canary)`` replicas for ``canary_weight`` % of traffic on ``total`` replicas.

    Replica ratio: the canary gets ``total·w/100`` rounded half up, at least one pod as soon as
    it should get any traffic, and the stable side keeps at least one pod while it should still
    get traffic and there are two pods to share::

        total=10, w=25  → 2.5 rounds up to 3 → (7, 3)        actual traffic 30 %
        total=10, w=5   → 0.5 rounds up to 1 → (9, 1)        actual traffic 10 %
        total=10, w=1   → 0.1 rounds to 0, raised to 1 → (9, 1)
        total=3,  w=90  → 2.7 rounds to 3, stable kept at 1 → (1, 2)
        total=1,  w=5   → one pod cannot be split: the canary gets it → (0, 1)
        total=4 → 8 (HPA scales up) at w=50 → (2, 2) → (4, 4): the sum always follows the total

    Mesh: the stable side stays at ``total``; the canary gets ``ceil(total·w/100)`` pods, at
    least one when it gets any traffic (and there is anything to run)::

        total=10, w=25 → (10, 3)       total=10, w=1 → (10, 1)       total=10, w=100 → (10, 10)

    >>> split_replicas(10, 25, mesh=False)
    (7, 3)
    >>> split_replicas(10, 25, mesh=True)
    (10, 3)
    """
    _check(total, canary_weight)
    if total == 0 or canary_weight == 0:
        return total, 0
    if mesh:
        canary = max(1, -(-total * canary_weight // 100))  # ceil without floats
        return total, canary
    canary = max(1, (total * canary_weight + 50) // 100)  # round half up without floats
    if canary_weight < 100 and total >= 2:
        canary = min(canary, total - 1)
    return total - canary, canary


def effective_weight(stable_ready: int, canary_ready: int) -> int:
    """The canary's actual share of traffic (%) when routing by replica ratio.

    Ready pods receive equal shares, so the share is ``canary / (stable + canary)``, rounded
    half up; with no ready pod at all nothing flows anywhere, reported as 0::

        (7, 3) → 30      (2, 1) → 33      (1, 1) → 50      (0, 0) → 0

    >>> effective_weight(7, 3)
    30
    """
    if stable_ready < 0 or canary_ready < 0:
        raise ValueError("ready replica counts must not be negative")
    ready = stable_ready + canary_ready
    if ready == 0:
        return 0
    return (200 * canary_ready + ready) // (2 * ready)
