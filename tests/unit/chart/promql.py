"""What the dashboards and alert rules may query: the series the two recorders really export.

Both recorders are exercised through their own methods and collectors, then their registries
are read back, so a renamed metric or label fails the chart tests. Expressions are checked
by promtool itself (as recording rules), after Grafana's variables are given sample values.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from modelwarden.evaluator.recorder import Recorder as EvaluatorRecorder
from modelwarden.metrics.recorder import Recorder as OperatorRecorder
from unit.chart.helmtool import CHART, promtool_binary, run

# Labels Prometheus adds when it scrapes: the operator through the ServiceMonitor (honor_labels
# keeps the series' own `namespace`), the sidecars through the PodMonitor.
OPERATOR_TARGET_LABELS = frozenset({"job", "instance", "pod", "service", "endpoint", "container"})
EVALUATOR_TARGET_LABELS = frozenset(
    {"job", "instance", "namespace", "pod", "container", "endpoint"}
)
GRAFANA_VARIABLES = {
    "$__rate_interval": "2m",
    "$__interval": "1m",
    "$__range": "1h",
}
_SELECTOR = re.compile(r"\b(modelwarden_[a-z0-9_]+)\s*(\{[^}]*\})?")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")


def podmonitor_labels() -> frozenset[str]:
    """The labels the chart's PodMonitor relabels onto every sidecar series."""
    template = (CHART / "templates" / "podmonitor.yaml").read_text()
    return frozenset(re.findall(r"targetLabel:\s*(\w+)", template))


def _exercise_operator() -> OperatorRecorder:
    rec = OperatorRecorder()
    rec.set_phase("ns", "slot", "Healthy")
    rec.set_canary_weight("ns", "slot", 25)
    rec.set_analysis("ns", "slot", "canary", samples=10, error_rate=0.1, latency_p99_ms=20.0)
    rec.set_halted("ns", "slot", True, "drift")
    rec.record_stage_transition("ns", "model", "Staging", "Production")
    rec.record_rollback("ns", "slot")
    rec.record_alert("ns", "slot", "critical")
    rec.set_drift_verdict("ns", "policy", "slot", "Critical")
    rec.set_drift_statistic("ns", "policy", "amount", "psi", 0.3)
    rec.record_retrain_job("ns", "policy")
    rec.record_drift_action("ns", "policy", "retrain")
    rec.observe_reconcile("ModelDeployment", 0.1)
    return rec


def _exercise_evaluator() -> EvaluatorRecorder:
    rec = EvaluatorRecorder()
    rec.requests.labels("2xx").inc()
    rec.latency.observe(0.01)
    for counter in (rec.upstream_errors, rec.halted_requests, rec.samples, rec.dropped):
        counter.inc()
    for gauge in (rec.halted, rec.queue_depth):
        gauge.set(1)
    for labelled in (rec.rejected, rec.shadow, rec.feedback, rec.profile_reloads):
        labelled.labels("x").inc()
    return rec


def _series(registry: object) -> dict[str, frozenset[str]]:
    found: dict[str, frozenset[str]] = {}
    for family in registry.collect():  # type: ignore[attr-defined]
        for sample in family.samples:
            found[sample.name] = frozenset(sample.labels)
    return found


def operator_families() -> frozenset[str]:
    """The operator's metric family names (no _total/_bucket suffixes)."""
    return frozenset(family.name for family in _exercise_operator().registry.collect())


def known_series() -> dict[str, frozenset[str]]:
    """Every series name either recorder exports → the labels a query may use on it."""
    known = {
        name: labels | OPERATOR_TARGET_LABELS
        for name, labels in _series(_exercise_operator().registry).items()
    }
    extra = EVALUATOR_TARGET_LABELS | podmonitor_labels()
    for name, labels in _series(_exercise_evaluator().registry).items():
        known[name] = labels | extra
    return known


def problems(expr: str, known: dict[str, frozenset[str]]) -> list[str]:
    """Unknown metric names, and label names no metric of the expression has."""
    found: list[str] = []
    usable: set[str] = set()
    names = _SELECTOR.findall(expr)
    if not names:
        found.append(f"no modelwarden metric in {expr!r}")
    for name, matchers in names:
        if name not in known:
            found.append(f"unknown metric {name}")
            continue
        usable |= known[name]
        for label in _MATCHER.findall(matchers):
            if label not in known[name]:
                found.append(f"{name} has no label {label!r}")
    for group in _GROUPING.findall(expr):
        for label in (part.strip() for part in group.split(",")):
            if label and label not in usable:
                found.append(f"grouping label {label!r} is on none of {sorted(usable)}")
    return found


def substitute(expr: str, variables: dict[str, str]) -> str:
    """Grafana's `$name` variables replaced (longest name first) by sample values."""
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace(name, variables[name])
    return expr


def check_parses(exprs: dict[str, str], workdir: Path) -> None:
    """Every expression (keyed by where it comes from) parses: promtool checks them all."""
    rules = [{"record": f"check:expr_{i}", "expr": expr} for i, expr in enumerate(exprs.values())]
    path = workdir / "exprs.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "exprs", "rules": rules}]}))
    run([promtool_binary(), "check", "rules", path])
