"""Prometheus collectors of one evaluator process, owned by a single class.

A private `CollectorRegistry` per recorder keeps tests (several proxies in one process)
from colliding in the global registry.  The histogram uses the same bucket bounds as the
report, converted to seconds, so both views agree.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from modelwarden.evaluator.report import LATENCY_BOUNDS_MS

PREFIX = "modelwarden_evaluator"


class Recorder:
    """Every metric the evaluator exports; updated next to the window counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            f"{PREFIX}_requests", "Requests answered, by status class", ["code"], registry=registry
        )
        self.latency = Histogram(
            f"{PREFIX}_request_latency_seconds",
            "End-to-end latency of proxied requests",
            buckets=[bound / 1000.0 for bound in LATENCY_BOUNDS_MS],
            registry=registry,
        )
        self.upstream_errors = Counter(
            f"{PREFIX}_upstream_errors", "Requests the upstream never answered", registry=registry
        )
        self.halted_requests = Counter(
            f"{PREFIX}_halted_requests", "Requests refused while halted", registry=registry
        )
        self.halted = Gauge(f"{PREFIX}_halted", "1 while the model is halted", registry=registry)
        self.samples = Counter(
            f"{PREFIX}_samples", "Rows fed to the window summary", registry=registry
        )
        self.rejected = Counter(
            f"{PREFIX}_rejected_payloads",
            "Payloads the evaluator could not read, by reason",
            ["reason"],
            registry=registry,
        )
        self.dropped = Counter(
            f"{PREFIX}_dropped_payloads",
            "Payloads not evaluated because the queue was full",
            registry=registry,
        )
        self.queue_depth = Gauge(
            f"{PREFIX}_queue_depth", "Payloads waiting for evaluation", registry=registry
        )
        self.shadow = Counter(
            f"{PREFIX}_shadow", "Shadow mirroring outcomes", ["outcome"], registry=registry
        )
        self.feedback = Counter(
            f"{PREFIX}_feedback",
            "Labelled feedback, by join outcome",
            ["outcome"],
            registry=registry,
        )
        self.profile_reloads = Counter(
            f"{PREFIX}_profile_reloads",
            "Reference profile (re)loads, by outcome",
            ["outcome"],
            registry=registry,
        )

    def exposition(self) -> bytes:
        """The text format served on /metrics."""
        return generate_latest(self.registry)
