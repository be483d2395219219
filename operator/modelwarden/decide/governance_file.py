"""The operator's governance policy file (``modelwarden run --governance-config``).

Platform teams map approval roles to their own identity-provider groups and tune the tier
table without a new release. Every key is optional: what the file leaves out keeps the
documented default of :class:`~modelwarden.decide.gates.GovernanceConfig`. A file that would
leave a required role with nobody allowed to hold it is refused, naming the role, because
such a policy would block every promotion of that tier silently.

>>> config = parse_governance({"roleGroups": {"ml-lead": ["okta:ml-leads"]}})
>>> config.role_groups["ml-lead"], config.role_groups["compliance"]
(('okta:ml-leads',), ('modelwarden:compliance',))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationError

from modelwarden.api.base import ApiModel
from modelwarden.api.manifest import ManifestError, describe
from modelwarden.api.modeldeployment import Guardrail
from modelwarden.decide.gates import GovernanceConfig

Tier = Annotated[int, Field(ge=1, le=4)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=253)]


class GovernanceFile(ApiModel):
    """The file's shape: camelCase keys, unknown keys refused."""

    approvals_by_tier: dict[Tier, list[Name]] | None = None
    """Roles whose approval a version of each risk tier (1–4) needs."""
    satisfied_by: dict[Name, list[Name]] | None = None
    """Required role → approval roles that count for it (say, a lead acting as a peer)."""
    role_groups: dict[Name, list[Name]] | None = None
    """Approval role → groups whose members may approve as that role (merged over defaults)."""
    thresholds_by_tier: dict[Tier, list[Guardrail]] | None = None
    """Offline-metric bounds per risk tier."""
    lineage_required_tiers: list[Tier] | None = None
    """Tiers whose versions need complete lineage to pass Validated."""
    require_stamped_approvals: bool | None = None
    """Count only approvals the admission webhook stamped with the approver's identity."""


def parse_governance(document: Mapping[str, Any]) -> GovernanceConfig:
    """The policy ``document`` describes, over the defaults; :class:`ManifestError` (one
    ``field: rule`` line per problem) when it is malformed or leaves a role unassignable."""
    try:
        file = GovernanceFile.model_validate(document)
    except ValidationError as err:
        raise ManifestError("governance config", describe(err)) from err
    default = GovernanceConfig()
    config = GovernanceConfig(
        approvals_by_tier=_tuples(file.approvals_by_tier, default.approvals_by_tier),
        satisfied_by=_tuples(file.satisfied_by, default.satisfied_by),
        role_groups={**default.role_groups, **_tuples(file.role_groups, {})},
        thresholds_by_tier=(
            {t: tuple(g) for t, g in file.thresholds_by_tier.items()}
            if file.thresholds_by_tier is not None
            else default.thresholds_by_tier
        ),
        lineage_required_tiers=(
            frozenset(file.lineage_required_tiers)
            if file.lineage_required_tiers is not None
            else default.lineage_required_tiers
        ),
        require_stamped_approvals=(
            file.require_stamped_approvals
            if file.require_stamped_approvals is not None
            else default.require_stamped_approvals
        ),
    )
    problems = [
        f"approvalsByTier[{tier}]: role {role!r} has no roleGroups entry, so nobody could "
        "approve it"
        for tier, roles in sorted(config.approvals_by_tier.items())
        for role in roles
        if not any(config.role_groups.get(r) for r in config.satisfied_by.get(role, (role,)))
    ]
    if problems:
        raise ManifestError("governance config", problems)
    return config


def _tuples(
    given: Mapping[Any, list[str]] | None, default: Mapping[Any, tuple[str, ...]]
) -> dict[Any, tuple[str, ...]]:
    if given is None:
        return dict(default)
    return {key: tuple(values) for key, values in given.items()}
