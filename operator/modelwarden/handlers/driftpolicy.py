"""DriftPolicy handler: pull the sidecars' windows, judge them, record, then act.

kopf timers run at a fixed interval, the policy's ``interval`` is per object: a short timer
asks :func:`~modelwarden.decide.drift_policy.due` and evaluates only when it is time.
The status is patched *before* the actions run, guarded by resourceVersion, so an action is
recorded in ``actionsTaken`` (or ``lastRetrain``) before it happens: a crash between the two
loses that action rather than running it twice — the safer way round for rollbacks and Jobs.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import kopf

from modelwarden.api.base import GROUP, VERSION
from modelwarden.api.driftpolicy import CanaryVerdict, DriftPolicySpec, DriftPolicyStatus
from modelwarden.decide.drift_policy import Evaluation, decide_policy, due, judge_window
from modelwarden.decide.drift_specs import PolicyChecks, build_checks
from modelwarden.decide.retrain_job import PolicyRef, job_name
from modelwarden.decide.stamps import iso
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.report import evaluate
from modelwarden.drift.stats.base import CheckResult
from modelwarden.drift.summary import WindowSummary
from modelwarden.evaluator.report import MergedReport
from modelwarden.handlers.context import OperatorContext
from modelwarden.handlers.drift_actions import Actor
from modelwarden.k8s import drift_io
from modelwarden.k8s.events import post_event
from modelwarden.k8s.kube import Conflict

log = logging.getLogger(__name__)
PLURAL = "driftpolicies"
TICK_SECONDS = 1.0
"""How often each policy asks whether its own ``interval`` has passed."""


def judge(
    profile: ReferenceProfile, checks: PolicyChecks, report: MergedReport | None
) -> tuple[list[CheckResult] | None, int, str]:
    """Results over the decisive window (last closed, else current), its rows and its span."""
    window = report.decisive() if report else None
    summary = window.window_summary() if window else None
    if window is None or summary is None:
        return None, 0, ""
    labelled = window.labelled_window_summary() or WindowSummary.empty(profile)
    results = evaluate(profile, summary, checks.traffic)
    results += evaluate(profile, labelled, checks.labelled)
    start, end = (iso(datetime.fromtimestamp(t, UTC)) for t in (window.start, window.end))
    span = f"{start}–{end}"
    return results, summary.n_rows, span


async def _fail(ctx: OperatorContext, body: dict[str, Any], message: str, now: datetime) -> None:
    """Say once (status message + Event) why the policy cannot evaluate."""
    meta = body["metadata"]
    if (body.get("status") or {}).get("message") == message:
        return
    status = {"verdict": "InsufficientData", "message": message, "lastEvaluation": ""}
    await ctx.kube.patch_status("DriftPolicy", meta["namespace"], meta["name"], status)
    await post_event(ctx.kube, body, type_="Warning", reason="CannotEvaluate", message=message,
                     now=now)  # fmt: skip


async def evaluate_policy(ctx: OperatorContext, namespace: str, name: str) -> None:
    body = await ctx.kube.get("DriftPolicy", namespace, name)
    if body is None or body["metadata"].get("deletionTimestamp"):
        return
    spec = DriftPolicySpec.model_validate(body["spec"])
    status = DriftPolicyStatus.model_validate(body.get("status") or {})
    now = datetime.now(UTC)
    if not due(status, spec.interval, now):
        return
    started = time.monotonic()
    target = await drift_io.target(ctx.kube, namespace, spec.deployment)
    if target is None:
        await _fail(ctx, body, f"ModelDeployment {spec.deployment} not found", now)
        return
    try:
        profile = await drift_io.load_profile(ctx.kube, namespace, spec.reference.config_map_ref)
    except drift_io.ProfileError as exc:
        await _fail(ctx, body, str(exc), now)
        return
    prediction = profile.outcome.prediction if profile.outcome else None
    checks = build_checks(spec, target.risk_tier, prediction)
    versions = [v for v in (target.stable, target.canary) if v]
    reports = await drift_io.reports(ctx.kube, ctx.http, namespace, spec.deployment, versions)
    results, samples, window = judge(profile, checks, reports[0])
    canary = None
    if target.canary:
        canary_results, canary_samples, _ = judge(profile, checks, reports[1])
        verdict, why = judge_window(canary_results, canary_samples, spec.window.min_samples)
        canary = CanaryVerdict(
            version=target.canary, verdict=verdict, samples=canary_samples, message=why
        )
    evaluation = Evaluation(
        now, results, samples, window, target.stable, target.created, canary=canary
    )
    plan = decide_policy(spec, status, evaluation)
    meta = body["metadata"]
    policy = PolicyRef(name, namespace, meta["uid"], spec.deployment)
    plan.status.observed_generation = meta.get("generation")
    if plan.status.last_retrain is not None and not plan.status.last_retrain.job:
        plan.status.last_retrain.job = job_name(name, now)
    new_status = plan.status.model_dump(by_alias=True, exclude_none=True, mode="json")
    if status.canary is not None and plan.status.canary is None:
        new_status["canary"] = None  # merge patch: null deletes the key
    try:
        await ctx.kube.patch_status(
            "DriftPolicy", namespace, name, new_status, meta.get("resourceVersion", "")
        )
    except Conflict:
        log.info("%s/%s changed while evaluating; evaluating again next tick", namespace, name)
        return
    for event in plan.events:
        await post_event(
            ctx.kube, body, type_=event.type, reason=event.reason, message=event.message, now=now
        )
    await Actor(ctx, body, policy, plan, spec, target.body, now).execute()
    _record(ctx, namespace, name, spec.deployment, plan.status)
    ctx.recorder.observe_reconcile("DriftPolicy", time.monotonic() - started)


def _record(
    ctx: OperatorContext, namespace: str, name: str, deployment: str, status: DriftPolicyStatus
) -> None:
    ctx.recorder.set_drift_verdict(namespace, name, deployment, status.verdict)
    for check in status.checks:
        if check.statistic is not None:
            feature = check.feature or check.kind
            ctx.recorder.set_drift_statistic(
                namespace, name, feature, check.method, check.statistic
            )


@kopf.timer(GROUP, VERSION, PLURAL, interval=TICK_SECONDS, sharp=True)
async def on_tick(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    ctx: OperatorContext = memo.ctx
    async with ctx.lock(namespace or "", f"driftpolicy/{name}"):
        await evaluate_policy(ctx, namespace or "", name)


@kopf.on.delete(GROUP, VERSION, PLURAL, optional=True)
async def on_delete(namespace: str | None, name: str, spec: Any, memo: Any, **_: Any) -> None:
    """Jobs and ConfigMaps go with their owner; only the metric series need forgetting."""
    memo.ctx.recorder.forget_policy(namespace or "", name, spec.get("deployment", ""))
