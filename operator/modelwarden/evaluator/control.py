"""The evaluator's own endpoints, shared by proxy and collector.

`/healthz`, `/readyz` and `/metrics` are open (kubelet and Prometheus call them);
`/v1/report`, `/v1/halt`, `/v1/resume` and `/v1/feedback` need the bearer token from
`--token-file` and answer 401 without it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from modelwarden.evaluator.engine import Evaluator
from modelwarden.evaluator.feedback import parse_feedback

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
Readiness = Callable[[], Awaitable[tuple[bool, str]]]

#: Largest control request body (feedback batches, halt reasons).
CONTROL_BODY_LIMIT = 1024 * 1024


def json_response(status: int, document: Any) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(document, separators=(",", ":")).encode(),
        content_type="application/json",
    )


async def read_json(request: web.BaseRequest, limit: int) -> Any:
    """The request body as JSON, or None when empty; ValueError when bad or too big."""
    if request.content_length is not None and request.content_length > limit:
        raise ValueError("body too large")
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise ValueError("body too large")
    return json.loads(body) if body.strip() else None


class ControlApi:
    """Maps control paths to handlers; `route` returns None for everything else."""

    def __init__(self, evaluator: Evaluator, readiness: Readiness) -> None:
        self._evaluator = evaluator
        self._readiness = readiness
        self.routes: dict[str, tuple[str, bool, Handler]] = {
            "/healthz": ("GET", False, self.healthz),
            "/readyz": ("GET", False, self.readyz),
            "/metrics": ("GET", False, self.metrics),
            "/v1/report": ("GET", True, self.report),
            "/v1/halt": ("POST", True, self.halt),
            "/v1/resume": ("POST", True, self.resume),
            "/v1/feedback": ("POST", True, self.feedback),
        }

    def route(self, path: str) -> Handler | None:
        entry = self.routes.get(path)
        if entry is None:
            return None
        method, private, handler = entry

        async def guarded(request: web.BaseRequest) -> web.StreamResponse:
            if request.method != method and not (method == "GET" and request.method == "HEAD"):
                return json_response(405, {"error": f"use {method}"})
            if private and not self._evaluator.token.allows(request.headers.get("Authorization")):
                return json_response(401, {"error": "missing or wrong bearer token"})
            return await handler(request)

        return guarded

    async def healthz(self, request: web.BaseRequest) -> web.StreamResponse:
        return json_response(200, {"status": "ok"})

    async def readyz(self, request: web.BaseRequest) -> web.StreamResponse:
        ready, detail = await self._readiness()
        return json_response(200 if ready else 503, {"ready": ready, "detail": detail})

    async def metrics(self, request: web.BaseRequest) -> web.StreamResponse:
        response = web.Response(body=self._evaluator.recorder.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def report(self, request: web.BaseRequest) -> web.StreamResponse:
        report = self._evaluator.report()
        return web.Response(body=report.model_dump_json().encode(), content_type="application/json")

    async def halt(self, request: web.BaseRequest) -> web.StreamResponse:
        try:
            document = await read_json(request, CONTROL_BODY_LIMIT) or {}
        except ValueError:
            return json_response(400, {"error": "body must be a small JSON object"})
        if not isinstance(document, dict):
            return json_response(400, {"error": "body must be a JSON object"})
        status = self._evaluator.halt.halt(
            reason=str(document.get("reason") or "halted by API"),
            by=str(document.get("by") or "api"),
        )
        self._evaluator.recorder.halted.set(1)
        return json_response(200, status.model_dump())

    async def resume(self, request: web.BaseRequest) -> web.StreamResponse:
        status = self._evaluator.halt.resume()
        self._evaluator.recorder.halted.set(1 if status.halted else 0)
        code = 409 if status.halted else 200
        return json_response(code, status.model_dump())

    async def feedback(self, request: web.BaseRequest) -> web.StreamResponse:
        try:
            items = parse_feedback(await read_json(request, CONTROL_BODY_LIMIT))
        except ValueError as exc:
            self._evaluator.reject("feedback")
            return json_response(400, {"error": str(exc)[:200]})
        return json_response(200, self._evaluator.add_feedback(items))
