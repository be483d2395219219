"""Weights → HTTPRoute / VirtualService / Service selector, and the read-back used by verify."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelwarden.decide.plan import Weights
from modelwarden.decide.replicas import split_replicas
from modelwarden.decide.routes import (
    RouteError,
    http_route_rules,
    http_route_weights,
    ratio_matches,
    replica_ratio_selector,
    role_weights,
    virtual_service_http,
    virtual_service_weights,
)

SLOT_LABEL = "modelwarden.io/slot"
VERSION_LABEL = "modelwarden.io/version"


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        pytest.param({"v1": 75, "v2": 25}, (75, 25), id="stable-first-canary-second"),
        pytest.param({"v1": 100}, (100, 0), id="stable-only"),
        pytest.param({"v2": 0, "v1": 100}, (0, 100), id="order-decides-not-size"),
        pytest.param({}, None, id="halted"),
    ],
)
def test_role_weights(weights: dict[str, int], expected: tuple[int, int] | None) -> None:
    assert role_weights(Weights(weights)) == expected


@pytest.mark.parametrize(
    "weights",
    [
        pytest.param({"a": 50, "b": 25, "c": 25}, id="three-versions"),
        pytest.param({"a": 50, "b": 25}, id="does-not-sum-to-100"),
        pytest.param({"a": 110, "b": -10}, id="negative"),
    ],
)
def test_role_weights_rejects(weights: dict[str, int]) -> None:
    with pytest.raises(RouteError):
        role_weights(Weights(weights))


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        pytest.param({"v1": 100}, {SLOT_LABEL: "s", VERSION_LABEL: "v1"}, id="single-pinned"),
        pytest.param(
            {"v1": 100, "v2": 0}, {SLOT_LABEL: "s", VERSION_LABEL: "v1"}, id="zero-canary-pinned"
        ),
        pytest.param(
            {"v1": 0, "v2": 100}, {SLOT_LABEL: "s", VERSION_LABEL: "v2"}, id="full-canary-pinned"
        ),
        pytest.param({"v1": 90, "v2": 10}, {SLOT_LABEL: "s", VERSION_LABEL: None}, id="shared"),
    ],
)
def test_replica_ratio_selector(weights: dict[str, int], expected: dict[str, Any]) -> None:
    assert replica_ratio_selector("s", Weights(weights)) == expected


@pytest.mark.parametrize(
    ("weight", "stable", "canary", "expected"),
    [
        pytest.param(25, 7, 3, True, id="30-vs-25-one-pod-is-10"),
        pytest.param(25, 9, 1, False, id="10-vs-25"),
        pytest.param(5, 9, 1, True, id="10-vs-5"),
        pytest.param(50, 1, 1, True, id="even"),
        pytest.param(5, 0, 1, True, id="one-pod-goes-to-the-canary"),
        pytest.param(25, 4, 0, False, id="canary-not-ready-yet"),
        pytest.param(25, 1, 3, False, id="inverted"),
        pytest.param(0, 5, 0, True, id="no-canary-wanted"),
        pytest.param(0, 0, 0, False, id="nothing-ready"),
    ],
)
def test_ratio_matches(weight: int, stable: int, canary: int, expected: bool) -> None:
    assert ratio_matches(weight, stable, canary) is expected


@given(total=st.integers(min_value=1, max_value=1000), weight=st.integers(0, 100))
def test_the_replica_split_always_matches_its_weight(total: int, weight: int) -> None:
    stable, canary = split_replicas(total, weight, mesh=False)
    assert ratio_matches(weight, stable, canary)


def _ref(name: str, weight: int | None = None, **extra: Any) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": name, "port": 80, **extra}
    if weight is not None:
        ref["weight"] = weight
    return ref


@pytest.mark.parametrize(
    ("rules", "pair", "expected"),
    [
        pytest.param(
            [{"backendRefs": [_ref("s-stable")]}],
            (90, 10),
            [{"backendRefs": [_ref("s-stable", 90), _ref("s-canary", 10)]}],
            id="canary-backend-added",
        ),
        pytest.param(
            [{"backendRefs": [_ref("s-stable", 90), _ref("s-canary", 10)]}],
            (50, 50),
            [{"backendRefs": [_ref("s-stable", 50), _ref("s-canary", 50)]}],
            id="weights-updated",
        ),
        pytest.param(
            [{"backendRefs": [_ref("s-stable")]}],
            (100, 0),
            [{"backendRefs": [_ref("s-stable", 100)]}],
            id="no-canary-backend-for-zero",
        ),
        pytest.param(
            [
                {"matches": [{"path": {"value": "/admin"}}], "backendRefs": [_ref("admin")]},
                {"backendRefs": [_ref("s-stable", 1), _ref("other", 3)]},
            ],
            (75, 25),
            [
                {"matches": [{"path": {"value": "/admin"}}], "backendRefs": [_ref("admin")]},
                {"backendRefs": [_ref("s-stable", 75), _ref("other", 3), _ref("s-canary", 25)]},
            ],
            id="other-rules-and-backends-untouched",
        ),
    ],
)
def test_http_route_rules(
    rules: list[dict[str, Any]], pair: tuple[int, int], expected: list[dict[str, Any]]
) -> None:
    before = copy.deepcopy(rules)
    assert http_route_rules(rules, "s", pair) == expected
    assert rules == before, "the input is not modified"
    assert http_route_weights(expected, "s") == [pair]


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param([{"backendRefs": [_ref("elsewhere")]}], id="no-stable-backend"),
        pytest.param(
            [{"backendRefs": [_ref("s-stable", namespace="other")]}], id="other-namespace"
        ),
        pytest.param([{"backendRefs": [_ref("s-stable", kind="ServiceImport")]}], id="not-svc"),
    ],
)
def test_http_route_without_the_slot_is_an_error(rules: list[dict[str, Any]]) -> None:
    with pytest.raises(RouteError, match="s-stable"):
        http_route_rules(rules, "s", (50, 50))


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        pytest.param([{"backendRefs": [_ref("s-stable")]}], [(1, 0)], id="default-weight-is-1"),
        pytest.param([{"backendRefs": [_ref("x")]}], [], id="unrelated-rule-ignored"),
        pytest.param(
            [{"backendRefs": [_ref("s-canary", 5), _ref("s-stable", 95)]}],
            [(95, 5)],
            id="order-independent",
        ),
    ],
)
def test_http_route_weights(rules: list[dict[str, Any]], expected: list[tuple[int, int]]) -> None:
    assert http_route_weights(rules, "s") == expected


def _dest(host: str, weight: int | None = None, **extra: Any) -> dict[str, Any]:
    route: dict[str, Any] = {"destination": {"host": host, "port": {"number": 80}, **extra}}
    if weight is not None:
        route["weight"] = weight
    return route


@pytest.mark.parametrize(
    ("http", "pair", "expected"),
    [
        pytest.param(
            [{"route": [_dest("s-stable")]}],
            (95, 5),
            [{"route": [_dest("s-stable", 95), _dest("s-canary", 5)]}],
            id="canary-destination-added",
        ),
        pytest.param(
            [{"route": [_dest("s-stable.ns.svc.cluster.local", subset="a")]}],
            (80, 20),
            [
                {
                    "route": [
                        _dest("s-stable.ns.svc.cluster.local", 80, subset="a"),
                        _dest("s-canary", 20),
                    ]
                }
            ],
            id="fqdn-host-subset-not-copied",
        ),
        pytest.param(
            [{"route": [_dest("s-stable", 20), _dest("s-canary", 80)]}],
            (100, 0),
            [{"route": [_dest("s-stable", 100), _dest("s-canary", 0)]}],
            id="back-to-stable",
        ),
    ],
)
def test_virtual_service_http(
    http: list[dict[str, Any]], pair: tuple[int, int], expected: list[dict[str, Any]]
) -> None:
    before = copy.deepcopy(http)
    assert virtual_service_http(http, "s", "ns", pair) == expected
    assert http == before, "the input is not modified"
    assert virtual_service_weights(expected, "s", "ns") == [pair]


@pytest.mark.parametrize(
    ("http", "expected"),
    [
        pytest.param([{"route": [_dest("s-stable")]}], [(100, 0)], id="single-means-100"),
        pytest.param([{"route": [_dest("s-stable.other")]}], [], id="other-namespace-ignored"),
        pytest.param([{"route": [_dest("s-stable.ns")]}], [(100, 0)], id="short-namespaced"),
    ],
)
def test_virtual_service_weights(
    http: list[dict[str, Any]], expected: list[tuple[int, int]]
) -> None:
    assert virtual_service_weights(http, "s", "ns") == expected


def test_virtual_service_without_the_slot_is_an_error() -> None:
    with pytest.raises(RouteError, match="s-stable"):
        virtual_service_http([{"route": [_dest("s-stable.other")]}], "s", "ns", (50, 50))
