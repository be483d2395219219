"""``modelwarden run``: the operator process."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import click
import kopf
import yaml

from modelwarden.api.manifest import ManifestError
from modelwarden.decide.children import SidecarSettings
from modelwarden.decide.gates import GovernanceConfig
from modelwarden.decide.governance_file import parse_governance
from modelwarden.settings import OperatorSettings


@click.command()
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    help="Namespace to watch (repeatable); all namespaces when omitted.",
)
@click.option(
    "--sidecar-image",
    default=SidecarSettings().image,
    show_default=True,
    help="Image of the evaluator sidecar injected into model pods.",
)
@click.option("--prometheus-url", default="", help="Prometheus for prometheus checks.")
@click.option("--metrics-port", type=int, default=8085, show_default=True)
@click.option(
    "--alerts-port",
    type=int,
    default=9095,
    show_default=True,
    help="Port of the Alertmanager-compatible webhook receiver.",
)
@click.option(
    "--health-port",
    type=int,
    default=0,
    show_default=True,
    help="Port of GET /healthz (kopf's liveness endpoint, answered from the operator's own "
    "event loop, so a stuck operator fails it); 0 = off.",
)
@click.option(
    "--governance-config",
    default="",
    help="YAML file with the approval roles' groups and the tier table (docs/governance.md); "
    "what it leaves out keeps the defaults.",
)
@click.option(
    "--alerts-token-file",
    default="",
    help="File with the bearer token alert senders must present (re-read when it changes); "
    "without it the webhook accepts anyone who can reach it.",
)
@click.option(
    "--webhook-port",
    type=int,
    default=0,
    show_default=True,
    help="Port of the ModelVersion admission webhook (stamps approver identity); 0 = off.",
)
@click.option(
    "--webhook-host",
    default="",
    help="Address the API server calls the webhook at (default: the bind host).",
)
@click.option(
    "--bind-host",
    default="0.0.0.0",
    show_default=True,
    help="Address the metrics and webhook servers listen on.",
)
@click.option(
    "--evaluator-window",
    default="60s",
    show_default=True,
    help="Window of the sidecars' summaries; analysis reads the last closed one.",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def run(namespaces: tuple[str, ...], verbose: bool, **options: Any) -> None:
    """Run the operator against the cluster in KUBECONFIG (or in-cluster credentials)."""
    # Imported here, not at the top: importing registers kopf handlers, which only this
    # command wants (the sidecar shares the CLI and must not load the operator).
    import modelwarden.handlers.driftpolicy  # noqa: PLC0415
    import modelwarden.handlers.lifecycle  # noqa: PLC0415
    import modelwarden.handlers.modeldeployment  # noqa: PLC0415
    import modelwarden.handlers.modelversion  # noqa: PLC0415

    if options["webhook_port"]:
        import modelwarden.handlers.admission  # noqa: F401, PLC0415

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sidecar = SidecarSettings(
        image=options.pop("sidecar_image"), window=options.pop("evaluator_window")
    )
    token_file = options["alerts_token_file"]
    if token_file and not Path(token_file).is_file():
        raise click.BadParameter(f"{token_file} is not a file", param_hint="--alerts-token-file")
    options["governance"] = _governance(options.pop("governance_config"))
    settings = OperatorSettings(namespaces=namespaces, sidecar=sidecar, **options)
    health = settings.health_port
    asyncio.run(
        kopf.operator(
            clusterwide=not namespaces,
            namespaces=namespaces,
            standalone=True,
            memo=kopf.Memo(settings=settings),
            liveness_endpoint=f"http://{settings.bind_host}:{health}/healthz" if health else None,
        )
    )


def _governance(path: str) -> GovernanceConfig:
    """The policy in the file at ``path`` (defaults when empty); a usage error naming every
    bad field otherwise, so a broken policy stops the operator before it decides anything."""
    if not path:
        return GovernanceConfig()
    try:
        document = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise click.BadParameter(str(err), param_hint="--governance-config") from err
    if not isinstance(document, dict):
        raise click.BadParameter("must hold a mapping", param_hint="--governance-config")
    try:
        return parse_governance(document)
    except ManifestError as err:
        raise click.BadParameter(str(err), param_hint="--governance-config") from err
