"""Turn a pod spec into what a local process needs: environment, argv and volume files.

These are the parts of kubelet the local pod runner imitates; they are pure functions of the
pod and of a `Lookup` for ConfigMaps/Secrets so the runner can feed them from its watch caches.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Obj = dict[str, Any]
_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_FIELD_LABEL = re.compile(r"metadata\.(labels|annotations)\['([^']+)'\]")


class ConfigError(Exception):
    """A referenced ConfigMap/Secret/key is missing (kubelet: CreateContainerConfigError)."""


@dataclass(frozen=True)
class Lookup:
    """Reads ConfigMap and Secret data (already decoded to str) by namespace and name."""

    config_map: Callable[[str, str], Mapping[str, str] | None]
    secret: Callable[[str, str], Mapping[str, str] | None]


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: known names are replaced, `$$` escapes a `$`."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VAR_REF.sub(sub, value)


def field_value(pod: Obj, path: str) -> str:
    """Resolve a downward-API `fieldPath`."""
    meta, spec, status = pod["metadata"], pod["spec"], pod.get("status") or {}
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": status.get("podIP", ""),
        "status.hostIP": status.get("hostIP", ""),
    }
    if path in simple:
        return str(simple[path])
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    if match := _FIELD_LABEL.fullmatch(path):
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    raise ConfigError(f"unsupported fieldPath {path!r}")


def _key_ref(ref: Obj, source: Mapping[str, str] | None, kind: str) -> str | None:
    if source is None or ref["key"] not in source:
        if ref.get("optional"):
            return None
        raise ConfigError(f"{kind} {ref.get('name')!r} key {ref['key']!r} not found")
    return source[ref["key"]]


def container_env(pod: Obj, container: Obj, lookup: Lookup) -> dict[str, str]:
    """The container's environment from `envFrom` and `env`, in kubelet's order."""
    namespace = pod["metadata"]["namespace"]
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        if ref := source.get("configMapRef"):
            data, kind = lookup.config_map(namespace, ref["name"]), "ConfigMap"
        else:
            ref = source["secretRef"]
            data, kind = lookup.secret(namespace, ref["name"]), "Secret"
        if data is None and not ref.get("optional"):
            raise ConfigError(f"{kind} {ref['name']!r} not found")
        env.update({source.get("prefix", "") + k: v for k, v in (data or {}).items()})
    for var in container.get("env") or []:
        if "valueFrom" not in var:
            env[var["name"]] = expand(var.get("value", ""), env)
            continue
        src = var["valueFrom"]
        value: str | None
        if "fieldRef" in src:
            value = field_value(pod, src["fieldRef"]["fieldPath"])
        elif ref := src.get("configMapKeyRef"):
            value = _key_ref(ref, lookup.config_map(namespace, ref["name"]), "ConfigMap")
        elif ref := src.get("secretKeyRef"):
            value = _key_ref(ref, lookup.secret(namespace, ref["name"]), "Secret")
        else:  # resourceFieldRef: no resources to report on a fake node
            value = "0"
        if value is not None:
            env[var["name"]] = value
    return env


def decode_secret(secret: Obj) -> dict[str, str]:
    """Secret `data` (base64) and `stringData` as text."""
    out = {
        k: base64.b64decode(v).decode(errors="replace")
        for k, v in (secret.get("data") or {}).items()
    }
    out.update(secret.get("stringData") or {})
    return out


def _project(data: Mapping[str, str] | None, items: list[Obj] | None, what: str) -> dict[str, str]:
    if data is None:
        raise ConfigError(f"{what} not found")
    if not items:
        return dict(data)
    return {item["path"]: data[item["key"]] for item in items if item["key"] in data}


def volume_files(pod: Obj, volume: Obj, lookup: Lookup, token: Callable[[], str]) -> dict[str, str]:
    """The files (relative path -> content) a volume holds; {} for emptyDir-like volumes."""
    namespace = pod["metadata"]["namespace"]
    if cm := volume.get("configMap"):
        data = lookup.config_map(namespace, cm["name"])
        if data is None and cm.get("optional"):
            return {}
        return _project(data, cm.get("items"), f"ConfigMap {cm['name']!r}")
    if sec := volume.get("secret"):
        name = sec.get("secretName") or sec["name"]  # projected sources say `name`
        data = lookup.secret(namespace, name)
        if data is None and sec.get("optional"):
            return {}
        return _project(data, sec.get("items"), f"Secret {name!r}")
    if dapi := volume.get("downwardAPI"):
        return {
            i["path"]: field_value(pod, i["fieldRef"]["fieldPath"])
            for i in dapi["items"]
            if "fieldRef" in i
        }
    if proj := volume.get("projected"):
        files: dict[str, str] = {}
        for source in proj["sources"]:
            if "serviceAccountToken" in source:
                files[source["serviceAccountToken"]["path"]] = token()
            else:
                files.update(volume_files(pod, source, lookup, token))
        return files
    return {}


def rewrite_paths(value: str, mounts: Mapping[str, Path]) -> str:
    """Replace each in-container mount path in `value` by its local folder, in one pass (a
    replacement is never rewritten again) and only where a path starts, longest mount first.

    >>> mounts = {"/tmp": Path("/state/tmp"), "/var/run/x": Path("/state/x")}
    >>> rewrite_paths("--file=/var/run/x/token --scratch /tmp/a /data/tmp", mounts)
    '--file=/state/x/token --scratch /state/tmp/a /data/tmp'
    """
    local = {m.rstrip("/"): str(path) for m, path in mounts.items() if m.rstrip("/")}
    if not local:
        return value
    paths = "|".join(re.escape(m) for m in sorted(local, key=len, reverse=True))
    pattern = rf"(?<![\w./-])({paths})(?=/|$|[^\w.-])"
    return re.sub(pattern, lambda match: local[match.group(1)], value)
