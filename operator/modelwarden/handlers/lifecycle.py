"""Operator start-up and shutdown: kopf settings, shared clients, side servers."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import kopf
from prometheus_client import start_http_server

from modelwarden.handlers import alerts_webhook
from modelwarden.handlers.context import OperatorContext
from modelwarden.k8s.kube import Kube
from modelwarden.k8s.observe import Observer
from modelwarden.k8s.realise import Realiser
from modelwarden.k8s.webhook_tls import self_signed
from modelwarden.metrics.recorder import Recorder
from modelwarden.settings import OperatorSettings

log = logging.getLogger(__name__)
PREFIX = "modelwarden.io"


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # Progress and diff-base in annotations: status belongs to our schema, and a pruned
    # status.kopf field would make kopf re-run handlers forever.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 120
    own: OperatorSettings = memo.settings
    memo.governance = own.governance
    if own.webhook_port:
        _serve_admission(settings, own)
    kube = await Kube.connect()
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0))
    recorder = Recorder()
    start_http_server(own.metrics_port, addr=own.bind_host, registry=recorder.registry)
    ctx = OperatorContext(
        settings=own,
        kube=kube,
        http=http,
        recorder=recorder,
        observer=Observer(kube, http, prometheus_url=own.prometheus_url),
        realiser=Realiser(kube, http, own.sidecar),
    )
    memo.ctx = ctx
    memo.alerts = await alerts_webhook.serve(ctx)
    log.info("modelwarden operator started; metrics on :%d", own.metrics_port)


def _serve_admission(settings: kopf.OperatorSettings, own: OperatorSettings) -> None:
    """kopf serves the ModelVersion webhook and registers its Validating/Mutating
    configurations (named ``modelwarden.io``) with our self-signed certificate as caBundle."""
    bind = "127.0.0.1" if own.bind_host == "0.0.0.0" else own.bind_host
    host = own.webhook_host or bind
    cert, key = self_signed(host)
    settings.admission.server = kopf.WebhookServer(
        addr=own.bind_host, port=own.webhook_port, host=host, certfile=cert, pkeyfile=key
    )
    settings.admission.managed = PREFIX
    log.info("admission webhook on https://%s:%d", host, own.webhook_port)


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    ctx: OperatorContext | None = getattr(memo, "ctx", None)
    if ctx is not None:
        await memo.alerts.cleanup()
        await ctx.close()
