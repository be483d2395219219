"""``audit``: the story of a slot, a version or a whole model, oldest first.

It merges the versions' bounded ``status.history`` and their append-only approvals with the
Kubernetes Events of the objects (which keep what the bounded history dropped), so that one
command answers "who approved it, when did it go live, what did we roll back to".
"""

from __future__ import annotations

from typing import Any, NamedTuple

import click

from modelwarden.cli.plugin.kube import Cluster, namespace_option

Obj = dict[str, Any]
DUPLICATES = {"Approval"}
"""Event reasons already shown from the object itself (approvals are never dropped)."""


class Row(NamedTuple):
    at: str
    obj: str
    what: str
    who: str
    detail: str


def version_rows(body: Obj) -> list[Row]:
    """Approvals and stage history recorded on one ModelVersion."""
    obj = f"mv/{body['metadata']['name']}"
    rows = [
        Row(a.get("at", ""), obj, a["decision"], a.get("by", "unverified"),
            f"as {a['role']}: {a.get('comment', '')}".rstrip(": "))
        for a in body["spec"].get("approvals") or []
    ]  # fmt: skip
    for h in (body.get("status") or {}).get("history") or []:
        detail = f"{h.get('from', '')} → {h['to']}: {h.get('reason', '')}"
        rows.append(Row(h["at"], obj, "transition", h.get("actor", ""), detail))
    return rows


def event_rows(obj: str, events: list[Obj], shown: set[tuple[str, str]]) -> list[Row]:
    """Events not already shown: a StageChanged event duplicates its history entry."""
    rows = []
    for e in events:
        at = str(e.get("lastTimestamp") or e.get("eventTime") or "")[:19] + "Z"
        if e.get("reason") in DUPLICATES or (
            e.get("reason") == "StageChanged" and (obj, at) in shown
        ):
            continue
        rows.append(Row(at, obj, str(e.get("reason", "")), "", str(e.get("message", ""))))
    return rows


def story(cluster: Cluster, ref: str) -> list[Row]:
    kind, _, name = ref.rpartition("/")
    versions = cluster.items("modelversions")
    slots: list[str] = []
    if kind in ("mv", "modelversion"):
        chosen = [cluster.get("modelversions", name)]
    elif kind == "model":
        chosen = [v for v in versions if v["spec"].get("model") == name]
        if not chosen:
            raise click.ClickException(f"no ModelVersion of model {name!r} in {cluster.namespace}")
    elif kind in ("", "mdep", "modeldeployment"):
        slot = cluster.get("modeldeployments", name)
        st = slot.get("status") or {}
        names = {slot["spec"].get("version"), st.get("stableVersion"), st.get("canaryVersion"),
                 *st.get("standbyVersions", [])}  # fmt: skip
        chosen = [v for v in versions if v["metadata"]["name"] in names]
        slots = [name]
    else:
        raise click.BadParameter(f"{ref!r}: expected SLOT, mdep/NAME, mv/NAME or model/NAME")
    rows = [r for v in chosen for r in version_rows(v)]
    shown = {(r.obj, r.at) for r in rows if r.what == "transition"}
    for v in chosen:
        mv = v["metadata"]["name"]
        rows += event_rows(f"mv/{mv}", cluster.events("ModelVersion", mv), shown)
    for s in slots:
        rows += event_rows(f"mdep/{s}", cluster.events("ModelDeployment", s), shown)
    return sorted(rows)


@click.command()
@click.argument("ref", metavar="SLOT|mv/NAME|model/NAME")
@namespace_option
def audit(ref: str, namespace: str | None) -> None:
    """Who did what, when: approvals, stage changes, rollouts, rollbacks and halts."""
    rows = story(Cluster.connect(namespace), ref)
    click.echo(f"{'WHEN':<21} {'OBJECT':<28} {'WHAT':<20} {'WHO':<12} DETAIL")
    for r in rows:
        click.echo(f"{r.at:<21} {r.obj:<28} {r.what:<20} {r.who:<12} {r.detail}")
