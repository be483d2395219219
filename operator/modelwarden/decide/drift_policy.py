"""A DriftPolicy's decision, pure: from the check results of one evaluation to the new status
and the actions to take now.

Why the guards:

* **consecutive evaluations** — a verdict acts only once it has held
  ``consecutiveEvaluations`` times in a row, so one noisy window is not an incident;
* **episodes** — a breach episode starts at the first Warning/Critical after Stable and ends
  at the next Stable; each ``<verdict>/<action>`` runs at most once per episode (recorded in
  ``status.actionsTaken``), so a persisting breach never rolls back or retrains twice, while
  an escalation Warning → Critical still runs the Critical actions;
* **InsufficientData** never acts and neither starts nor ends an episode: a quiet hour must
  not reset a breach that is still there;
* **retraining** additionally respects ``cooldown`` (a deferred retrain fires when the cooldown
  ends if the breach persists), and also fires on ``schedule`` (cron) and ``maxModelAge``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from modelwarden.api.base import parse_duration
from modelwarden.api.driftpolicy import (
    CanaryVerdict,
    CheckStatus,
    DriftPolicySpec,
    DriftPolicyStatus,
    PolicyVerdict,
    RetrainRecord,
)
from modelwarden.decide.conditions import set_condition
from modelwarden.decide.cron import Cron, fired_between
from modelwarden.decide.stamps import iso, parse_time
from modelwarden.drift.stats.base import SEVERITY_ORDER, CheckResult

ActionKind = Literal["alert", "retrain", "rollback", "halt"]
_VERDICT_OF = {"Ok": "Stable", "Warning": "Warning", "Critical": "Critical"}


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    reason: str
    verdict: PolicyVerdict


@dataclass(frozen=True)
class PolicyEvent:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation saw. ``results`` is None when there was no window to judge."""

    now: datetime
    results: Sequence[CheckResult] | None
    samples: int
    window: str = ""
    stable_version: str = ""
    model_created: datetime | None = None
    """When the served ModelVersion was created, for ``maxModelAge``."""
    canary: CanaryVerdict | None = None


@dataclass(frozen=True)
class PolicyPlan:
    status: DriftPolicyStatus
    actions: tuple[Action, ...]
    events: tuple[PolicyEvent, ...]


def due(status: DriftPolicyStatus | None, interval: str, now: datetime) -> bool:
    """Whether ``interval`` has passed since the last evaluation (kopf timers are fixed, the
    policy's interval is not, so a short timer asks this)."""
    last = parse_time(status.last_evaluation) if status else None
    return last is None or (now - last).total_seconds() >= parse_duration(interval)


def judge_window(
    results: Sequence[CheckResult] | None, samples: int, min_samples: int
) -> tuple[PolicyVerdict, str]:
    """The window's verdict and a one-line reason; below ``min_samples`` nothing is judged."""
    if results is None or samples < min_samples:
        return "InsufficientData", f"{samples:,} samples in the window, {min_samples:,} needed"
    judged = [r for r in results if r.severity != "InsufficientData"]
    if not judged:
        return "InsufficientData", f"no check had enough data over {samples:,} samples"
    top = max(judged, key=lambda r: SEVERITY_ORDER[r.severity])
    if top.severity == "Ok":
        return "Stable", f"{len(judged)} checks within thresholds over {samples:,} samples"
    return _VERDICT_OF[top.severity], top.message  # type: ignore[return-value]


def _key(check: CheckStatus) -> tuple[str, str, str]:
    return check.kind, check.feature, check.method


def _checks(
    results: Sequence[CheckResult], previous: Sequence[CheckStatus], now: datetime
) -> list[CheckStatus]:
    """Status rows; ``since`` is kept from the previous evaluation while a breach persists."""
    before = {_key(c): c for c in previous}
    rows = []
    for r in results:
        row = CheckStatus(
            kind=r.kind,
            feature=r.feature or "",
            method=r.method,
            statistic=r.statistic,
            p_value=r.p_value,
            threshold=r.threshold,
            severity=r.severity,
            samples=r.n_current,
        )
        if r.severity in ("Warning", "Critical"):
            old = before.get(_key(row))
            breached = old is not None and old.severity in ("Warning", "Critical") and old.since
            row.since = old.since if old is not None and breached else iso(now)
            at = parse_time(row.since) or now
            row.message = f"{r.message} since {at:%H:%M} UTC"
        else:
            row.message = r.message
        rows.append(row)
    return rows


