"""``approve``, ``reject`` and ``stage``: decisions recorded on a ModelVersion's spec.

The plugin only appends what the user decides; the admission webhook stamps who and when
from the authenticated request (anything written here in ``by`` would be overwritten), and
refuses a role the user may not hold.
"""

from __future__ import annotations

from typing import get_args

import click

from modelwarden.api.modelversion import Approval, Stage
from modelwarden.cli.plugin.kube import Cluster, namespace_option, split_ref


def _append(ref: str, namespace: str | None, role: str, decision: str, comment: str) -> None:
    cluster = Cluster.connect(namespace)
    _, name = split_ref(ref, "mv")
    body = cluster.get("modelversions", name)
    recorded = body["spec"].get("approvals") or []
    new = Approval.model_validate({"role": role, "decision": decision, "comment": comment})
    entry = new.model_dump(by_alias=True, exclude_none=True)
    # The whole list goes back unchanged but for the new entry, so that a concurrent approval
    # makes the webhook refuse this one (an edit of the list) instead of losing either.
    cluster.patch(
        "modelversions",
        name,
        {
            "metadata": {"resourceVersion": body["metadata"]["resourceVersion"]},
            "spec": {"approvals": [*recorded, entry]},
        },
    )
    click.echo(f"{decision} as {role} recorded on modelversion/{name}")


@click.command()
@click.argument("ref", metavar="mv/NAME")
@click.option("--role", required=True, help="The role you approve as (e.g. ml-lead).")
@click.option("--comment", default="", help="Why.")
@namespace_option
def approve(ref: str, role: str, comment: str, namespace: str | None) -> None:
    """Approve a ModelVersion in a role (stamped with your identity by the webhook)."""
    _append(ref, namespace, role, "approve", comment)


@click.command()
@click.argument("ref", metavar="mv/NAME")
@click.option("--role", required=True, help="The role you reject as (e.g. compliance).")
@click.option("--comment", required=True, help="Why (a reject must say why).")
@namespace_option
def reject(ref: str, role: str, comment: str, namespace: str | None) -> None:
    """Reject a ModelVersion in a role; it blocks promotion until you approve again."""
    _append(ref, namespace, role, "reject", comment)


@click.command()
@click.argument("ref", metavar="mv/NAME")
@click.argument("target", metavar="STAGE", type=click.Choice(get_args(Stage)))
@click.option("--reason", default="", help="Recorded in the history.")
@namespace_option
def stage(ref: str, target: str, reason: str, namespace: str | None) -> None:
    """Ask the operator to move a ModelVersion to STAGE (through its gates)."""
    cluster = Cluster.connect(namespace)
    _, name = split_ref(ref, "mv")
    request = {"stage": target, "reason": reason, "by": None, "at": None}
    cluster.patch("modelversions", name, {"spec": {"stageRequest": request}})
    click.echo(f"requested {target} for modelversion/{name}; see its StageChange condition")
