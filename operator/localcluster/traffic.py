"""A client-side stand-in for kube-proxy.

The API server rejects loopback addresses in Endpoints/EndpointSlices, so a Service of the
local cluster has no endpoints; this client resolves the Service itself (selector -> Ready
pods -> pod IP and targetPort) and spreads HTTP requests over the pods round robin.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from kubernetes import client


@dataclass(frozen=True)
class Response:
    """What a request returned, and which pod answered it."""

    status: int
    body: bytes
    pod: str


Obj = dict[str, Any]


def _get(api: client.CoreV1Api, fn: str, *args: str, **kwargs: str) -> Obj:
    """Call a CoreV1Api read/list method and return the raw JSON object."""
    data: Obj = json.loads(getattr(api, fn)(*args, **kwargs, _preload_content=False).data)
    return data


def _target_port(port: int | str, pod: Obj) -> int | None:
    if isinstance(port, int):
        return port
    for container in pod["spec"]["containers"]:
        for p in container.get("ports") or []:
            if p.get("name") == port:
                return int(p["containerPort"])
    return None


def _ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    if "deletionTimestamp" in pod["metadata"] or not status.get("podIP"):
        return False
    conditions = status.get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


class ServiceClient:
    """HTTP to a Service's Ready pods, round robin, re-resolved every `refresh` seconds."""

    def __init__(
        self,
        api: client.CoreV1Api,
        namespace: str,
        name: str,
        port: int | str | None = None,
        refresh: float = 1.0,
    ) -> None:
        self.api, self.namespace, self.name, self.port = api, namespace, name, port
        self.refresh = refresh
        self._lock = threading.Lock()
        self._targets: list[tuple[str, str, int]] = []
        self._cycle: itertools.cycle[tuple[str, str, int]] = itertools.cycle([])
        self._resolved_at = float("-inf")

    def endpoints(self) -> list[tuple[str, str, int]]:
        """(pod name, pod IP, port) of every Ready pod behind the Service, resolved now."""
        service = _get(self.api, "read_namespaced_service", self.name, self.namespace)
        ports = service["spec"].get("ports") or []
        chosen = next((p for p in ports if self.port in (None, p["port"], p.get("name"))), None)
        if chosen is None:
            raise LookupError(f"service {self.namespace}/{self.name} has no port {self.port!r}")
        target: int | str = chosen.get("targetPort", chosen["port"])
        selector = ",".join(f"{k}={v}" for k, v in (service["spec"].get("selector") or {}).items())
        pods = _get(self.api, "list_namespaced_pod", self.namespace, label_selector=selector)
        found = []
        for pod in sorted(pods["items"], key=lambda p: str(p["metadata"]["name"])):
            port = _target_port(target, pod)
            if _ready(pod) and port is not None:
                found.append((str(pod["metadata"]["name"]), str(pod["status"]["podIP"]), port))
        return found

    def _next(self) -> tuple[str, str, int]:
        with self._lock:
            if time.monotonic() - self._resolved_at > self.refresh:
                targets = self.endpoints()
                if targets != self._targets:
                    self._targets, self._cycle = targets, itertools.cycle(targets)
                self._resolved_at = time.monotonic()
            if not self._targets:
                raise ConnectionError(f"service {self.namespace}/{self.name} has no Ready pods")
            return next(self._cycle)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> Response:
        """Send one HTTP request to the next pod."""
        pod, ip, port = self._next()
        conn = http.client.HTTPConnection(ip, port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Response(response.status, response.read(), pod)
        finally:
            conn.close()

    def get(self, path: str, timeout: float = 10.0) -> Response:
        return self.request("GET", path, timeout=timeout)

    def post_json(self, path: str, payload: bytes, timeout: float = 10.0) -> Response:
        headers = {"Content-Type": "application/json"}
        return self.request("POST", path, body=payload, headers=headers, timeout=timeout)
