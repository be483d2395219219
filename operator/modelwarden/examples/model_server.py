"""Sample model server for the fraud model, speaking KServe v1 and v2.

    python -m modelwarden.examples.model_server --host 127.0.0.1 --port 9000 \\
        [--name fraud] [--version v1] [--latency-ms N] [--error-rate R] [--shift S] [--seed N]

`--latency-ms` slows every inference, `--error-rate` answers that share with 500 and
`--shift` adds to the model's logit (a prediction-shifted version), so canary and
rollback scenarios can be staged with real processes.

Endpoints: `POST /v2/models/{name}/infer`, `GET /v2/health/ready|live`,
`GET /v2/models/{name}[/ready]`, `POST /v1/models/{name}:predict`, `GET /v1/models/{name}`.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from typing import Any

import click
import numpy as np
from aiohttp import web
from aiohttp.typedefs import Handler

from modelwarden.examples.fraud import INPUTS, score


@dataclass(frozen=True)
class ServerOptions:
    """Behaviour switches of one model version."""

    name: str = "fraud"
    version: str = "v1"
    latency_ms: float = 0.0
    error_rate: float = 0.0
    shift: float = 0.0
    seed: int | None = None


class BadRequest(ValueError):
    """The body does not fit the model's inputs."""


def _column(values: list[Any], name: str) -> list[Any]:
    if name in ("merchant_category", "channel"):
        return [v.decode() if isinstance(v, bytes) else str(v) for v in values]
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"input {name!r} must be numeric") from exc


def columns_from_v2(body: Any) -> dict[str, list[Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise BadRequest("expected an 'inputs' list")
    tensors = {t.get("name"): t for t in body["inputs"] if isinstance(t, dict)}
    missing = [name for name in INPUTS if name not in tensors]
    if missing:
        raise BadRequest(f"missing inputs: {missing}")
    columns = {}
    for name in INPUTS:
        data = tensors[name].get("data")
        if not isinstance(data, list):
            raise BadRequest(f"input {name!r} has no data list")
        columns[name] = _column(data, name)
    if len({len(c) for c in columns.values()}) != 1:
        raise BadRequest("inputs differ in length")
    return columns


def columns_from_v1(body: Any) -> dict[str, list[Any]]:
    instances = body.get("instances") if isinstance(body, dict) else None
    if not isinstance(instances, list) or not all(isinstance(i, dict) for i in instances):
        raise BadRequest("expected 'instances': a list of objects")
    try:
        return {name: _column([i[name] for i in instances], name) for name in INPUTS}
    except KeyError as exc:
        raise BadRequest(f"instance without {exc}") from exc


class ModelServer:
    """aiohttp handlers around `fraud.score`."""

    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self._random = random.Random(options.seed)
        #: Every request seen, so tests can prove a halted proxy left the model alone.
        self.requests_seen = 0

    @web.middleware
    async def _count(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests_seen += 1
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024, middlewares=[self._count])
        name = self.options.name
        app.router.add_post(f"/v2/models/{name}/infer", self.infer_v2)
        app.router.add_post(f"/v1/models/{name}:predict", self.predict_v1)
        for path in ("/v2/health/ready", "/v2/health/live", f"/v2/models/{name}/ready"):
            app.router.add_get(path, self.ready)
        app.router.add_get(f"/v2/models/{name}", self.metadata)
        app.router.add_get(f"/v1/models/{name}", self.ready)
        return app

    async def _predict(self, columns: dict[str, list[Any]]) -> np.ndarray[Any, Any] | None:
        if self.options.latency_ms > 0:
            await asyncio.sleep(self.options.latency_ms / 1000.0)
        if self.options.error_rate > 0 and self._random.random() < self.options.error_rate:
            return None
        scores: np.ndarray[Any, Any] = score(**columns, shift=self.options.shift)
        return scores

    def _headers(self) -> dict[str, str]:
        return {"x-model-version": self.options.version}

    async def _body(self, request: web.Request) -> Any:
        try:
            return json.loads(await request.read())
        except ValueError as exc:
            raise BadRequest("body is not JSON") from exc

    async def infer_v2(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            columns = columns_from_v2(body)
        except BadRequest as exc:
            return web.json_response({"error": str(exc)}, status=400)
        scores = await self._predict(columns)
        if scores is None:
            return web.json_response({"error": "injected failure"}, status=500)
        n = len(scores)
        answer: dict[str, Any] = {
            "model_name": self.options.name,
            "model_version": self.options.version,
            "outputs": [
                {"name": "fraud_score", "shape": [n], "datatype": "FP64", "data": scores.tolist()},
                {
                    "name": "fraud_class",
                    "shape": [n],
                    "datatype": "INT64",
                    "data": (scores >= 0.5).astype(int).tolist(),
                },
            ],
        }
        if isinstance(body.get("id"), str):
            answer["id"] = body["id"]
        return web.json_response(answer, headers=self._headers())

    async def predict_v1(self, request: web.Request) -> web.Response:
        try:
            columns = columns_from_v1(await self._body(request))
        except BadRequest as exc:
            return web.json_response({"error": str(exc)}, status=400)
        scores = await self._predict(columns)
        if scores is None:
            return web.json_response({"error": "injected failure"}, status=500)
        predictions = [{"fraud_score": s, "fraud_class": int(s >= 0.5)} for s in scores.tolist()]
        return web.json_response({"predictions": predictions}, headers=self._headers())

    async def ready(self, request: web.Request) -> web.Response:
        return web.json_response({"ready": True, "version": self.options.version})

    async def metadata(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "name": self.options.name,
                "versions": [self.options.version],
                "platform": "numpy",
                "inputs": [{"name": n} for n in INPUTS],
                "outputs": [{"name": "fraud_score"}, {"name": "fraud_class"}],
            }
        )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, required=True)
@click.option("--name", default="fraud", show_default=True, help="Model name in the URL paths.")
@click.option("--version", "version", default="v1", show_default=True)
@click.option("--latency-ms", type=float, default=0.0, show_default=True)
@click.option("--error-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--shift", type=float, default=0.0, show_default=True, help="Logit offset.")
@click.option("--seed", type=int, default=None)
def main(host: str, port: int, **behaviour: Any) -> None:
    """Serve the sample fraud model until interrupted."""
    options = ServerOptions(**behaviour)
    web.run_app(ModelServer(options).app(), host=host, port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
