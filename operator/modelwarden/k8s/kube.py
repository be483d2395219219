"""A small typed door to the Kubernetes API for the operator: get, list, apply, patch, create.

kubernetes_asyncio's generated clients cover each kind with its own class and lack server-side
apply; the operator touches a dozen kinds and wants apply everywhere, so it speaks REST through
one ApiClient (authentication, TLS and retries stay the library's) with paths from a table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

Obj = dict[str, Any]
FIELD_MANAGER = "modelwarden"

# kind → (group/version, plural); only the kinds the operator manages or reads.
KINDS: dict[str, tuple[str, str]] = {
    "Pod": ("v1", "pods"),
    "Service": ("v1", "services"),
    "ConfigMap": ("v1", "configmaps"),
    "Secret": ("v1", "secrets"),
    "Event": ("v1", "events"),
    "Deployment": ("apps/v1", "deployments"),
    "HorizontalPodAutoscaler": ("autoscaling/v2", "horizontalpodautoscalers"),
    "Job": ("batch/v1", "jobs"),
    "ModelVersion": ("modelwarden.io/v1alpha1", "modelversions"),
    "ModelDeployment": ("modelwarden.io/v1alpha1", "modeldeployments"),
    "DriftPolicy": ("modelwarden.io/v1alpha1", "driftpolicies"),
    "HTTPRoute": ("gateway.networking.k8s.io/v1", "httproutes"),
    "VirtualService": ("networking.istio.io/v1", "virtualservices"),
}


class NotFound(LookupError):
    """The object does not exist."""


class ApiError(RuntimeError):
    """The API server refused a request (validation, permissions, …); the message says why."""


class Conflict(RuntimeError):
    """The object changed under us (resourceVersion mismatch); re-read and decide again."""


def path(kind: str, namespace: str, name: str = "", subresource: str = "") -> str:
    """REST path of a namespaced object or collection.

    >>> path("Deployment", "ml", "fraud-v2", "scale")
    '/apis/apps/v1/namespaces/ml/deployments/fraud-v2/scale'
    >>> path("Pod", "ml")
    '/api/v1/namespaces/ml/pods'
    """
    group_version, plural = KINDS[kind]
    root = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    url = f"{root}/namespaces/{namespace}/{plural}"
    for part in (name, subresource):
        if part:
            url += f"/{part}"
    return url


@dataclass
class Kube:
    """The operator's API access; one per process, sharing one connection pool."""

    api: client.ApiClient

    @classmethod
    async def connect(cls) -> Kube:
        """In-cluster credentials when running in a pod, else the kubeconfig (KUBECONFIG)."""
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
        except config.ConfigException:
            await config.load_kube_config()
        return cls(client.ApiClient())

    async def close(self) -> None:
        await self.api.close()

    async def _call(
        self,
        method: str,
        url: str,
        body: Any = None,
        content_type: str = "application/json",
        query: list[tuple[str, str]] | None = None,
    ) -> Obj:
        try:
            response = await self.api.call_api(
                url,
                method,
                query_params=query or [],
                header_params={"Content-Type": content_type, "Accept": "application/json"},
                body=body,
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _preload_content=False,
            )
        except ApiException as exc:
            status, reason = exc.status, str(exc.reason)
        else:
            # Without preloading, the client hands back error responses instead of raising.
            status, body = response.status, await response.read()
            if 200 <= status < 300:
                return cast(Obj, json.loads(body))
            reason = body.decode(errors="replace")
        if status == 404:
            raise NotFound(url)
        if status == 409:
            raise Conflict(f"{url}: {reason}")
        raise ApiError(f"{method} {url}: HTTP {status}: {reason}")

    async def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        try:
            return await self._call("GET", path(kind, namespace, name))
        except NotFound:
            return None

    async def list(self, kind: str, namespace: str, selector: str = "") -> list[Obj]:
        query = [("labelSelector", selector)] if selector else []
        items = (await self._call("GET", path(kind, namespace), query=query))["items"]
        return cast(list[Obj], items)

    async def apply(self, obj: Obj, subresource: str = "") -> Obj:
        """Server-side apply as the ``modelwarden`` field manager (idempotent, conflict-free
        with other managers such as an HPA owning replicas elsewhere)."""
        meta = obj["metadata"]
        url = path(obj["kind"], meta["namespace"], meta["name"], subresource)
        query = [("fieldManager", FIELD_MANAGER), ("force", "true")]
        return await self._call("PATCH", url, obj, "application/apply-patch+yaml", query)

    async def patch_status(
        self, kind: str, namespace: str, name: str, status: Obj, resource_version: str = ""
    ) -> Obj:
        """One merge patch of the status subresource; with ``resource_version`` it fails with
        :class:`Conflict` if someone else wrote the object since it was read."""
        body: Obj = {"status": status}
        if resource_version:
            body["metadata"] = {"resourceVersion": resource_version}
        url = path(kind, namespace, name, "status")
        return await self._call("PATCH", url, body, "application/merge-patch+json")

    async def patch(self, kind: str, namespace: str, name: str, patch: Obj) -> Obj:
        url = path(kind, namespace, name)
        return await self._call("PATCH", url, patch, "application/merge-patch+json")

    async def create(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        return await self._call("POST", path(obj["kind"], meta["namespace"]), obj)

    async def delete(self, kind: str, namespace: str, name: str) -> None:
        try:
            await self._call("DELETE", path(kind, namespace, name))
        except NotFound:
            return