def _retrain_trigger(
    spec: DriftPolicySpec, old: DriftPolicyStatus, ev: Evaluation, drift: str | None
) -> str | None:
    """Why to start a retraining Job now, or None (cooldown, or nothing asks for one); a
    drift reason wins over staleness, staleness over the schedule."""
    training = spec.retraining
    if training is None:
        return None
    last = old.last_retrain
    last_at = parse_time(last.at) if last else None
    cooldown = timedelta(seconds=parse_duration(training.cooldown))
    if last_at is not None and ev.now - last_at < cooldown:
        return None
    if drift is not None:
        return drift
    if training.max_model_age and ev.model_created is not None:
        age = ev.now - ev.model_created
        limit = parse_duration(training.max_model_age)
        fresh = last_at is not None and last_at >= ev.model_created
        if age.total_seconds() > limit and not fresh:
            return f"model {ev.stable_version} is older than maxModelAge {training.max_model_age}"
    if training.schedule:
        after = parse_time(old.last_evaluation) or ev.now - timedelta(minutes=1)
        fired = fired_between(Cron.parse(training.schedule), after, ev.now)
        if fired is not None:
            return f"scheduled retraining ({training.schedule}) at {iso(fired)}"
    return None


def decide_policy(
    spec: DriftPolicySpec, status: DriftPolicyStatus | None, ev: Evaluation
) -> PolicyPlan:
    """The new status, the actions to run now and the Events to post (see module docstring)."""
    old = status or DriftPolicyStatus()
    verdict, why = judge_window(ev.results, ev.samples, spec.window.min_samples)
    new = DriftPolicyStatus(
        verdict=verdict,
        samples=ev.samples,
        window=ev.window,
        last_evaluation=iso(ev.now),
        consecutive=old.consecutive + 1 if verdict == old.verdict else 1,
        stable_version=ev.stable_version,
        checks=_checks(ev.results or (), old.checks, ev.now),
        canary=ev.canary,
        episode=old.episode,
        actions_taken=list(old.actions_taken),
        last_retrain=old.last_retrain,
        conditions=old.conditions,
        observed_generation=old.observed_generation,
    )
    events: list[PolicyEvent] = []
    actions: list[Action] = []
    if verdict == "Stable":
        if old.episode:
            events.append(PolicyEvent("Normal", "DriftResolved", f"stable again: {why}"))
        new.episode, new.actions_taken = "", []
    elif verdict in ("Warning", "Critical"):
        new.episode = old.episode or iso(ev.now)
    if verdict != old.verdict:
        kind: Literal["Normal", "Warning"] = "Normal" if verdict == "Stable" else "Warning"
        events.append(PolicyEvent(kind, f"Verdict{verdict}", why))
    held = new.consecutive >= spec.consecutive_evaluations
    drift_retrain: str | None = None
    if verdict in ("Warning", "Critical") and held:
        wanted = spec.actions.warning if verdict == "Warning" else spec.actions.critical
        for action in wanted:
            key = f"{verdict}/{action}"
            if key in new.actions_taken:
                continue
            if action == "retrain":
                drift_retrain = f"{verdict} drift: {why}"
                continue  # guarded below, recorded only when it really runs
            new.actions_taken.append(key)
            actions.append(Action(action, why, verdict))
    trigger = _retrain_trigger(spec, old, ev, drift_retrain)
    if trigger is not None:
        if drift_retrain is not None and trigger == drift_retrain:
            new.actions_taken.append(f"{verdict}/retrain")
        actions.append(Action("retrain", trigger, verdict))
        new.last_retrain = RetrainRecord(at=iso(ev.now), reason=trigger, job="")
    new.message = (
        f"{verdict}: {why}"
        if verdict in ("Stable", "InsufficientData") or held
        else f"{verdict} ({new.consecutive} of {spec.consecutive_evaluations} evaluations"
        f" before acting): {why}"
    )
    drifted = verdict in ("Warning", "Critical")
    for type_, true, reason in (
        ("Evaluated", verdict != "InsufficientData", verdict),
        ("Drifted", drifted, verdict if drifted else "NoDrift"),
    ):
        new.conditions = set_condition(
            new.conditions,
            type_,
            true=true,
            reason=reason,
            message=new.message,
            now=iso(ev.now),
            generation=old.observed_generation,
        )
    return PolicyPlan(new, tuple(actions), tuple(events))
