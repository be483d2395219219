"""Settings of one evaluator process, filled from the CLI flags (see docs/evaluator.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from modelwarden.evaluator.protocols import JsonPaths, Protocol

MIB = 1024 * 1024


def default_host() -> str:
    """Each pod listens on its own IP in the local harness; `POD_IP` carries it."""
    return os.environ.get("POD_IP") or "0.0.0.0"


def parse_duration(text: str) -> float:
    """`60s`, `5m`, `1h`, `250ms` or a bare number of seconds."""
    value = text.strip().lower()
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    suffix = next((s for s in units if value.endswith(s)), "")
    seconds = float(value[: len(value) - len(suffix)]) * units.get(suffix, 1.0)
    if not seconds > 0:
        raise ValueError(f"duration {text!r} must be positive")
    return seconds


@dataclass(frozen=True)
class EvaluatorConfig:
    """Everything the proxy and collector need; defaults are the documented ones."""

    host: str = field(default_factory=default_host)
    port: int = 8080
    upstream: str = ""
    upstream_health_path: str = "/v2/health/ready"
    protocol: Protocol = "auto"
    json_paths: JsonPaths = field(default_factory=JsonPaths)
    window_seconds: float = 60.0
    sample_rate: float = 1.0
    queue_size: int = 1024
    max_body_bytes: int = 4 * MIB
    profile_path: str | None = None
    token_file: str | None = None
    halt_file: str | None = None
    shadow_upstream: str | None = None
    shadow_file: str | None = None
    shadow_percent: float = 0.0
    shadow_tolerance: float = 1e-6
    shadow_concurrency: int = 64
    feedback_capacity: int = 10_000
    join_capacity: int = 10_000
    join_ttl_seconds: float = 60.0
    upstream_timeout_seconds: float = 60.0
    upstream_connections: int = 256
    pod_name: str = field(default_factory=lambda: os.environ.get("POD_NAME", ""))

    def __post_init__(self) -> None:
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ValueError("sample rate must be within 0..1")
        if not 0.0 <= self.shadow_percent <= 100.0:
            raise ValueError("shadow percent must be within 0..100")
        if self.shadow_percent > 0 and not self.shadow_upstream:
            raise ValueError("--shadow-percent needs --shadow-upstream (a shadow file has its own)")
        if self.shadow_upstream and self.shadow_file:
            raise ValueError("choose --shadow-upstream or --shadow-file, not both")
        for name in ("queue_size", "max_body_bytes", "feedback_capacity", "join_capacity"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
