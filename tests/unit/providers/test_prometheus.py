"""The Prometheus provider against canned HTTP API answers, and once against real Prometheus.

The real-binary test needs Debian's ``prometheus`` package (``/usr/bin/prometheus``); it
fails, never skips, when the binary is missing, so CI cannot pass without exercising it.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from modelwarden.providers.base import (
    MetricProvider,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    QueryError,
    UnexpectedResult,
)
from modelwarden.providers.prometheus import PrometheusProvider

TS = 1_763_892_000.0
Canned = tuple[int, Any]  # HTTP status, JSON body (or raw text)


def _ok(result_type: str, result: Any) -> Canned:
    return 200, {"status": "success", "data": {"resultType": result_type, "result": result}}


def _error(status: int, error_type: str, error: str) -> Canned:
    return status, {"status": "error", "errorType": error_type, "error": error}


class CannedPrometheus:
    """A local HTTP server answering /api/v1/query from a table keyed by the query."""

    def __init__(self) -> None:
        self.answers: dict[str, Canned] = {}
        self.delay = 0.0
        self.seen: list[dict[str, str]] = []
        self.app = web.Application()
        self.app.router.add_get("/api/v1/query", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(dict(request.query))
        await asyncio.sleep(self.delay)
        status, body = self.answers.get(request.query.get("query", ""), _ok("vector", []))
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)


@pytest.fixture
async def canned() -> AsyncIterator[tuple[CannedPrometheus, str]]:
    server = CannedPrometheus()
    runner = web.AppRunner(server.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield server, f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(_ok("scalar", [TS, "0.25"]), 0.25, id="scalar"),
        pytest.param(_ok("vector", [{"metric": {}, "value": [TS, "3"]}]), 3.0, id="one-sample"),
        pytest.param(_ok("vector", []), None, id="empty-vector-is-no-data"),
        pytest.param(_ok("scalar", [TS, "NaN"]), None, id="nan-is-no-data"),
        pytest.param(_ok("scalar", [TS, "+Inf"]), math.inf, id="infinity-kept"),
    ],
)
async def test_query_values(
    canned: tuple[CannedPrometheus, str],
    session: aiohttp.ClientSession,
    answer: Canned,
    expected: float | None,
) -> None:
    server, url = canned
    server.answers["q"] = answer
    assert await PrometheusProvider(url, session).query("q") == expected


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        pytest.param(
            _ok("vector", [{"metric": {"a": "1"}, "value": [TS, "1"]}] * 2),
            UnexpectedResult,
            "2 series",
            id="two-series",
        ),
        pytest.param(_ok("matrix", []), UnexpectedResult, "matrix", id="range-vector"),
        pytest.param(_ok("string", [TS, "x"]), UnexpectedResult, "string", id="string"),
        pytest.param(_ok("scalar", [TS, "abc"]), UnexpectedResult, "unreadable", id="bad-number"),
        pytest.param(
            _error(400, "bad_data", 'parse error: unexpected "}"'),
            QueryError,
            "bad_data: parse error",
            id="bad-promql",
        ),
        pytest.param(
            _error(422, "execution", "many-to-many matching not allowed"),
            QueryError,
            "many-to-many",
            id="execution-error",
        ),
        pytest.param(
            _error(503, "timeout", "query timed out"), ProviderUnavailable, "timed out", id="503"
        ),
        pytest.param((502, "<html>bad gateway</html>"), ProviderUnavailable, "502", id="proxy-502"),
        pytest.param((200, "not json"), ProviderError, "not a Prometheus", id="not-json"),
    ],
)
async def test_query_errors(
    canned: tuple[CannedPrometheus, str],
    session: aiohttp.ClientSession,
    answer: Canned,
    error: type[Exception],
    message: str,
) -> None:
    server, url = canned
    server.answers["q"] = answer
    with pytest.raises(error, match=message):
        await PrometheusProvider(url, session).query("q")


async def test_query_is_sent_encoded_with_a_server_timeout(
    canned: tuple[CannedPrometheus, str], session: aiohttp.ClientSession
) -> None:
    server, url = canned
    q = 'sum(rate(http_requests_total{code=~"5..", app="a b"}[1m])) / 2'
    await PrometheusProvider(url + "/", session, timeout=3).query(q)
    assert server.seen == [{"query": q, "timeout": "3000ms"}]


async def test_slow_answer_times_out(
    canned: tuple[CannedPrometheus, str], session: aiohttp.ClientSession
) -> None:
    server, url = canned
    server.delay = 1.0
    with pytest.raises(ProviderTimeout, match=r"no answer within 0\.1s"):
        await PrometheusProvider(url, session, timeout=0.1).query("q")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_unreachable_server(session: aiohttp.ClientSession) -> None:
    provider = PrometheusProvider(f"http://127.0.0.1:{_free_port()}", session)
    with pytest.raises(ProviderUnavailable):
        await provider.query("q")
    assert not await provider.is_online()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(_ok("vector", [{"metric": {}, "value": [TS, "1"]}]), True, id="answers"),
        pytest.param(_error(503, "unavailable", "starting"), False, id="not-ready"),
        pytest.param(_ok("vector", []), False, id="wrong-answer"),
    ],
)
async def test_is_online(
    canned: tuple[CannedPrometheus, str],
    session: aiohttp.ClientSession,
    answer: Canned,
    expected: bool,
) -> None:
    server, url = canned
    server.answers["vector(1)"] = answer
    provider: MetricProvider = PrometheusProvider(url, session)
    assert await provider.is_online() is expected


# -- the real Prometheus binary -----------------------------------------------------------


@pytest.fixture
def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("the prometheus binary is missing: apt-get install -y prometheus")
    return binary


@pytest.fixture
async def scraped_target() -> AsyncIterator[int]:
    """A /metrics endpoint with two known series for Prometheus to scrape."""

    async def metrics(_: web.Request) -> web.Response:
        text = 'mw_test_requests{code="200"} 90\nmw_test_requests{code="500"} 10\n'
        return web.Response(text=text, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield port
    await runner.cleanup()


@pytest.fixture
def real_prometheus(prometheus_binary: str, scraped_target: int, tmp_path: Path) -> Iterator[str]:
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: target\n    static_configs: [{{targets: ['127.0.0.1:{scraped_target}']}}]\n"
    )
    port = _free_port()
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            prometheus_binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


async def test_real_prometheus(real_prometheus: str, session: aiohttp.ClientSession) -> None:
    # The default timeout (10.0 s) as the operator uses it: Prometheus must accept its format.
    provider = PrometheusProvider(real_prometheus, session)
    error_share = 'sum(mw_test_requests{code="500"}) / sum(mw_test_requests)'
    for _ in range(300):  # until started and scraped once (bounded; no timing assertion)
        if await provider.is_online() and await provider.query(error_share) is not None:
            break
        await asyncio.sleep(0.1)
    assert await provider.query(error_share) == 0.1
    assert await provider.query("scalar(sum(mw_test_requests))") == 100.0
    assert await provider.query("mw_test_missing") is None
    with pytest.raises(UnexpectedResult, match="2 series"):
        await provider.query("mw_test_requests")
    with pytest.raises(QueryError, match="bad_data"):
        await provider.query("sum(")
