"""A list+watch mirror of one resource kind, the runner's informer.

The runner reads ConfigMaps, Secrets and Pods on every pass; mirroring them through one
watch each keeps that off the API server and wakes the runner as soon as anything changes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import watch

Obj = dict[str, Any]
log = logging.getLogger("localcluster.cache")


def _key(obj: Obj) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


class Cache:
    """A list+watch mirror of one resource kind, keyed by (namespace, name)."""

    def __init__(self, list_fn: Callable[..., Any], wake: threading.Event) -> None:
        self._list_fn = list_fn
        self._wake = wake
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], Obj] = {}

    def get(self, namespace: str, name: str) -> Obj | None:
        with self._lock:
            return self._items.get((namespace, name))

    def values(self) -> list[Obj]:
        with self._lock:
            return list(self._items.values())

    def run(self, stop: threading.Event) -> None:
        """Relist, then watch until the server ends the watch; repeat until `stop`."""
        while not stop.is_set():
            try:
                body = json.loads(self._list_fn(_preload_content=False).data)
                with self._lock:
                    self._items = {_key(o): o for o in body["items"]}
                self._wake.set()
                watcher: Any = watch.Watch  # untyped in the client library
                stream = watcher().stream(
                    self._list_fn,
                    resource_version=body["metadata"]["resourceVersion"],
                    timeout_seconds=30,
                )
                for event in stream:
                    obj = event["raw_object"]
                    if event["type"] == "ERROR":
                        break
                    with self._lock:
                        if event["type"] == "DELETED":
                            self._items.pop(_key(obj), None)
                        else:
                            self._items[_key(obj)] = obj
                    self._wake.set()
            except Exception:  # the API server restarting or a dropped connection
                log.exception("watch failed; relisting")
                stop.wait(1)
