"""Kubernetes Events for what the operator did, posted directly (not through kopf's queue,
which only exists inside kopf handlers; the alert webhook posts Events too)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from modelwarden.decide.stamps import iso
from modelwarden.k8s.kube import Kube

Obj = dict[str, Any]
COMPONENT = "modelwarden"


def event_body(obj: Obj, *, type_: str, reason: str, message: str, now: datetime) -> Obj:
    """A core/v1 Event about ``obj`` (``kubectl describe`` and ``kubectl events`` show it)."""
    meta = obj["metadata"]
    stamp = iso(now)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.{uuid.uuid4().hex[:12]}",
            "namespace": meta["namespace"],
        },
        "involvedObject": {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "type": type_,
        "reason": reason,
        "message": message[:1024],
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


async def post_event(
    kube: Kube, obj: Obj, *, type_: str, reason: str, message: str, now: datetime
) -> None:
    await kube.create(event_body(obj, type_=type_, reason=reason, message=message, now=now))
