"""Admission decisions for ModelVersions: who approved, and one Production version per model.

An approval is evidence only if nobody can forge or rewrite it. The webhook therefore:

* stamps every *new* approval with the authenticated user, their groups and the server time,
  overwriting whatever the submitter wrote in ``by``, ``groups`` and ``at``;
* treats recorded approvals as append-only: editing or removing ``spec.approvals[i]`` is
  refused (an approver withdraws a decision by appending a new one); re-applying the same
  decision without its stamps (a manifest kept in git, synced again) restores the recorded
  stamps instead, so a GitOps sync is not refused as an edit;
* refuses an approval in a role the user's groups may not hold
  (``GovernanceConfig.role_groups``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelwarden.api.modelversion import Approval, ModelVersionSpec, Stage
from modelwarden.decide.gates import GovernanceConfig
from modelwarden.decide.stamps import iso


@dataclass(frozen=True)
class AdmissionDecision:
    """The webhook's answer; ``patched_approvals`` is the full stamped list when allowed."""

    allowed: bool
    message: str = ""
    patched_approvals: tuple[Approval, ...] = field(default_factory=tuple)
    stamped: tuple[int, ...] = field(default_factory=tuple)
    """Indices of the approvals that were new, and so stamped."""
    restored: tuple[int, ...] = field(default_factory=tuple)
    """Indices of recorded approvals re-sent without their stamps, given them back."""

    def json_patch(self) -> list[dict[str, Any]]:
        """RFC 6902 operations for a mutating webhook: replace each stamped or restored
        approval."""
        return [
            {
                "op": "replace",
                "path": f"/spec/approvals/{i}",
                "value": self.patched_approvals[i].model_dump(by_alias=True, exclude_none=True),
            }
            for i in sorted((*self.restored, *self.stamped))
        ]


def review_approvals(
    old: ModelVersionSpec | None,
    new: ModelVersionSpec,
    *,
    user: str,
    groups: Sequence[str],
    now: datetime,
    config: GovernanceConfig,
) -> AdmissionDecision:
    """Allow or refuse a create (``old`` None) or update, stamping the new approvals.

    >>> from datetime import UTC, datetime
    >>> spec = ModelVersionSpec.model_construct(approvals=[
    ...     Approval(role="peer", decision="approve", by="mallory")])
    >>> when = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    >>> review = review_approvals(None, spec, user="bob", groups=["modelwarden:ml-engineers"],
    ...                           now=when, config=GovernanceConfig())
    >>> review.patched_approvals[0].by, review.patched_approvals[0].at
    ('bob', '2026-11-23T12:00:00Z')
    """
    recorded = old.approvals if old is not None else []
    restored = []
    for i, before in enumerate(recorded):
        if i >= len(new.approvals):
            return AdmissionDecision(
                allowed=False,
                message=f"spec.approvals[{i}] was removed: recorded approvals are append-only",
            )
        if _same_decision_unstamped(new.approvals[i], before):
            restored.append(i)
        elif new.approvals[i] != before:
            return AdmissionDecision(
                allowed=False,
                message=f"spec.approvals[{i}] was edited: recorded approvals are append-only;"
                " append a new decision instead",
            )
    fresh = range(len(recorded), len(new.approvals))
    for i in fresh:
        role = new.approvals[i].role
        allowed_groups = config.role_groups.get(role)
        if allowed_groups is None:
            known = ", ".join(sorted(config.role_groups))
            return AdmissionDecision(
                allowed=False,
                message=f"spec.approvals[{i}]: unknown approval role {role!r} (known: {known})",
            )
        if not set(groups) & set(allowed_groups):
            return AdmissionDecision(
                allowed=False,
                message=f"spec.approvals[{i}]: user {user!r} may not approve as {role!r};"
                f" the role needs membership of one of: {', '.join(allowed_groups)}",
            )
    stamp = {"by": user, "groups": list(groups), "at": iso(now)}
    patched = [
        a.model_copy(update=stamp) if i in fresh else recorded[i] if i in restored else a
        for i, a in enumerate(new.approvals)
    ]
    return AdmissionDecision(
        allowed=True,
        message=f"stamped {len(fresh)} new approval(s) by {user}" if fresh else "",
        patched_approvals=tuple(patched),
        stamped=tuple(fresh),
        restored=tuple(restored),
    )


def _same_decision_unstamped(sent: Approval, recorded: Approval) -> bool:
    """``sent`` is ``recorded`` as its manifest says it (role, decision, comment) with none of
    the stamps: the same decision applied again, not an edit."""
    unstamped = sent.by is None and sent.groups is None and sent.at is None
    same = (sent.role, sent.decision, sent.comment) == (
        recorded.role,
        recorded.decision,
        recorded.comment,
    )
    return unstamped and same and sent != recorded


def check_single_production(
    candidate: str, model: str, stage: Stage, others: Sequence[tuple[str, Stage]]
) -> str | None:
    """Why ``candidate`` may not enter ``stage``, or None: one Production version per model.

    ``others`` are the other versions of ``model`` (or of the slot) as (name, stage). A
    Degraded version does not count, so its replacement can be promoted; archive the old
    Production version first, then promote the new one.

    >>> check_single_production("fraud-3-2-1", "fraud", "Production",
    ...                         [("fraud-3-2-0", "Production")])
    'fraud-3-2-1 cannot enter Production: fraud-3-2-0 of model fraud is already in Production; \
archive it first'
    """
    if stage != "Production":
        return None
    holders = sorted(name for name, st in others if st == "Production" and name != candidate)
    if not holders:
        return None
    return (
        f"{candidate} cannot enter Production: {', '.join(holders)} of model {model} is already"
        " in Production; archive it first"
    )
