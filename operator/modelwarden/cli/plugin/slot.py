"""Slot commands: ``promote``, ``abort``, ``retry``, ``rollback``, ``halt``, ``resume``.

Commands go through the ModelDeployment's command annotation
(``modelwarden.io/command: <verb>@<unique id>``, acted on once, with
``modelwarden.io/actor`` naming who asked); halt and resume are ``spec.halt`` and
``spec.haltReason``. ``rollback --to VERSION`` is the instant rollback when VERSION is the
first standby, and otherwise sets ``spec.version`` (a normal, analysed rollout to VERSION).
"""

from __future__ import annotations

import uuid

import click

from modelwarden.cli.plugin.kube import Cluster, namespace_option, split_ref

COMMAND = "modelwarden.io/command"
ACTOR = "modelwarden.io/actor"


def send(cluster: Cluster, name: str, verb: str) -> None:
    """Annotate the slot with a fresh command (a new id makes a repeated verb a new command)."""
    command = f"{verb}@{uuid.uuid4().hex[:12]}"
    annotations = {COMMAND: command, ACTOR: cluster.whoami()}
    cluster.patch("modeldeployments", name, {"metadata": {"annotations": annotations}})
    click.echo(f"{verb} sent to modeldeployment/{name} ({command})")


def _slot(namespace: str | None, ref: str) -> tuple[Cluster, str]:
    cluster = Cluster.connect(namespace)
    _, name = split_ref(ref, "mdep")
    cluster.get("modeldeployments", name)  # a clear "not found" before anything else
    return cluster, name


@click.command()
@click.argument("slot", metavar="SLOT")
@click.option("--full", is_flag=True, help="Skip the remaining steps: promote to 100 % now.")
@namespace_option
def promote(slot: str, full: bool, namespace: str | None) -> None:
    """Advance the canary one step (or all the way with --full)."""
    cluster, name = _slot(namespace, slot)
    send(cluster, name, "promote-full" if full else "promote")


@click.command()
@click.argument("slot", metavar="SLOT")
@namespace_option
def abort(slot: str, namespace: str | None) -> None:
    """Abort the running rollout: all traffic back to stable."""
    cluster, name = _slot(namespace, slot)
    send(cluster, name, "abort")


@click.command()
@click.argument("slot", metavar="SLOT")
@namespace_option
def retry(slot: str, namespace: str | None) -> None:
    """Start an aborted rollout again from its first step."""
    cluster, name = _slot(namespace, slot)
    send(cluster, name, "retry")


@click.command()
@click.argument("slot", metavar="SLOT")
@click.option("--to", "to", default="", help="ModelVersion to go back to (default: first standby).")
@namespace_option
def rollback(slot: str, to: str, namespace: str | None) -> None:
    """Roll back to the standby at once, or to any version with --to."""
    cluster, name = _slot(namespace, slot)
    standby = (cluster.get("modeldeployments", name).get("status") or {}).get("standbyVersions", [])
    if not to or (standby and to == standby[0]):
        send(cluster, name, "rollback")
        return
    cluster.get("modelversions", to)
    cluster.patch("modeldeployments", name, {"spec": {"version": to}})
    click.echo(f"{to} is not the first standby: modeldeployment/{name} now rolls out {to}")


@click.command()
@click.argument("slot", metavar="SLOT")
@click.option("--reason", default="halted with kubectl warden", help="Why (shown in status).")
@namespace_option
def halt(slot: str, reason: str, namespace: str | None) -> None:
    """Emergency stop: no inference is served until resume."""
    cluster, name = _slot(namespace, slot)
    cluster.patch(
        "modeldeployments",
        name,
        {
            "metadata": {"annotations": {ACTOR: cluster.whoami()}},
            "spec": {"halt": True, "haltReason": reason},
        },
    )
    click.echo(f"modeldeployment/{name} halted: {reason}")


@click.command()
@click.argument("slot", metavar="SLOT")
@namespace_option
def resume(slot: str, namespace: str | None) -> None:
    """Lift a halt."""
    cluster, name = _slot(namespace, slot)
    cluster.patch(
        "modeldeployments",
        name,
        {"metadata": {"annotations": {ACTOR: cluster.whoami()}}, "spec": {"halt": False}},
    )
    click.echo(f"modeldeployment/{name} resumed")
