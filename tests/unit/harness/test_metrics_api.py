"""The resource metrics API: its answers (table) and its TLS door, which admits only a client
certificate from the front-proxy CA with the aggregator's name."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcluster import metrics_api
from localcluster.pki import FRONT_PROXY_CLIENT, METRICS_SERVICE_HOST, Pki
from localcluster.usage import Usage

Obj = dict[str, Any]
NOW = 1_795_000_000.0


def pod(name: str, namespace: str = "risk", node: str = "kwok-node-0") -> Obj:
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"nodeName": node},
    }


class Source:
    """Canned usage: the UsageSource boundary of the pod runner."""

    def __init__(self) -> None:
        self.selectors: list[tuple[str | None, str]] = []

    def pod_usage(self, namespace: str | None, label_selector: str) -> list[Any]:
        self.selectors.append((namespace, label_selector))
        a = {"model": Usage(NOW, 5.0, 0.0421, 1025), "evaluator": Usage(NOW, 4.0, 0.5, 2048)}
        found = [(pod("a"), a), (pod("b", "other"), {"model": Usage(NOW, 5.0, 1.0, 1024)})]
        return [(p, u) for p, u in found if namespace in (None, p["metadata"]["namespace"])]

    def node_usage(self) -> list[tuple[str, Usage]]:
        return [("kwok-node-0", Usage(NOW, 5.0, 1.5, 4096))]


def answer(path: str) -> tuple[int, Obj]:
    return metrics_api.answer(Source(), path)


@pytest.mark.parametrize(
    ("path", "status", "kind", "names"),
    [
        pytest.param("/apis/metrics.k8s.io/v1beta1", 200, "APIResourceList", [], id="discovery"),
        pytest.param("/apis/metrics.k8s.io/v1beta1/pods", 200, "PodMetricsList", ["a", "b"],
                     id="pods-all-namespaces"),
        pytest.param("/apis/metrics.k8s.io/v1beta1/namespaces/risk/pods?labelSelector=app%3Da",
                     200, "PodMetricsList", ["a"], id="pods-in-namespace"),
        pytest.param("/apis/metrics.k8s.io/v1beta1/namespaces/risk/pods/a", 200, "PodMetrics",
                     ["a"], id="one-pod"),
        pytest.param("/apis/metrics.k8s.io/v1beta1/namespaces/risk/pods/zz", 404, "Status", [],
                     id="unknown-pod"),
        pytest.param("/apis/metrics.k8s.io/v1beta1/nodes", 200, "NodeMetricsList",
                     ["kwok-node-0"], id="nodes"),
        pytest.param("/apis/metrics.k8s.io/v1beta1/nodes/kwok-node-0", 200, "NodeMetrics",
                     ["kwok-node-0"], id="one-node"),
        pytest.param("/apis/metrics.k8s.io/v1beta1/nodes/nope", 404, "Status", [],
                     id="unknown-node"),
        pytest.param("/apis/metrics.k8s.io/v1beta1/services", 404, "Status", [],
                     id="unknown-resource"),
    ],
)  # fmt: skip
def test_answers(path: str, status: int, kind: str, names: list[str]) -> None:
    code, body = answer(path)
    assert (code, body["kind"]) == (status, kind)
    items = body.get("items", [body] if "metadata" in body and "name" in body["metadata"] else [])
    assert [i["metadata"]["name"] for i in items] == names


def test_pod_metrics_carry_usage_in_metrics_server_units() -> None:
    _, body = answer("/apis/metrics.k8s.io/v1beta1/namespaces/risk/pods/a")
    assert body["containers"] == [
        {"name": "model", "usage": {"cpu": "42100000n", "memory": "2Ki"}},
        {"name": "evaluator", "usage": {"cpu": "500000000n", "memory": "2Ki"}},
    ]
    assert body["window"] == "4.000s"
    assert body["timestamp"] == "2026-11-18T11:06:40Z"


def test_the_selector_goes_to_the_source_unparsed() -> None:
    source = Source()
    metrics_api.answer(
        source, "/apis/metrics.k8s.io/v1beta1/namespaces/risk/pods?labelSelector=a+in+%28x%2Cy%29"
    )
    assert source.selectors == [("risk", "a in (x,y)")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    generated = Pki(tmp_path_factory.mktemp("pki"))
    generated.generate()
    return generated


@pytest.fixture(scope="module")
def server(pki: Pki) -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    stop = threading.Event()
    join = metrics_api.serve(
        Source(), port, cert=pki.metrics_cert, key=pki.metrics_key,
        client_ca=pki.front_proxy_ca, allowed_client=FRONT_PROXY_CLIENT, stop=stop,
    )  # fmt: skip
    yield port
    stop.set()
    join()


def _get(port: int, pki: Pki, cert: tuple[Path, Path] | None) -> tuple[int, Obj]:
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    if cert is not None:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    # Connect by IP but check the name the aggregator checks (the Service's DNS name).
    request = urllib.request.Request(
        f"https://127.0.0.1:{port}/apis/metrics.k8s.io/v1beta1/nodes",
        headers={"Host": METRICS_SERVICE_HOST},
    )
    handler = urllib.request.HTTPSHandler(context=context)
    context.check_hostname = False
    opener = urllib.request.build_opener(handler)
    try:
        with opener.open(request, timeout=5) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_aggregator_certificate_is_admitted(server: int, pki: Pki) -> None:
    status, body = _get(server, pki, (pki.proxy_client_cert, pki.proxy_client_key))
    assert status == 200
    assert body["kind"] == "NodeMetricsList"


def test_no_client_certificate_fails_the_handshake(server: int, pki: Pki) -> None:
    with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
        _get(server, pki, None)


def test_a_certificate_of_another_name_is_refused(server: int, pki: Pki) -> None:
    # The serving certificate is from the main CA, not the front-proxy CA: refused by TLS.
    with pytest.raises((ssl.SSLError, ConnectionError, urllib.error.URLError)):
        _get(server, pki, (pki.metrics_cert, pki.metrics_key))


def test_the_serving_certificate_names_the_service(pki: Pki) -> None:
    text = ssl._ssl._test_decode_cert(str(pki.metrics_cert))  # type: ignore[attr-defined]
    names = {value for kind, value in text["subjectAltName"] if kind == "DNS"}
    assert METRICS_SERVICE_HOST in names
