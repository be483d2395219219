"""The typed models accept every sample and reject every invalid manifest, naming the field."""

from __future__ import annotations

import pytest
import yaml

from cases.invalid_manifests import INVALID_CASES, InvalidCase, sample_files
from modelwarden.api import ManifestError, parse_manifest


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.stem)
def test_every_sample_validates(path):
    doc = yaml.safe_load(path.read_text())
    resource = parse_manifest(doc)
    assert resource.kind == doc["kind"]
    assert resource.metadata["name"] == doc["metadata"]["name"]


def test_the_table_has_at_least_twenty_rules():
    assert len(INVALID_CASES) >= 20
    assert len({case.id for case in INVALID_CASES}) == len(INVALID_CASES)


@pytest.mark.parametrize("case", INVALID_CASES, ids=lambda c: c.id)
def test_invalid_manifest_is_rejected_naming_the_field(case: InvalidCase):
    with pytest.raises(ManifestError) as caught:
        parse_manifest(case.manifest)
    problems = caught.value.problems
    assert any(line.startswith(f"{case.field}:") for line in problems), problems


def test_unknown_kind_is_rejected():
    with pytest.raises(ManifestError, match="kind: must be one of"):
        parse_manifest({"kind": "ModelZoo", "metadata": {"name": "x"}})


def test_unknown_field_is_rejected_with_its_path():
    doc = yaml.safe_load(sample_files()[0].read_text())
    doc["spec"]["replicaz"] = 3
    with pytest.raises(ManifestError, match=r"spec\.replicaz: Extra inputs are not permitted"):
        parse_manifest(doc)


def test_defaults_fill_a_minimal_deployment():
    resource = parse_manifest(
        {
            "apiVersion": "modelwarden.io/v1alpha1",
            "kind": "ModelDeployment",
            "metadata": {"name": "m"},
            "spec": {"model": "m", "version": "m-1-0-0"},
        }
    )
    spec = resource.spec
    assert spec.strategy.type == "Canary"
    assert spec.analysis.min_samples == 100
    assert spec.rollback.standby_versions == 3
    assert spec.halt is False
