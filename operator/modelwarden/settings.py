"""The operator's own configuration (flags of ``modelwarden run``), as one frozen value."""

from __future__ import annotations

from dataclasses import dataclass, field

from modelwarden.decide.children import SidecarSettings
from modelwarden.decide.gates import GovernanceConfig


@dataclass(frozen=True)
class OperatorSettings:
    namespaces: tuple[str, ...] = ()
    """Namespaces to watch; all of them when empty."""
    sidecar: SidecarSettings = field(default_factory=SidecarSettings)
    prometheus_url: str = ""
    """Default Prometheus for ``prometheus`` analysis checks; unset means no answer."""
    metrics_port: int = 8085
    health_port: int = 0
    """Port of kopf's liveness endpoint ``/healthz``; 0 serves none."""
    alerts_port: int = 9095
    """Port of the Alertmanager-compatible webhook receiver."""
    governance: GovernanceConfig = field(default_factory=GovernanceConfig)
    """Approval roles, their groups and the tier table (``--governance-config``)."""
    alerts_token_file: str = ""
    """File holding the bearer token the alert webhook requires; empty accepts anyone."""
    bind_host: str = "0.0.0.0"
    webhook_port: int = 0
    """Port of the admission webhook (HTTPS, self-signed); 0 runs none and registers none."""
    webhook_host: str = ""
    """Address the API server reaches the webhook at; the bind host when empty."""
