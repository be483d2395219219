"""The progressive-delivery decision: (spec, status, observation) → plan.

One call per reconcile. The function reads the clock only through ``obs.now`` and returns the
whole next status plus the workloads and weights the handler must make real. The rules that
peers' users asked for are kept here, where a table test can see them:

* an abort stays aborted: the failed version is scaled to zero and not retried until the spec
  names another version or someone runs ``retry`` (and ``abortedAt`` keeps its first value, so
  no reconcile loop rewrites status forever);
* analysis never promotes on too few samples: a pause ends, and the final promotion happens,
  only after a fresh ``Pass`` verdict;
* safety first: a halt freezes everything and zeroes traffic; a rollback (by alerts or by
  command) never waits for a manual gate;
* replicas are split by weight from the slot's total, so an HPA scaling the slot scales both
  sides in proportion.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from modelwarden.api.base import parse_duration
from modelwarden.api.modeldeployment import (
    AnalysisStatus,
    CanaryStep,
    CanaryStrategy,
    HaltRecord,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    Pause,
)
from modelwarden.decide.alerts import should_roll_back
from modelwarden.decide.analysis import analyse
from modelwarden.decide.conditions import set_condition
from modelwarden.decide.plan import (
    AutoscalerState,
    Event,
    Observation,
    Plan,
    Role,
    Weights,
    Workload,
)
from modelwarden.decide.replicas import split_replicas
from modelwarden.decide.stamps import iso, parse_time

DEFAULT_STEPS = CanaryStrategy().steps
_CANDIDATE_ROLE: dict[str, Role] = {
    "Canary": "canary",
    "Recreate": "canary",
    "BlueGreen": "preview",
    "Shadow": "shadow",
}


def _parse(stamp: str) -> datetime:
    moment = parse_time(stamp)
    if moment is None:
        raise ValueError(f"not a status timestamp: {stamp!r}")
    return moment


def _since(obs: Observation, stamp: str) -> float:
    """Seconds from an ISO stamp in status to now (infinite when never stamped)."""
    if not stamp:
        return float("inf")
    return (obs.now - _parse(stamp)).total_seconds()


class _Rollout:
    """The working state of one decision; ``decide`` is its only entry point."""

    def __init__(self, spec: ModelDeploymentSpec, status: ModelDeploymentStatus, obs: Observation):
        self.spec = spec
        self.s = status.model_copy(deep=True)
        self.obs = obs
        self.now = iso(obs.now)
        self.events: list[Event] = []
        self.awaiting_promotion = False
        """A manual gate is holding the rollout (phase Paused)."""

    # -- transitions ---------------------------------------------------------------------
    def event(self, reason: str, message: str, warning: bool = False) -> None:
        self.events.append(Event(reason, message, "Warning" if warning else "Normal"))

    def start(self, version: str) -> None:
        s = self.s
        s.canary_version, s.current_step, s.canary_weight = version, 0, 0
        s.step_started_at, s.alerts_since, s.aborted_at = self.now, self.now, ""
        s.analysis = AnalysisStatus()
        if self.spec.strategy.type == "Recreate":
            self.promote(f"{version} replaces {s.stable_version} (Recreate)")
            return
        self.event("RolloutStarted", f"{self.spec.strategy.type} rollout of {version} started")

    def promote(self, why: str) -> None:
        """Make the candidate stable — only once its ModelVersion carries its approvals, so
        no traffic path (canary, blue-green, shadow, recreate, promote-full) skips governance."""
        s = self.s
        if s.canary_version not in self.obs.approved:
            s.message = f"waiting for the approvals of {s.canary_version} (ModelVersion Approved)"
            return
        previous = s.stable_version
        standby = [v for v in [previous, *s.standby_versions] if v and v != s.canary_version]
        s.standby_versions = standby[: self.spec.rollback.standby_versions]
        s.stable_version, s.canary_version = s.canary_version, ""
        s.canary_weight, s.current_step = 0, 0
        s.step_started_at = s.alerts_since = self.now
        self.event("Promoted", why)

    def abort(self, why: str) -> None:
        s = self.s
        if not s.aborted_at:
            s.aborted_at = s.alerts_since = self.now
            s.phase = "Aborted"
            self.event("RolloutAborted", f"{s.canary_version} aborted: {why}", warning=True)
        s.canary_weight = 0
        s.message = f"aborted: {why}"

    def roll_back(self, why: str) -> None:
        """Back to the last standby version at once; the bad version is parked as aborted."""
        s = self.s
        if s.canary_version and not s.aborted_at:
            self.abort(why)
            return
        if not s.standby_versions:
            s.message = f"cannot roll back ({why}): no standby version"
            return
        bad, s.stable_version = s.stable_version, s.standby_versions[0]
        s.standby_versions = s.standby_versions[1:]
        s.canary_version, s.canary_weight, s.aborted_at = bad, 0, self.now
        s.alerts_since, s.phase = self.now, "RolledBack"
        s.message = f"rolled back from {bad}: {why}"
        self.event("RolledBack", f"rolled back from {bad} to {s.stable_version}: {why}", True)

    # -- inputs --------------------------------------------------------------------------
    def command(self) -> str:
        """The new command verb, if the annotation changed since the last one acted on."""
        raw = self.obs.command
        if not raw or raw == self.s.last_command:
            return ""
        self.s.last_command = raw
        return raw.split("@", 1)[0]

    def follow_spec(self) -> None:
        s, target = self.s, self.spec.version
        if target == s.stable_version:
            if s.canary_version:
                self.event("RolloutCancelled", f"spec returned to {target}")
                s.canary_version, s.canary_weight, s.aborted_at = "", 0, ""
            return
        if target == s.canary_version:
            return
        if target not in self.obs.versions:
            s.message = f"waiting for ModelVersion {target}"
            return
        self.start(target)

    def run_command(self, verb: str) -> None:
        s = self.s
        if verb == "rollback":
            self.roll_back("rollback requested")
        elif verb == "abort" and s.canary_version and not s.aborted_at:
            self.abort("aborted by request")
        elif verb == "retry" and s.canary_version and s.aborted_at:
            self.start(s.canary_version)
        elif verb == "promote-full" and self.active_canary():
            self.promote(f"{s.canary_version} promoted by request (all steps skipped)")
        elif verb == "promote" and self.active_canary():
            if self.spec.strategy.type == "Canary":
                self.advance()
            else:
                self.promote(f"{s.canary_version} promoted by request")

    def alerts(self) -> None:
        policy = self.spec.rollback.on_critical_alerts
        since_action = [a for a in self.obs.alerts if a.at >= self.s.alerts_since]
        window = parse_duration(policy.window)
        if should_roll_back(tuple(since_action), policy.count, window, self.obs.now):
            self.roll_back(f"{policy.count} critical alerts within {policy.window}")

    def analysis_due(self) -> bool:
        return _since(self.obs, self.s.analysis.at) >= parse_duration(self.spec.analysis.interval)

    def analyse(self, version: str) -> None:
        outcome = analyse(
            self.spec.analysis.checks,
            self.spec.analysis.min_samples,
            self.obs.signals.get(version),
            self.obs.drift_verdicts,
            self.obs.prometheus,
        )
        failures = self.s.analysis.failures + (outcome.verdict == "Fail")
        self.s.analysis = AnalysisStatus(
            samples=outcome.samples,
            error_rate=outcome.error_rate,
            latency_p99_ms=outcome.latency_p99_ms,
            verdict=outcome.verdict,
            failures=failures,
            message=outcome.message,
            at=self.now,
        )
        if outcome.verdict == "Fail":
            self.event("AnalysisFailed", f"{version}: {outcome.message}", warning=True)

    def fresh_pass(self) -> bool:
        a = self.s.analysis
        return a.verdict == "Pass" and a.at >= self.s.step_started_at

    # -- progress ------------------------------------------------------------------------
    def advance(self) -> None:
        self.s.current_step += 1
        self.s.step_started_at = self.now

    def steps(self) -> list[CanaryStep]:
        canary = self.spec.strategy.canary
        return canary.steps if canary else DEFAULT_STEPS

    def progress(self) -> None:
        s = self.s
        if self.analysis_due():
            self.analyse(s.canary_version)
            if s.analysis.failures > self.spec.analysis.failure_limit:
                self.abort(s.analysis.message)
                return
        kind = self.spec.strategy.type
        if kind == "BlueGreen":
            self.progress_blue_green()
        elif kind == "Shadow":
            self.progress_shadow()
        else:
            self.progress_canary()

    def progress_canary(self) -> None:
        s, steps = self.s, self.steps()
        if s.current_step >= len(steps):
            if self.fresh_pass():
                self.promote(f"{s.canary_version} promoted after {len(steps)} steps")
            else:
                s.message = f"final analysis: {s.analysis.message or 'pending'}"
            return
        step = steps[s.current_step]
        if step.set_weight is not None:
            # Readiness observed before this weight was applied says nothing about it: the
            # step ends on a later reconcile, once the weight is in place and pods are ready.
            applied = s.canary_weight == step.set_weight
            s.canary_weight = step.set_weight
            needed = self.workload_replicas()[1]
            ready = self.obs.ready.get(s.canary_version, 0)
            s.message = f"step {s.current_step}: weight {step.set_weight}%, {ready}/{needed} ready"
            if applied and ready >= needed:
                self.advance()
            return
        self.pause(step.pause or Pause())

    def pause(self, pause: Pause) -> None:
        s = self.s
        if pause.duration is None:
            s.message = f"step {s.current_step}: paused until `kubectl warden promote`"
            self.awaiting_promotion = True
            return
        wait = parse_duration(pause.duration)
        if _since(self.obs, s.step_started_at) < wait:
            until = iso(_parse(s.step_started_at) + timedelta(seconds=wait))
            s.message = f"step {s.current_step}: pause until {until}"
        elif self.fresh_pass():
            self.advance()
        else:
            s.message = f"step {s.current_step}: analysis {s.analysis.message or 'pending'}"

    def progress_blue_green(self) -> None:
        s = self.s
        settings = self.spec.strategy.blue_green
        auto = settings.auto_promotion_seconds if settings else None
        if auto is None:
            s.message = "preview ready for `kubectl warden promote`"
            self.awaiting_promotion = True
        elif _since(self.obs, s.step_started_at) < auto:
            s.message = "preview under analysis before automatic promotion"
        elif self.fresh_pass():
            self.promote(f"{s.canary_version} switched in after {auto}s of passing analysis")
        else:
            s.message = f"preview analysis: {s.analysis.message or 'pending'}"

    def progress_shadow(self) -> None:
        s = self.s
        shadow = self.spec.strategy.shadow
        duration = parse_duration(shadow.duration if shadow else "1h")
        min_agreement = shadow.min_agreement if shadow else 0.98
        signals = self.obs.signals.get(s.canary_version)
        agreement = signals.agreement if signals else None
        if agreement is not None and agreement < min_agreement:
            self.abort(f"shadow agreement {agreement:.1%} < {min_agreement:.1%}")
        elif _since(self.obs, s.step_started_at) < duration:
            s.message = f"shadowing, agreement {agreement if agreement is not None else 'n/a'}"
        elif self.fresh_pass() and agreement is not None:
            self.promote(f"{s.canary_version} promoted after {shadow and shadow.duration} shadow")
        else:
            s.message = f"shadow analysis: {s.analysis.message or 'pending'}"

    def steady(self) -> None:
        if self.analysis_due() and self.spec.analysis.checks:
            self.analyse(self.s.stable_version)

    # -- outputs -------------------------------------------------------------------------
    def mesh(self) -> bool:
        canary = self.spec.strategy.canary
        routing = canary.traffic_routing if canary else None
        return bool(routing and (routing.gateway_api or routing.istio))

    def active_canary(self) -> bool:
        return bool(self.s.canary_version) and not self.s.aborted_at

    def workload_replicas(self) -> tuple[int, int]:
        """(stable, canary) replicas for the current weight and strategy."""
        total = self.spec.replicas
        if not self.active_canary():
            return total, 0
        if self.spec.strategy.type in ("BlueGreen", "Shadow"):
            return total, total
        return split_replicas(total, self.s.canary_weight, mesh=self.mesh())

    def workloads(self) -> tuple[Workload, ...]:
        s = self.s
        stable, canary = self.workload_replicas()
        out = [Workload(s.stable_version, "stable", stable)]
        if s.canary_version:
            out.append(Workload(s.canary_version, _CANDIDATE_ROLE[self.spec.strategy.type], canary))
        out += [Workload(v, "standby", self.draining(v)) for v in s.standby_versions]
        return tuple(out)

    def draining(self, standby: str) -> int:
        """Replicas a standby keeps: blue-green holds the old colour at full size for
        ``scaleDownDelaySeconds`` after the switch (in-flight requests finish); else zero."""
        blue_green = self.spec.strategy.blue_green
        just_switched = (
            self.spec.strategy.type == "BlueGreen"
            and not self.s.canary_version
            and self.s.standby_versions[:1] == [standby]
            and blue_green is not None
            and _since(self.obs, self.s.step_started_at) < blue_green.scale_down_delay_seconds
        )
        return self.spec.replicas if just_switched else 0

    def weights(self) -> Weights:
        s = self.s
        if self.spec.halt:
            return Weights({})
        if self.active_canary() and self.spec.strategy.type == "Canary" and s.canary_weight:
            return Weights(
                {s.stable_version: 100 - s.canary_weight, s.canary_version: s.canary_weight}
            )
        return Weights({s.stable_version: 100})

    def halt(self) -> None:
        s = self.s
        if self.spec.halt and s.halted is None:
            s.halted = HaltRecord(by=self.obs.actor, at=self.now, reason=self.spec.halt_reason)
            self.event("Halted", f"inference halted by {self.obs.actor or 'unknown'}", True)
        elif not self.spec.halt and s.halted is not None:
            self.event("Resumed", f"inference resumed (halted since {s.halted.at})")
            s.halted = None

    def finish(self, generation: int | None) -> None:
        s, obs = self.s, self.obs
        stable_ready = obs.ready.get(s.stable_version, 0)
        if s.halted is not None:
            s.phase = "Halted"
        elif s.aborted_at:
            s.phase = s.phase if s.phase in ("Aborted", "RolledBack") else "Aborted"
        elif self.active_canary():
            s.phase = "Paused" if self.awaiting_promotion else "Progressing"
        elif stable_ready == 0 and self.spec.replicas > 0 and s.phase == "Pending":
            s.message = f"waiting for pods of {s.stable_version}"
        elif (stable_ready == 0 and self.spec.replicas > 0) or s.analysis.verdict == "Fail":
            s.phase = "Degraded"
        else:
            s.phase, s.message = "Healthy", f"serving {s.stable_version}"
        s.replicas = sum(w.replicas for w in self.workloads())
        s.selector = obs.selector
        s.observed_generation = generation
        done = not s.canary_version and s.stable_version == self.spec.version
        for type_, true, reason in (
            ("Available", stable_ready > 0 and s.halted is None, s.phase),
            ("Progressing", self.active_canary(), s.phase),
            ("Promoted", done, "Promoted" if done else s.phase),
            ("Halted", s.halted is not None, "Halted" if s.halted else "Serving"),
        ):
            s.conditions = set_condition(
                s.conditions,
                type_,
                true=true,
                reason=reason,
                message=s.message,
                now=self.now,
                generation=generation,
            )
        self.autoscaling_condition(generation)

    def autoscaling_condition(self, generation: int | None) -> None:
        """``Autoscaling``: whether the HPA can act, with its own reason (say, a container
        without a CPU request), so a slot that cannot scale says why; absent without one."""
        s, hpa = self.s, self.obs.autoscaler
        if self.spec.autoscaling is None:
            s.conditions = [c for c in s.conditions if c.type != "Autoscaling"]
            return
        if hpa is None:
            hpa = AutoscalerState(False, "Pending", "waiting for the HPA controller")
        s.conditions = set_condition(
            s.conditions,
            "Autoscaling",
            true=hpa.active,
            reason=hpa.reason,
            message=hpa.message,
            now=self.now,
            generation=generation,
        )


def decide(
    spec: ModelDeploymentSpec,
    status: ModelDeploymentStatus,
    obs: Observation,
    generation: int | None = None,
) -> Plan:
    """The next status, workloads and weights of one ModelDeployment."""
    r = _Rollout(spec, status, obs)
    s = r.s
    if not s.stable_version:
        if spec.version not in obs.versions:
            s.phase, s.message = "Pending", f"waiting for ModelVersion {spec.version}"
            s.observed_generation = generation
            return Plan(s, (), Weights({}), spec.halt, tuple(r.events))
        s.stable_version, s.step_started_at = spec.version, r.now
        r.event("Deployed", f"{spec.version} deployed")
    r.halt()
    verb = r.command()
    if verb:
        r.run_command(verb)
    if s.halted is None:
        r.follow_spec()
        r.alerts()
        if r.active_canary():
            r.progress()
        elif not s.canary_version:
            r.steady()
    r.finish(generation)
    return Plan(s, r.workloads(), r.weights(), spec.halt, tuple(r.events))
