"""Turn a pydantic model's JSON schema into a Kubernetes *structural* OpenAPI v3 schema.

The API server accepts only structural schemas: every node has a ``type``, no ``$ref``, no
``anyOf`` of types, and free-form maps are marked ``x-kubernetes-preserve-unknown-fields``.
pydantic emits ``$defs``/``$ref`` and ``anyOf [X, null]`` for optional fields, so this module
inlines references, drops the null branch, keeps only scalar defaults (so the API server fills
them and CEL rules can rely on them), and keeps descriptions for ``kubectl explain``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

JsonDict = dict[str, Any]

_KEEP = {
    "type",
    "description",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "maxProperties",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
}


def structural_schema(model: type[BaseModel]) -> JsonDict:
    """The structural schema of ``model`` with camelCase (alias) property names."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    return _convert(raw, defs)


def _resolve(node: JsonDict, defs: JsonDict) -> JsonDict:
    while "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        extra = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **extra}
    return node


def _non_null_branch(node: JsonDict) -> JsonDict:
    """``anyOf [X, {type: null}]`` → X, keeping the outer description and default."""
    branches = [b for b in node["anyOf"] if b.get("type") != "null"]
    if len(branches) != 1:
        raise ValueError(f"cannot express a union of {len(branches)} types structurally")
    outer = {k: v for k, v in node.items() if k != "anyOf"}
    return {**branches[0], **outer}


def _convert(node: JsonDict, defs: JsonDict) -> JsonDict:
    node = _resolve(node, defs)
    if "anyOf" in node:
        return _convert(_non_null_branch(node), defs)
    if "const" in node:
        node = {**node, "enum": [node["const"]]}
    if "enum" in node and "type" not in node:
        node = {**node, "type": "string"}
    if not node.get("type") and "properties" not in node:
        return {"x-kubernetes-preserve-unknown-fields": True, **_kept(node)}

    out = _kept(node)
    default = node.get("default")
    if isinstance(default, str | int | float | bool) and default is not None:
        out["default"] = default
    kind = node.get("type", "object")
    out["type"] = kind
    if kind == "object":
        _convert_object(node, out, defs)
    elif kind == "array":
        out["items"] = _convert(node.get("items", {}), defs)
    return out


def _convert_object(node: JsonDict, out: JsonDict, defs: JsonDict) -> None:
    properties = node.get("properties")
    additional = node.get("additionalProperties")
    if properties is not None:
        out["properties"] = {name: _convert(sub, defs) for name, sub in properties.items()}
        if node.get("required"):
            out["required"] = list(node["required"])
    elif isinstance(additional, dict) and additional:
        out["additionalProperties"] = _convert(additional, defs)
    else:
        out["x-kubernetes-preserve-unknown-fields"] = True


def _kept(node: JsonDict) -> JsonDict:
    out = {k: v for k, v in node.items() if k in _KEEP}
    # JSON Schema 2020 writes exclusive bounds as numbers; OpenAPI v3.0 as booleans.
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[plain] = out[bound]
            out[bound] = True
    return out
