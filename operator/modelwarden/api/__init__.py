"""Typed models of the three custom resources; the single source of truth for the CRDs."""

from modelwarden.api.base import API_VERSION, GROUP, VERSION, parse_duration
from modelwarden.api.driftpolicy import DriftPolicy, DriftPolicySpec, DriftPolicyStatus
from modelwarden.api.manifest import ManifestError, parse_manifest
from modelwarden.api.modeldeployment import (
    ModelDeployment,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
)
from modelwarden.api.modelversion import ModelVersion, ModelVersionSpec, ModelVersionStatus

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "DriftPolicy",
    "DriftPolicySpec",
    "DriftPolicyStatus",
    "ManifestError",
    "ModelDeployment",
    "ModelDeploymentSpec",
    "ModelDeploymentStatus",
    "ModelVersion",
    "ModelVersionSpec",
    "ModelVersionStatus",
    "parse_duration",
    "parse_manifest",
]
