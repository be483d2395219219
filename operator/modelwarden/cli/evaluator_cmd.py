"""`modelwarden evaluator proxy|collect`: run the monitoring sidecar (docs/evaluator.md)."""

from __future__ import annotations

import asyncio
import gc
import importlib
import importlib.util
import logging
import signal
from collections.abc import Callable
from typing import Any

import click

from modelwarden.evaluator import collector, proxy
from modelwarden.evaluator.config import EvaluatorConfig, default_host, parse_duration
from modelwarden.evaluator.engine import Evaluator
from modelwarden.evaluator.protocols import PROTOCOLS, JsonPath, JsonPaths

log = logging.getLogger(__name__)


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _common(function: Callable[..., Any]) -> Callable[..., Any]:
    """Flags shared by proxy and collector."""
    options = [
        click.option("--host", default=default_host, show_default="$POD_IP or 0.0.0.0"),
        click.option("--port", type=int, default=8080, show_default=True),
        click.option("--protocol", type=click.Choice(PROTOCOLS), default="auto", show_default=True),
        click.option(
            "--feature-path",
            default="$.instances[*]",
            show_default=True,
            help="JSON path of input rows (protocol json).",
        ),
        click.option(
            "--prediction-path",
            default="$.predictions[*]",
            show_default=True,
            help="JSON path of predictions (protocol json).",
        ),
        click.option("--window", default="60s", show_default=True, callback=_duration),
        click.option(
            "--sample-rate",
            type=click.FloatRange(0, 1),
            default=1.0,
            show_default=True,
            help="Share of payloads evaluated.",
        ),
        click.option("--queue-size", type=click.IntRange(1), default=1024, show_default=True),
        click.option(
            "--max-body-bytes",
            type=click.IntRange(1),
            default=4 * 1024 * 1024,
            show_default=True,
            help="Largest body buffered for evaluation.",
        ),
        click.option(
            "--profile",
            "profile_path",
            default=None,
            help="Reference profile JSON; reloaded when it changes.",
        ),
        click.option(
            "--token-file",
            default=None,
            help="Bearer token for /v1/report, /v1/halt, /v1/resume, /v1/feedback.",
        ),
        click.option("--halt-file", default=None, help="Watched halt switch file."),
        click.option(
            "--feedback-capacity",
            type=click.IntRange(1),
            default=10_000,
            show_default=True,
            help="Predictions kept for joining late labels.",
        ),
        click.option("--pod-name", envvar="POD_NAME", default="", help="Name in reports."),
        click.option("--log-level", default="INFO", show_default=True),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _config(**flags: Any) -> EvaluatorConfig:
    try:
        paths = JsonPaths(
            JsonPath.parse(flags.pop("feature_path")),
            JsonPath.parse(flags.pop("prediction_path")),
        )
        return EvaluatorConfig(window_seconds=flags.pop("window"), json_paths=paths, **flags)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def _install_loop() -> None:
    """uvloop when installed: it cuts the proxy's per-request CPU (docs/benchmarks.md)."""
    if importlib.util.find_spec("uvloop") is not None:
        uvloop = importlib.import_module("uvloop")
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def _run(kind: str, config: EvaluatorConfig) -> None:
    evaluator = Evaluator(config, mode="proxy" if kind == "proxy" else "collector")
    app: proxy.Proxy | collector.Collector
    if kind == "proxy":
        app = proxy.Proxy(evaluator)
        server, listener = await proxy.serve(app, config.host, config.port)
    else:
        app = collector.Collector(evaluator)
        server, listener = await collector.serve(app, config.host, config.port)
    log.info("evaluator %s listening on %s:%d", kind, config.host, config.port)
    # Imports, the profile and the server are long-lived: moving them out of the
    # collector's generations keeps full GC passes (and their pauses) short.
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    listener.close()
    await listener.wait_closed()
    # Idle keep-alive connections (the operator pulling reports) close now; only requests in
    # flight get up to 5 s. Without this, shutdown waits out the timeout on every idle one.
    server.pre_shutdown()
    await server.shutdown(5.0)
    await app.close()


@click.group()
def evaluator() -> None:
    """The monitoring sidecar: a proxy in front of the model, or a payload collector."""


@evaluator.command("proxy")
@_common
@click.option("--upstream", required=True, help="Model server base URL, http://HOST:PORT.")
@click.option("--upstream-health-path", default="/v2/health/ready", show_default=True)
@click.option(
    "--upstream-timeout",
    "upstream_timeout_seconds",
    default="60s",
    callback=_duration,
    show_default=True,
)
@click.option("--shadow-upstream", default=None, help="Shadow model base URL.")
@click.option(
    "--shadow-file",
    default=None,
    help='Watched JSON {"targets": [URL, …], "percent": P}: shadow targets that may change.',
)
@click.option("--shadow-percent", type=click.FloatRange(0, 100), default=0.0, show_default=True)
@click.option(
    "--shadow-tolerance",
    type=float,
    default=1e-6,
    show_default=True,
    help="Largest score difference that still agrees.",
)
@click.option("--shadow-concurrency", type=click.IntRange(1), default=64, show_default=True)
def proxy_command(log_level: str, **flags: Any) -> None:
    """Forward traffic to --upstream and evaluate it."""
    logging.basicConfig(level=log_level.upper())
    _install_loop()
    asyncio.run(_run("proxy", _config(**flags)))


@evaluator.command("collect")
@_common
@click.option("--join-capacity", type=click.IntRange(1), default=10_000, show_default=True)
@click.option(
    "--join-ttl",
    "join_ttl_seconds",
    default="60s",
    callback=_duration,
    show_default=True,
    help="How long a request event waits for its response.",
)
def collect_command(log_level: str, **flags: Any) -> None:
    """Accept KServe payload-logger CloudEvents and NDJSON batches."""
    logging.basicConfig(level=log_level.upper())
    _install_loop()
    asyncio.run(_run("collector", _config(**flags)))
