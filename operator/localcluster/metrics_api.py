"""The resource metrics API (`metrics.k8s.io/v1beta1`) of the local cluster.

What metrics-server is to a real cluster: an extension API server that the kube-apiserver's
aggregation layer proxies to, so that `kubectl top` works and the controller-manager's real
HPA controller scales on real CPU. Usage comes from the pod runner's processes
(`usage.UsageMeter`). Only the aggregator may call it: the TLS handshake requires a client
certificate from the front-proxy CA, and the aggregator has already authenticated and
authorised (RBAC) the user before it proxies.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from localcluster.usage import Usage

Obj = dict[str, Any]
GROUP_VERSION = "metrics.k8s.io/v1beta1"
log = logging.getLogger("localcluster.metrics")

RESOURCES: Obj = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": GROUP_VERSION,
    "resources": [
        {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics",
         "verbs": ["get", "list"]},
        {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics",
         "verbs": ["get", "list"]},
    ],
}  # fmt: skip
ROUTE = re.compile(
    r"^/apis/metrics\.k8s\.io/v1beta1"
    r"(?:/namespaces/(?P<namespace>[^/]+))?/(?P<kind>pods|nodes)(?:/(?P<name>[^/]+))?/?$"
)


class UsageSource(Protocol):
    """Where the numbers come from (the pod runner)."""

    def pod_usage(
        self, namespace: str | None, label_selector: str
    ) -> list[tuple[Obj, dict[str, Usage]]]:
        """(pod, container name -> usage) of the pods that match and have usage for every
        container."""
        ...

    def node_usage(self) -> list[tuple[str, Usage]]:
        """(node name, summed usage) of every node running measured pods."""
        ...


def cpu_quantity(cores: float) -> str:
    """Nanocores, the unit metrics-server reports CPU in.

    >>> cpu_quantity(0.0421)
    '42100000n'
    """
    return f"{max(round(cores * 1e9), 0)}n"


def memory_quantity(size: int) -> str:
    """Kibibytes (rounded up), the unit metrics-server reports memory in.

    >>> memory_quantity(1025)
    '2Ki'
    """
    return f"{-(-size // 1024)}Ki"


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _window(usages: Sequence[Usage]) -> tuple[str, str]:
    """(timestamp, window) of a set of usages: the oldest reading, the shortest window."""
    at = min(u.timestamp for u in usages)
    return _stamp(at), f"{min(u.window_seconds for u in usages):.3f}s"


def _usage(u: Usage) -> Obj:
    return {"cpu": cpu_quantity(u.cpu_cores), "memory": memory_quantity(u.memory_bytes)}


def pod_metrics(pod: Obj, usages: dict[str, Usage]) -> Obj:
    """One PodMetrics object."""
    meta = pod["metadata"]
    timestamp, window = _window(list(usages.values()))
    return {
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "labels": meta.get("labels") or {},
            "creationTimestamp": _stamp(datetime.now(UTC).timestamp()),
        },
        "timestamp": timestamp,
        "window": window,
        "containers": [{"name": name, "usage": _usage(u)} for name, u in usages.items()],
    }


def node_metrics(node: str, usage: Usage) -> Obj:
    """One NodeMetrics object."""
    timestamp, window = _window([usage])
    return {
        "metadata": {"name": node, "creationTimestamp": _stamp(datetime.now(UTC).timestamp())},
        "timestamp": timestamp,
        "window": window,
        "usage": _usage(usage),
    }


def _not_found(kind: str, name: str) -> tuple[int, Obj]:
    message = f'{kind}.metrics.k8s.io "{name}" not found'
    return 404, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": "NotFound", "code": 404,
    }  # fmt: skip


def answer(source: UsageSource, path: str) -> tuple[int, Obj]:
    """(status, body) for a GET of `path` (with its query string)."""
    url = urlsplit(path)
    if url.path.rstrip("/") == "/apis/metrics.k8s.io/v1beta1":
        return 200, RESOURCES
    match = ROUTE.match(url.path)
    if match is None:
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}
    selector = parse_qs(url.query).get("labelSelector", [""])[0]
    namespace, kind, name = match["namespace"], match["kind"], match["name"]
    if kind == "nodes":
        nodes = [node_metrics(n, u) for n, u in source.node_usage() if name in (None, n)]
        if name is not None:
            if not nodes:
                return _not_found("nodemetrics", name)
            return 200, {"kind": "NodeMetrics", "apiVersion": GROUP_VERSION, **nodes[0]}
        return 200, {"kind": "NodeMetricsList", "apiVersion": GROUP_VERSION, "items": nodes}
    pods = [pod_metrics(p, u) for p, u in source.pod_usage(namespace, selector)]
    if name is not None:
        found = [p for p in pods if p["metadata"]["name"] == name]
        if not found:
            return _not_found("podmetrics", name)
        return 200, {"kind": "PodMetrics", "apiVersion": GROUP_VERSION, **found[0]}
    return 200, {"kind": "PodMetricsList", "apiVersion": GROUP_VERSION, "items": pods}


def _client_name(peer: Any) -> str:
    """The common name of a verified peer certificate (``ssl.SSLSocket.getpeercert()``)."""
    for rdn in (peer or {}).get("subject", ()):
        for field, value in rdn:
            if field == "commonName":
                return str(value)
    return ""


def _handler(source: UsageSource, allowed_client: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            client = _client_name(self.connection.getpeercert())
            try:
                if client != allowed_client:
                    status, body = (
                        403,
                        {
                            "kind": "Status",
                            "status": "Failure",
                            "code": 403,
                            "message": f"client {client!r} is not the aggregator",
                        },
                    )
                else:
                    status, body = answer(source, self.path)
            except Exception as err:  # report, never kill the serving thread
                log.exception("GET %s", self.path)
                status, body = 500, {"kind": "Status", "status": "Failure", "message": str(err)}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

    return Handler


def serve(
    source: UsageSource,
    port: int,
    *,
    cert: Path,
    key: Path,
    client_ca: Path,
    allowed_client: str,
    stop: threading.Event,
    host: str = "127.0.0.1",
) -> Callable[[], None]:
    """Serve on `host:port` in a daemon thread until `stop` is set; returns a joiner.

    Clients must present a certificate from `client_ca` whose common name is
    `allowed_client` (the API server's ``--requestheader-allowed-names``)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(client_ca))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(str(cert), str(key))
    server = ThreadingHTTPServer((host, port), _handler(source, allowed_client))
    server.daemon_threads = True
    # The handshake happens on the first read, in the request's thread, not in accept().
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.25,), daemon=True)
    thread.start()

    def shut_down_on_stop() -> None:
        stop.wait()
        server.shutdown()

    threading.Thread(target=shut_down_on_stop, daemon=True).start()
    return thread.join
