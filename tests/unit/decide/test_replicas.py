"""Replica split per weight: worked examples, the HPA sharing rule, and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelwarden.decide.replicas import effective_weight, split_replicas

totals = st.integers(min_value=0, max_value=1000)
weights = st.integers(min_value=0, max_value=100)


@pytest.mark.parametrize(
    ("total", "weight", "expected"),
    [
        pytest.param(10, 0, (10, 0), id="no-canary-traffic-no-canary-pods"),
        pytest.param(10, 25, (7, 3), id="2.5-rounds-half-up"),
        pytest.param(10, 24, (8, 2), id="2.4-rounds-down"),
        pytest.param(10, 5, (9, 1), id="0.5-rounds-up-to-one"),
        pytest.param(10, 1, (9, 1), id="tiny-weight-still-gets-one-pod"),
        pytest.param(3, 90, (1, 2), id="stable-keeps-one-pod-below-100"),
        pytest.param(2, 99, (1, 1), id="two-pods-split-even-at-99"),
        pytest.param(10, 100, (0, 10), id="full-promotion-moves-everything"),
        pytest.param(1, 5, (0, 1), id="one-pod-goes-to-the-canary"),
        pytest.param(1, 0, (1, 0), id="one-pod-stays-stable-at-zero"),
        pytest.param(0, 50, (0, 0), id="scaled-to-zero"),
        pytest.param(4, 50, (2, 2), id="hpa-total-4"),
        pytest.param(8, 50, (4, 4), id="hpa-scales-up-mid-rollout"),
        pytest.param(3, 50, (1, 2), id="hpa-scales-down-odd-total"),
    ],
)
def test_replica_ratio_split(total: int, weight: int, expected: tuple[int, int]) -> None:
    assert split_replicas(total, weight, mesh=False) == expected


@pytest.mark.parametrize(
    ("total", "weight", "expected"),
    [
        pytest.param(10, 0, (10, 0), id="no-canary"),
        pytest.param(10, 25, (10, 3), id="ceil-2.5"),
        pytest.param(10, 1, (10, 1), id="tiny-weight-one-pod"),
        pytest.param(10, 100, (10, 10), id="stable-stays-full-at-100"),
        pytest.param(1, 5, (1, 1), id="one-and-one"),
        pytest.param(0, 50, (0, 0), id="scaled-to-zero"),
        pytest.param(6, 50, (6, 3), id="hpa-total-6"),
        pytest.param(9, 50, (9, 5), id="hpa-scales-up-mid-rollout"),
    ],
)
def test_mesh_split(total: int, weight: int, expected: tuple[int, int]) -> None:
    assert split_replicas(total, weight, mesh=True) == expected


@pytest.mark.parametrize(
    ("total", "weight"),
    [
        pytest.param(-1, 10, id="negative-total"),
        pytest.param(5, -1, id="negative-weight"),
        pytest.param(5, 101, id="weight-over-100"),
    ],
)
@pytest.mark.parametrize("mesh", [False, True])
def test_split_rejects_bad_input(total: int, weight: int, mesh: bool) -> None:
    with pytest.raises(ValueError, match="must"):
        split_replicas(total, weight, mesh=mesh)


@pytest.mark.parametrize(
    ("stable", "canary", "expected"),
    [
        pytest.param(7, 3, 30, id="seven-three"),
        pytest.param(2, 1, 33, id="one-third-rounds-down"),
        pytest.param(1, 2, 67, id="two-thirds-rounds-up"),
        pytest.param(1, 1, 50, id="even"),
        pytest.param(0, 4, 100, id="canary-only"),
        pytest.param(4, 0, 0, id="stable-only"),
        pytest.param(0, 0, 0, id="nothing-ready"),
    ],
)
def test_effective_weight(stable: int, canary: int, expected: int) -> None:
    assert effective_weight(stable, canary) == expected


def test_effective_weight_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        effective_weight(-1, 2)


@given(total=totals, weight=weights)
def test_replica_ratio_sum_is_the_total(total: int, weight: int) -> None:
    stable, canary = split_replicas(total, weight, mesh=False)
    assert stable + canary == total
    assert stable >= 0
    assert canary >= 0


@given(total=totals, weight=weights)
def test_replica_ratio_keeps_both_sides_alive(total: int, weight: int) -> None:
    stable, canary = split_replicas(total, weight, mesh=False)
    if weight > 0 and total > 0:
        assert canary >= 1
    if weight < 100 and total >= 2:
        assert stable >= 1


@given(total=totals, low=weights, high=weights, mesh=st.booleans())
def test_canary_is_monotone_in_weight(total: int, low: int, high: int, mesh: bool) -> None:
    low, high = sorted((low, high))
    _, canary_low = split_replicas(total, low, mesh=mesh)
    _, canary_high = split_replicas(total, high, mesh=mesh)
    assert canary_low <= canary_high


@given(total=totals, weight=weights)
def test_mesh_keeps_stable_full_and_canary_within_total(total: int, weight: int) -> None:
    stable, canary = split_replicas(total, weight, mesh=True)
    assert stable == total
    assert canary <= total


@given(total=st.integers(min_value=1, max_value=1000), weight=weights)
def test_replica_ratio_traffic_is_within_one_replica_of_the_weight(total: int, weight: int) -> None:
    stable, canary = split_replicas(total, weight, mesh=False)
    assert abs(effective_weight(stable, canary) - weight) <= 100 / total + 1
