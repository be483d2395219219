"""Real servers on 127.0.0.1 ephemeral ports: the sample model server and the evaluator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from modelwarden.drift.profile import ReferenceProfile
from modelwarden.evaluator import collector, proxy
from modelwarden.evaluator.config import EvaluatorConfig
from modelwarden.evaluator.engine import Evaluator
from modelwarden.examples.fraud import reference_profile
from modelwarden.examples.model_server import ModelServer, ServerOptions

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: Window clock of test evaluators: fixed, so no test straddles a window boundary.
FIXED_NOW = 1_800_000_030.0


@dataclass
class RunningModel:
    server: ModelServer
    url: str


@dataclass
class RunningEvaluator:
    app: proxy.Proxy | collector.Collector
    url: str

    @property
    def evaluator(self) -> Evaluator:
        return self.app.evaluator


def _port(listener: asyncio.Server) -> int:
    port: int = listener.sockets[0].getsockname()[1]
    return port


@pytest.fixture(scope="session")
def profile() -> ReferenceProfile:
    return reference_profile(3000, seed=11)


@pytest.fixture
def profile_path(tmp_path: Path, profile: ReferenceProfile) -> Path:
    path = tmp_path / "profile.json"
    path.write_text(profile.to_json())
    return path


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
async def start_model() -> AsyncIterator[Callable[..., Awaitable[RunningModel]]]:
    runners: list[web.AppRunner] = []

    async def start(**options: Any) -> RunningModel:
        server = ModelServer(ServerOptions(**options))
        runner = web.AppRunner(server.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return RunningModel(server, f"http://127.0.0.1:{port}")

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def model(start_model: Callable[..., Awaitable[RunningModel]]) -> RunningModel:
    return await start_model()


@pytest.fixture
async def start_evaluator(
    profile_path: Path, token_file: Path
) -> AsyncIterator[Callable[..., Awaitable[RunningEvaluator]]]:
    running: list[tuple[RunningEvaluator, web.Server, asyncio.Server]] = []

    async def start(
        mode: str = "proxy", clock: Callable[[], float] = lambda: FIXED_NOW, **overrides: Any
    ) -> RunningEvaluator:
        settings: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "profile_path": str(profile_path),
            "token_file": str(token_file),
        }
        settings.update(overrides)
        config = EvaluatorConfig(**settings)
        evaluator = Evaluator(config, mode="proxy" if mode == "proxy" else "collector", clock=clock)
        app: proxy.Proxy | collector.Collector
        if mode == "proxy":
            app = proxy.Proxy(evaluator)
            server, listener = await proxy.serve(app, "127.0.0.1", 0)
        else:
            app = collector.Collector(evaluator)
            server, listener = await collector.serve(app, "127.0.0.1", 0)
        handle = RunningEvaluator(app, f"http://127.0.0.1:{_port(listener)}")
        running.append((handle, server, listener))
        return handle

    yield start
    for handle, server, listener in running:
        listener.close()
        await listener.wait_closed()
        await server.shutdown(1.0)
        await handle.app.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def report(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with http.get(url + "/v1/report", headers=AUTH) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def settle(evaluator: Evaluator) -> None:
    """Let the background worker finish what was queued (bounded number of turns)."""
    for _ in range(100):
        await asyncio.sleep(0)
    await evaluator.drain()
