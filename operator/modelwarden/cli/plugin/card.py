"""``model-card mv/NAME``: the Markdown model card of a ModelVersion, with live fairness.

Fairness comes from the status of the DriftPolicy that targets a deployment serving the
version, since it is measured on live traffic; without one the card says so.
"""

from __future__ import annotations

from typing import Any

import click

from modelwarden.api.modelversion import ModelVersionSpec, ModelVersionStatus
from modelwarden.cli.plugin.kube import Cluster, namespace_option, split_ref
from modelwarden.reports.model_card import render_model_card


def _drift_status(cluster: Cluster, status: ModelVersionStatus) -> dict[str, Any] | None:
    slots = {s.deployment for s in status.served_by}
    for policy in cluster.items("driftpolicies"):
        if (policy.get("spec") or {}).get("deployment") in slots and policy.get("status"):
            found: dict[str, Any] = policy["status"]
            return found
    return None


def card_markdown(cluster: Cluster, ref: str) -> str:
    _, name = split_ref(ref, "mv")
    body = cluster.get("modelversions", name)
    spec = ModelVersionSpec.model_validate(body["spec"])
    status = ModelVersionStatus.model_validate(body.get("status") or {})
    return render_model_card(name, spec, status, _drift_status(cluster, status))


@click.command("model-card")
@click.argument("ref", metavar="mv/NAME")
@namespace_option
def model_card(ref: str, namespace: str | None) -> None:
    """Print the Markdown model card of a ModelVersion."""
    click.echo(card_markdown(Cluster.connect(namespace), ref), nl=False)
