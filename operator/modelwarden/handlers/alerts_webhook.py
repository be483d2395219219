"""The Alertmanager-compatible webhook: alerts are recorded on the slot they name, then the
slot is reconciled at once, so ``rollback.onCriticalAlerts`` acts without waiting for a tick.

Alerts are kept in the ModelDeployment's status (bounded), so they survive an operator restart
and every decision sees the same list. Configure Alertmanager with a ``webhook_configs`` URL of
``http://<operator>:<alerts-port>/alerts``; see ``decide.alerts`` for the label contract.

An alert can roll a slot back, so with ``--alerts-token-file`` only requests carrying that
bearer token are heard (Alertmanager: ``http_config.authorization``); the file is re-read
when it changes, so a rotated Secret takes effect without a restart.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

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


class TokenFile:
    """The bearer token the webhook requires, read from a file (a mounted Secret key) and
    re-read whenever the file's modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: float | None = None
        self._token = ""

    def token(self) -> str:
        try:
            stamp = self.path.stat().st_mtime
        except OSError:
            log.error("alerts token file %s is unreadable: refusing every alert", self.path)
            return ""
        if stamp != self._stamp:
            self._token, self._stamp = self.path.read_text().strip(), stamp
            if not self._token:
                log.error("alerts token file %s is empty: refusing every alert", self.path)
        return self._token

    def admits(self, authorization: str) -> bool:
        """True for ``Bearer <token>`` with the current token (compared in constant time)."""
        scheme, _, given = authorization.partition(" ")
        expected = self.token()
        return (
            bool(expected)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), expected.encode())
        )


def app(ctx: OperatorContext) -> web.Application:
    token_path = ctx.settings.alerts_token_file
    tokens = TokenFile(Path(token_path)) if token_path else None

    async def receive(request: web.Request) -> web.Response:
        if tokens is not None and not tokens.admits(request.headers.get("Authorization", "")):
            log.warning("alerts from %s refused: missing or wrong bearer token", request.remote)
            return web.json_response(
                {"error": "missing or wrong bearer token (see --alerts-token-file)"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="modelwarden-alerts"'},
            )
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
    if not ctx.settings.alerts_token_file:
        log.warning(
            "the alert webhook accepts alerts from anyone who can reach it, and alerts can "
            "roll slots back: pass --alerts-token-file (the Helm chart does)"
        )
    return runner
