"""Talking to the evaluator sidecars: pull their reports, push the halt switch.

Reports are pulled from every ready pod concurrently with a short timeout: a pod that does not
answer is left out of the merge (and named in the log), never allowed to stall a reconcile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import aiohttp

from modelwarden.decide.children import EVALUATOR_PORT
from modelwarden.evaluator.report import EvaluatorReport, MergedReport, merge_reports

log = logging.getLogger(__name__)
Obj = dict[str, Any]
TIMEOUT = aiohttp.ClientTimeout(total=2.0)


def ready_pods(pods: Iterable[Obj]) -> list[Obj]:
    """Pods that are Ready, have an IP and are not being deleted."""
    out = []
    for pod in pods:
        status = pod.get("status", {})
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions", [])
        )
        if ready and status.get("podIP") and not pod["metadata"].get("deletionTimestamp"):
            out.append(pod)
    return out


def _url(pod: Obj, path: str) -> str:
    return f"http://{pod['status']['podIP']}:{EVALUATOR_PORT}{path}"


async def _report(session: aiohttp.ClientSession, pod: Obj, token: str) -> EvaluatorReport | None:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with session.get(_url(pod, "/v1/report"), headers=headers) as response:
            response.raise_for_status()
            return EvaluatorReport.model_validate_json(await response.read())
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("no report from pod %s: %s", pod["metadata"]["name"], exc)
        return None


async def merged_report(
    session: aiohttp.ClientSession, pods: Iterable[Obj], token: str
) -> MergedReport | None:
    """The reports of every ready pod, merged; None when no pod answered."""
    answers = await asyncio.gather(*(_report(session, pod, token) for pod in ready_pods(pods)))
    reports = [r for r in answers if r is not None]
    return merge_reports(reports) if reports else None


async def _switch(session: aiohttp.ClientSession, pod: Obj, token: str, body: Obj | None) -> bool:
    path = "/v1/halt" if body is not None else "/v1/resume"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with session.post(_url(pod, path), json=body or {}, headers=headers) as response:
            return response.status < 400
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("could not %s pod %s: %s", path, pod["metadata"]["name"], exc)
        return False


async def push_halt(
    session: aiohttp.ClientSession,
    pods: Iterable[Obj],
    token: str,
    *,
    halted: bool,
    reason: str = "",
    by: str = "",
) -> int:
    """Halt (or resume) every reachable pod at once; returns how many acknowledged.

    This is the fast path (well under a second); the control ConfigMap is the durable one
    that also covers pods started later.
    """
    body = {"reason": reason, "by": by} if halted else None
    targets = [p for p in pods if p.get("status", {}).get("podIP")]
    results = await asyncio.gather(*(_switch(session, pod, token, body) for pod in targets))
    return sum(results)
