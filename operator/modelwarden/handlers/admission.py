"""The ModelVersion admission webhook: who approved, who asked, one Production per model.

The mutating hook stamps new approvals (``decide.approvals.review_approvals``) and a new
``spec.stageRequest`` with the authenticated user from the admission request, overwriting
whatever the submitter wrote, and refuses edits of recorded approvals and roles the user may
not hold. The validating hook checks the result again (another mutating webhook could run
after ours) and refuses a request for Production while another version of the model is
there. Registered by kopf itself (``settings.admission.managed``) when ``--webhook-port`` is
set; the operator's status writes go to the status subresource and are not intercepted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import kopf
from pydantic import ValidationError

from modelwarden.api.base import GROUP, VERSION
from modelwarden.api.modelversion import ModelVersionSpec, StageRequest
from modelwarden.decide.approvals import check_single_production, review_approvals
from modelwarden.decide.gates import GovernanceConfig

PLURAL = "modelversions"
OPERATIONS: list[Literal["CREATE", "UPDATE"]] = ["CREATE", "UPDATE"]


def _identity(userinfo: dict[str, Any] | None) -> tuple[str, list[str]]:
    info = userinfo or {}
    return str(info.get("username", "")), [str(g) for g in info.get("groups") or []]


def _specs(
    body: dict[str, Any], old: Any
) -> tuple[ModelVersionSpec, ModelVersionSpec | None] | None:
    """Both specs, or None for a body the CRD schema will refuse anyway (its message is better)."""
    try:
        new_spec = ModelVersionSpec.model_validate(body.get("spec") or {})
        old_spec = ModelVersionSpec.model_validate(old["spec"]) if old else None
    except ValidationError:
        return None
    return new_spec, old_spec


def stamp_request(
    new: StageRequest | None, old: StageRequest | None, user: str, now: datetime
) -> StageRequest | None:
    """The request to store: a changed request is stamped with the user and the time (to the
    microsecond, so that asking again is a new request); an unchanged one is kept."""
    if new is None or new == old:
        return None
    at = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return new.model_copy(update={"by": user, "at": at})


@kopf.on.mutate(GROUP, VERSION, PLURAL, id="stamp-identity", operations=OPERATIONS)
def stamp(*, body: kopf.Body, patch: kopf.Patch, memo: Any, **kwargs: Any) -> None:
    specs = _specs(dict(body), kwargs.get("old"))
    if specs is None:
        return
    new_spec, old_spec = specs
    user, groups = _identity(kwargs.get("userinfo"))
    config: GovernanceConfig = memo.governance
    now = datetime.now(UTC)
    review = review_approvals(old_spec, new_spec, user=user, groups=groups, now=now, config=config)
    if not review.allowed:
        raise kopf.AdmissionError(review.message, code=403)
    if review.stamped:
        patch.spec["approvals"] = [
            a.model_dump(by_alias=True, exclude_none=True, mode="json")
            for a in review.patched_approvals
        ]
    request = stamp_request(
        new_spec.stage_request, old_spec.stage_request if old_spec else None, user, now
    )
    if request is not None:
        patch.spec["stageRequest"] = request.model_dump(by_alias=True, exclude_none=True)


@kopf.on.validate(GROUP, VERSION, PLURAL, id="check-governance", operations=OPERATIONS)
async def check(*, body: kopf.Body, memo: Any, **kwargs: Any) -> None:
    specs = _specs(dict(body), kwargs.get("old"))
    if specs is None:
        return
    new_spec, old_spec = specs
    user, _groups = _identity(kwargs.get("userinfo"))
    recorded = len(old_spec.approvals) if old_spec else 0
    if recorded > len(new_spec.approvals) or (
        old_spec and new_spec.approvals[:recorded] != old_spec.approvals
    ):
        raise kopf.AdmissionError("recorded approvals are append-only", code=403)
    for i, approval in enumerate(new_spec.approvals[recorded:], start=recorded):
        if approval.by != user:
            raise kopf.AdmissionError(f"spec.approvals[{i}] is not stamped for {user!r}", code=403)
    request = new_spec.stage_request
    if request is None or request == (old_spec.stage_request if old_spec else None):
        return
    namespace, name = body.metadata.namespace or "", body.metadata.name or ""
    siblings = await memo.ctx.kube.list("ModelVersion", namespace)
    others = [
        (v["metadata"]["name"], (v.get("status") or {}).get("stage", "Registered"))
        for v in siblings
        if v["spec"].get("model") == new_spec.model
    ]
    refusal = check_single_production(name, new_spec.model, request.stage, others)
    if refusal is not None:
        raise kopf.AdmissionError(refusal, code=409)
