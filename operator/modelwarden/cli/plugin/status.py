"""``status SLOT [--watch]``: a tree of a slot, its versions, their roles, weights and stages.

One screen answers "what is live, what is being tried, what do we roll back to, and is the
analysis happy"; ``--watch`` reprints it whenever it changes.
"""

from __future__ import annotations

import time
from typing import Any

import click

from modelwarden.cli.plugin.kube import Cluster, namespace_option, split_ref

Obj = dict[str, Any]


def _version(cluster: Cluster, name: str) -> str:
    """``name (model 1.2.3, Stage)`` or a note when the ModelVersion is gone."""
    found = [v for v in cluster.items("modelversions") if v["metadata"]["name"] == name]
    if not found:
        return f"{name} (ModelVersion missing)"
    body = found[0]
    stage = (body.get("status") or {}).get("stage", "Registered")
    return f"{name} ({body['spec']['model']} {body['spec']['version']}, {stage})"


def render_tree(cluster: Cluster, slot: Obj) -> str:
    """The slot as an indented tree (pure formatting over what the API returned)."""
    meta, spec, st = slot["metadata"], slot["spec"], slot.get("status") or {}
    head = (
        f"ModelDeployment {meta['namespace']}/{meta['name']}  phase={st.get('phase', 'Pending')}"
        f"  replicas={st.get('replicas', 0)}  spec.version={spec.get('version', '')}"
    )
    if st.get("halted"):
        head += f"  HALTED ({st['halted'].get('reason', '')})"
    weight = int(st.get("canaryWeight", 0))
    rows: list[str] = []
    if st.get("stableVersion"):
        rows.append(f"stable   {_version(cluster, st['stableVersion'])}  weight {100 - weight}%")
    if st.get("canaryVersion"):
        aborted = "  ABORTED" if st.get("abortedAt") else ""
        rows.append(
            f"canary   {_version(cluster, st['canaryVersion'])}  weight {weight}%"
            f"  step {st.get('currentStep', 0)}{aborted}"
        )
    rows += [f"standby  {_version(cluster, v)}  weight 0%" for v in st.get("standbyVersions", [])]
    a = st.get("analysis") or {}
    rows.append(
        f"analysis samples={a.get('samples', 0)} errorRate={a.get('errorRate', 0):.3g}"
        f" p99={a.get('latencyP99Ms', 0):.4g}ms  {a.get('message', '')}".rstrip()
    )
    if st.get("message"):
        rows.append(f"message  {st['message']}")
    lines = [head]
    lines += [("└── " if i == len(rows) - 1 else "├── ") + r for i, r in enumerate(rows)]
    return "\n".join(lines)


@click.command()
@click.argument("slot", metavar="SLOT")
@namespace_option
@click.option("-w", "--watch", is_flag=True, help="Reprint the tree whenever it changes.")
@click.option("--interval", type=float, default=2.0, show_default=True, hidden=True)
def status(slot: str, namespace: str | None, watch: bool, interval: float) -> None:
    """Show a slot (ModelDeployment) as a tree of its versions, weights and analysis."""
    cluster = Cluster.connect(namespace)
    _, name = split_ref(slot, "mdep")
    shown = ""
    while True:
        tree = render_tree(cluster, cluster.get("modeldeployments", name))
        if tree != shown:
            click.echo(tree + ("\n" if watch else ""))
            shown = tree
        if not watch:
            return
        time.sleep(interval)
