"""The Alertmanager-compatible webhook: alerts are recorded on the slot they name, then the
slot is reconciled at once, so ``rollback.onCriticalAlerts`` acts without waiting for a tick.

Alerts are kept in the ModelDeployment's status (bounded), so they survive an operator restart
and every decision sees the same list. Configure Alertmanager with a ``webhook_configs`` URL of
``http://<operator>:<alerts-port>/alerts``; see ``decide.alerts`` for the label contract.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import UTC, datetime

from aiohttp import web

from modelwarden.api.modeldeployment import AlertRecord, ModelDeploymentStatus
from modelwarden.decide.alerts import AlertPayloadError, parse_webhook, record_alerts
from modelwarden.handlers.context import OperatorContext
from modelwarden.handlers.modeldeployment import reconcile
from modelwarden.k8s.kube import Conflict

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20
ATTEMPTS = 3


async def _record(
    ctx: OperatorContext, namespace: str, slot: str, alerts: list[AlertRecord]
) -> bool:
    """Record under the slot's lock, re-reading on a conflict (kopf's own annotation writes
    can bump the resourceVersion between our read and write)."""
    for _ in range(ATTEMPTS - 1):
        try:
            return await _record_once(ctx, namespace, slot, alerts)
        except Conflict:
            continue
    return await _record_once(ctx, namespace, slot, alerts)


async def _record_once(
    ctx: OperatorContext, namespace: str, slot: str, alerts: list[AlertRecord]
) -> bool:
    async with ctx.lock(namespace, slot):  # read-modify-write of the list: one at a time
        body = await ctx.kube.get("ModelDeployment", namespace, slot)
        if body is None:
            log.warning("alerts for unknown ModelDeployment %s/%s dropped", namespace, slot)
            return False
        status = ModelDeploymentStatus.model_validate(body.get("status") or {})
        kept = record_alerts(tuple(status.alerts), alerts, datetime.now(UTC))
        await ctx.kube.patch_status(
            "ModelDeployment",
            namespace,
            slot,
            {"alerts": [a.model_dump(by_alias=True) for a in kept]},
            body["metadata"]["resourceVersion"],
        )
    for alert in alerts:
        ctx.recorder.record_alert(namespace, slot, alert.severity)
    return True


def app(ctx: OperatorContext) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            return web.json_response({"error": "body over 1 MiB"}, status=413)
        try:
            routed = parse_webhook(json.loads(raw))
        except (ValueError, AlertPayloadError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        by_slot: dict[tuple[str, str], list[AlertRecord]] = defaultdict(list)
        for item in routed:
            by_slot[(item.namespace, item.slot)].append(item.record)
        recorded = 0
        for (namespace, slot), alerts in by_slot.items():
            if await _record(ctx, namespace, slot, alerts):
                recorded += len(alerts)
                await reconcile(ctx, namespace, slot)
        return web.json_response({"received": len(routed), "recorded": recorded})

    application = web.Application()
    application.router.add_post("/alerts", receive)
    application.router.add_post("/api/v2/alerts", receive)
    return application


async def serve(ctx: OperatorContext) -> web.AppRunner:
    runner = web.AppRunner(app(ctx))
    await runner.setup()
    await web.TCPSite(runner, ctx.settings.bind_host, ctx.settings.alerts_port).start()
    log.info("alert webhook on %s:%d/alerts", ctx.settings.bind_host, ctx.settings.alerts_port)
    return runner
