"""The generated CRDs are current, structural and carry the promised API surface."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from modelwarden.api.crds import KINDS, build_crd, render_crds

CRD_DIR = Path(__file__).resolve().parents[3] / "crds"


def test_crds_folder_matches_the_models():
    rendered = render_crds()
    assert sorted(p.name for p in CRD_DIR.glob("*.yaml")) == sorted(rendered)
    for name, text in rendered.items():
        assert (CRD_DIR / name).read_text() == text, f"{name} is stale: run `make crds`"


def _walk(node: Any, path: str = "") -> list[str]:
    """Paths of schema nodes that would make the schema non-structural."""
    bad = []
    if isinstance(node, dict):
        if "$ref" in node or "anyOf" in node or "oneOf" in node or "allOf" in node:
            bad.append(path)
        has_children = "properties" in node or "items" in node
        if has_children and node.get("type") not in ("object", "array"):
            bad.append(path)
        for key, sub in node.get("properties", {}).items():
            bad += _walk(sub, f"{path}.{key}")
        if "items" in node:
            bad += _walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            bad += _walk(node["additionalProperties"], f"{path}{{}}")
        if "type" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            bad.append(path)
    return bad


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_schema_is_structural(kind):
    schema = build_crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert _walk(schema) == []


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_names_columns_and_subresources(kind):
    crd = yaml.safe_load((CRD_DIR / kind.filename).read_text())
    names = crd["spec"]["names"]
    version = crd["spec"]["versions"][0]
    assert names["shortNames"] == [kind.short]
    assert names["categories"] == ["modelwarden"]
    assert "status" in version["subresources"]
    assert {c["name"] for c in version["additionalPrinterColumns"]} >= {"Age"}


def test_modeldeployment_has_the_scale_subresource():
    crd = yaml.safe_load((CRD_DIR / "modeldeployments.yaml").read_text())
    assert crd["spec"]["versions"][0]["subresources"]["scale"] == {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
        "labelSelectorPath": ".status.selector",
    }


def _rules(node: Any) -> list[dict[str, str]]:
    found = []
    if isinstance(node, dict):
        found += node.get("x-kubernetes-validations", [])
        for value in node.values():
            found += _rules(value)
    elif isinstance(node, list):
        for value in node:
            found += _rules(value)
    return found


def test_cross_field_rules_are_cel_with_messages():
    rules = [r for kind in KINDS for r in _rules(build_crd(kind))]
    assert len(rules) >= 15
    assert all(r["message"] and r["rule"] for r in rules)
    messages = " ".join(r["message"] for r in rules)
    assert "non-decreasing" in messages
    assert "warning must be less than or equal to critical" in messages
