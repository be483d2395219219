"""Traffic routers against the real local control plane: each sets weights, then verifies them.

Gateway API CRDs come with the cluster; the Istio VirtualService CRD is fetched once through
the Go module proxy (istio.io/api) and cached beside the control-plane binaries.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from kubernetes import client
from kubernetes_asyncio import client as aclient
from kubernetes_asyncio import config as aconfig

from localcluster import LocalCluster, ServiceClient, wait_until
from localcluster.build import cache_root
from localcluster.traffic import Response
from modelwarden.api.modeldeployment import ModelDeploymentSpec
from modelwarden.api.modelversion import Runtime
from modelwarden.decide.children import (
    LABEL_VERSION,
    SlotRef,
    control_configmap,
    deployment,
    halt_document,
    main_service,
    pod_labels,
    token_secret,
    workload_name,
)
from modelwarden.decide.plan import Weights, Workload
from modelwarden.k8s.kube import Kube
from modelwarden.k8s.routing.factory import router_for
from modelwarden.k8s.routing.gateway_api import GatewayApiRouter
from modelwarden.k8s.routing.istio import IstioRouter
from modelwarden.k8s.routing.replica_ratio import ReplicaRatioRouter

ISTIO_API_VERSION = "v1.28.0"
ISTIO_CRD = "virtualservices.networking.istio.io"
Obj = dict[str, Any]


def _istio_crd_file() -> Path:
    """The VirtualService CRD of istio.io/api, fetched once and cached."""
    dest = cache_root() / "istio" / ISTIO_API_VERSION / "virtualservices.yaml"
    if dest.is_file():
        return dest
    with tempfile.TemporaryDirectory() as scratch:  # outside any module: go.mod stays as is
        out = subprocess.run(
            ["go", "mod", "download", "-json", f"istio.io/api@{ISTIO_API_VERSION}"],
            cwd=scratch,
            env={**os.environ, "GO111MODULE": "on"},
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    bundle = Path(json.loads(out)["Dir"]) / "kubernetes" / "customresourcedefinitions.gen.yaml"
    [crd] = [
        d
        for d in yaml.safe_load_all(bundle.read_text())
        if d and d["metadata"]["name"] == ISTIO_CRD
    ]
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(crd, sort_keys=False))
    tmp.rename(dest)
    return dest


def _established(cluster: LocalCluster, name: str) -> bool:
    found = cluster.kubectl_run("get", "crd", name, "-o", "json", check=False)
    if found.returncode != 0:
        return False
    conditions = (json.loads(found.stdout).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


@pytest.fixture(scope="session")
def istio_crd(cluster: LocalCluster) -> None:
    cluster.kubectl_run("apply", "--server-side", "-f", str(_istio_crd_file()))
    wait_until(lambda: _established(cluster, ISTIO_CRD), f"CRD {ISTIO_CRD} Established")


def _apply(cluster: LocalCluster, *objects: Obj) -> None:
    cluster.kubectl_run("apply", "-f", "-", input=yaml.safe_dump_all(objects))


def _namespace(cluster: LocalCluster, name: str) -> str:
    _apply(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def _get(cluster: LocalCluster, *args: str) -> Obj:
    result: Obj = json.loads(cluster.kubectl_run("get", *args, "-o", "json").stdout)
    return result


@pytest.fixture
async def kube(cluster: LocalCluster) -> AsyncIterator[Kube]:
    configuration = aclient.Configuration()
    await aconfig.load_kube_config(
        config_file=str(cluster.kubeconfig), client_configuration=configuration
    )
    api = Kube(aclient.ApiClient(configuration))
    yield api
    await api.close()


async def _eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.2)


def _spec(routing: Obj | None) -> ModelDeploymentSpec:
    canary = {"trafficRouting": routing} if routing is not None else None
    return ModelDeploymentSpec.model_validate(
        {"model": "m", "version": "v1", "strategy": {"type": "Canary", "canary": canary}}
    )


@pytest.mark.parametrize(
    ("routing", "expected"),
    [
        pytest.param(None, ReplicaRatioRouter, id="default-replica-ratio"),
        pytest.param({"replicaRatio": {}}, ReplicaRatioRouter, id="replica-ratio"),
        pytest.param({"gatewayAPI": {"httpRoute": "r"}}, GatewayApiRouter, id="gateway-api"),
        pytest.param({"istio": {"virtualService": "vs"}}, IstioRouter, id="istio"),
    ],
)
def test_factory_chooses_the_router_the_spec_names(routing: Obj | None, expected: type) -> None:
    # Given a ModelDeployment spec naming a traffic router (or none); When choosing a router
    router = router_for(Kube(cast(aclient.ApiClient, None)), _spec(routing))
    # Then it is of the named kind
    assert isinstance(router, expected)


async def test_gateway_api_router_sets_and_verifies_backend_weights(
    cluster: LocalCluster, kube: Kube
) -> None:
    # Given a user's HTTPRoute sending everything to the slot's stable Service
    ns = _namespace(cluster, "routing-gateway")
    slot = SlotRef("fraud", ns, "uid")
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "fraud", "namespace": ns},
        "spec": {
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/admin"}}],
                    "backendRefs": [{"name": "admin", "port": 80}],
                },
                {"backendRefs": [{"name": "fraud-stable", "port": 80}]},
            ]
        },
    }
    _apply(cluster, route)
    router = GatewayApiRouter(kube, "fraud")
    canary = Weights({"v1": 90, "v2": 10})
    # When the canary gets 10 %
    assert not await router.verify(slot, canary)
    await router.apply(slot, canary)
    # Then the API server holds both backends with those weights, the admin rule untouched
    rules = _get(cluster, "httproute", "fraud", "-n", ns)["spec"]["rules"]
    assert [(ref["name"], ref["weight"]) for ref in rules[0]["backendRefs"]] == [("admin", 1)]
    weights = {ref["name"]: ref["weight"] for ref in rules[1]["backendRefs"]}
    assert weights == {"fraud-stable": 90, "fraud-canary": 10}
    assert await router.verify(slot, canary)
    # When the rollout aborts back to the stable version
    back = Weights({"v1": 100, "v2": 0})
    await router.apply(slot, back)
    # Then the canary backend stays, at weight 0, and only the new weights verify
    assert await router.verify(slot, back)
    assert not await router.verify(slot, canary)


async def test_istio_router_sets_and_verifies_route_weights(
    cluster: LocalCluster, istio_crd: None, kube: Kube
) -> None:
    # Given a user's VirtualService with one route to the slot's stable Service (FQDN host)
    ns = _namespace(cluster, "routing-istio")
    slot = SlotRef("fraud", ns, "uid")
    stable_host = f"fraud-stable.{ns}.svc.cluster.local"
    service = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "fraud", "namespace": ns},
        "spec": {
            "hosts": ["fraud.example.com"],
            "http": [{"route": [{"destination": {"host": stable_host, "port": {"number": 80}}}]}],
        },
    }
    _apply(cluster, service)
    router = IstioRouter(kube, "fraud")
    weights = Weights({"v1": 75, "v2": 25})
    # When the canary gets 25 %
    await router.apply(slot, weights)
    # Then both destinations are stored with their weights and the router verifies them
    routes = _get(cluster, "virtualservice", "fraud", "-n", ns)["spec"]["http"][0]["route"]
    assert {r["destination"]["host"]: r["weight"] for r in routes} == {
        stable_host: 75,
        "fraud-canary": 25,
    }
    assert await router.verify(slot, weights)
    assert not await router.verify(slot, Weights({"v1": 50, "v2": 50}))


def _echo_deployment(ns: str, slot: str, version: str, replicas: int) -> Obj:
    labels = pod_labels(slot, version)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": workload_name(slot, version), "namespace": ns, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "model",
                            "image": "localtest/http-echo:1",
                            "ports": [{"name": "http", "containerPort": 8080}],
                        }
                    ]
                },
            },
        },
    }


def _answers(cluster: LocalCluster, ns: str, path: str, pods: int, requests: int) -> list[Response]:
    """``requests`` GETs to the main Service, round robin over its Ready pods, resolved once
    after all ``pods`` are Ready (as kube-proxy would see them), so the split is exact."""
    api = ServiceClient(client.CoreV1Api(cluster.api_client()), ns, "fraud", refresh=3600)
    wait_until(lambda: len(api.endpoints()) == pods, f"{pods} Ready endpoints behind fraud")
    responses = [api.get(path) for _ in range(requests)]
    assert [r.status for r in responses] == [200] * requests
    return responses


def _served_versions(cluster: LocalCluster, ns: str, pods: int, requests: int) -> Counter[str]:
    """Which version (pod label) answered each request to the main Service."""
    labels = {
        p["metadata"]["name"]: p["metadata"]["labels"]
        for p in _get(cluster, "pods", "-n", ns)["items"]
    }
    answers = _answers(cluster, ns, "/", pods, requests)
    return Counter(labels[r.pod][LABEL_VERSION] for r in answers)


async def test_replica_ratio_router_pins_opens_and_verifies_the_main_service(
    cluster: LocalCluster, kube: Kube
) -> None:
    # Given a slot at 4 replicas, split 3 stable / 1 canary for 25 %, and its main Service
    ns = _namespace(cluster, "routing-ratio")
    slot = SlotRef("fraud", ns, "uid")
    service = main_service(slot)
    del service["metadata"]["ownerReferences"]  # no real ModelDeployment owns it here
    _apply(cluster, service, _echo_deployment(ns, "fraud", "v1", 3))
    _apply(cluster, _echo_deployment(ns, "fraud", "v2", 1))
    router = ReplicaRatioRouter(kube)
    canary = Weights({"v1": 75, "v2": 25})

    # When the router routes 25 % to the canary
    await router.apply(slot, canary)
    # Then it verifies once the pods are ready, and real requests split by replica ratio
    await _eventually(lambda: router.verify(slot, canary), "3 stable + 1 canary ready pods")
    assert _served_versions(cluster, ns, 4, 40) == {"v1": 30, "v2": 10}
    # And a weight the replicas cannot realise does not verify
    assert not await router.verify(slot, Weights({"v1": 25, "v2": 75}))

    # When the canary is aborted (weight 0) the Service is pinned to the stable version
    stable_only = Weights({"v1": 100, "v2": 0})
    await router.apply(slot, stable_only)
    assert await router.verify(slot, stable_only)
    assert _served_versions(cluster, ns, 3, 12) == {"v1": 12}
    selector = _get(cluster, "service", "fraud", "-n", ns)["spec"]["selector"]
    assert selector == pod_labels("fraud", "v1")

    # When the canary should take 25 % again but has no ready pod yet, it does not verify
    cluster.kubectl_run(
        "scale", "deployment", workload_name("fraud", "v2"), "-n", ns, "--replicas=0"
    )
    await router.apply(slot, canary)
    selector = _get(cluster, "service", "fraud", "-n", ns)["spec"]["selector"]
    assert selector == {"modelwarden.io/slot": "fraud"}, "the version pin is removed"
    await _eventually(lambda: _not(router.verify(slot, canary)), "the canary's pods to go away")


async def _not(check: Awaitable[bool]) -> bool:
    return not await check


async def test_slot_children_serve_through_the_evaluator_by_replica_ratio(
    cluster: LocalCluster, kube: Kube
) -> None:
    # Given a ModelDeployment (no operator runs here) and the children built for it: the
    # halt ConfigMap, the token Secret, the main Service and a 3 + 1 split of two versions
    ns = _namespace(cluster, "routing-slot")
    owner = {
        "apiVersion": "modelwarden.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "fraud", "namespace": ns},
        "spec": {"model": "fraud", "version": "fraud-v1"},
    }
    _apply(cluster, owner)
    slot = SlotRef(
        "fraud", ns, _get(cluster, "modeldeployment", "fraud", "-n", ns)["metadata"]["uid"]
    )
    runtimes = {
        v: Runtime(image="modelwarden/sample-model:0.1.0", args=["--version", v])
        for v in ("fraud-v1", "fraud-v2")
    }
    _apply(
        cluster,
        control_configmap(slot, halt_document(halted=False)),
        token_secret(slot, "t0ken"),
        main_service(slot),
        deployment(slot, Workload("fraud-v1", "stable", 3), runtimes["fraud-v1"]),
        deployment(slot, Workload("fraud-v2", "canary", 1), runtimes["fraud-v2"]),
    )
    router = ReplicaRatioRouter(kube)
    canary = Weights({"fraud-v1": 75, "fraud-v2": 25})
    # When the router opens the main Service to both versions
    await router.apply(slot, canary)
    # Then every pod becomes Ready through its evaluator's /readyz, the weight verifies, and
    # requests to the Service's `http` port reach the models through the evaluators
    await _eventually(lambda: router.verify(slot, canary), "model + evaluator pods Ready", 120)
    answers = _answers(cluster, ns, "/v2/health/ready", 4, 40)
    versions = Counter(json.loads(r.body)["version"] for r in answers)
    assert versions == {"fraud-v1": 30, "fraud-v2": 10}
