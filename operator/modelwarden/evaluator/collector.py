"""Collector mode: evaluate traffic of model servers the operator does not front.

Accepts KServe payload-logger CloudEvents (`POST /` or `POST /v1/events`, binary or
structured mode) and NDJSON batches (`POST /v1/ingest`).  Each NDJSON line is either
`{"request": ..., "response": ..., "request_id": ...}` (read with the configured
protocol) or a flat row of feature and prediction values.  A collected exchange counts
as one request in the signals; latency and status are not known here and stay empty.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from modelwarden.evaluator.cloudevents import JoinTable, parse_event
from modelwarden.evaluator.control import ControlApi, json_response
from modelwarden.evaluator.engine import Evaluator, Payload
from modelwarden.evaluator.protocols import MAX_ROWS_PER_PAYLOAD, PayloadError, Row

EVENT_PATHS = frozenset({"/", "/v1/events"})
INGEST_PATH = "/v1/ingest"


class Collector:
    """Request handler of collector mode."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        config = evaluator.config
        self.joins = JoinTable(config.join_capacity, config.join_ttl_seconds, evaluator.reject)
        self.control = ControlApi(evaluator, self.readiness)

    async def readiness(self) -> tuple[bool, str]:
        """The collector has no upstream: ready as soon as it listens."""
        return True, "collector"

    async def start(self) -> None:
        self.evaluator.start()

    async def close(self) -> None:
        await self.evaluator.stop()

    async def _body(self, request: web.BaseRequest) -> bytes | None:
        limit = self.evaluator.config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return None
        body = await request.content.read(limit + 1)
        return None if len(body) > limit else body

    def _count_exchange(self) -> None:
        self.evaluator.windows.current.requests += 1

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        control = self.control.route(request.path)
        if control is not None:
            return await control(request)
        if request.method != "POST" or (
            request.path not in EVENT_PATHS and request.path != INGEST_PATH
        ):
            return json_response(404, {"error": "collector accepts POST / and /v1/ingest"})
        body = await self._body(request)
        if body is None:
            self.evaluator.reject("too_large")
            return json_response(413, {"error": "body too large"})
        if request.path == INGEST_PATH:
            return self.ingest(body)
        try:
            event = parse_event(request.headers, body)
        except PayloadError as exc:
            self.evaluator.reject(exc.reason)
            return json_response(400, {"error": str(exc)[:200]})
        payload = self.joins.add(event)
        if payload is not None:
            self._count_exchange()
            if self.evaluator.sampled():
                self.evaluator.submit(payload)
        return json_response(202, {"accepted": True, "joined": payload is not None})

    def ingest(self, body: bytes) -> web.StreamResponse:
        """NDJSON: exchanges go through the queue, flat rows straight into the window."""
        rows: list[Row] = []
        accepted = rejected = 0
        for line in body.splitlines():
            if not line.strip():
                continue
            try:
                item: Any = json.loads(line)
            except ValueError:
                self.evaluator.reject("json")
                rejected += 1
                continue
            if isinstance(item, dict) and "request" in item and "response" in item:
                request_id = item.get("request_id")
                self.evaluator.submit(
                    Payload(
                        item["request"],
                        item["response"],
                        request_id if isinstance(request_id, str) else None,
                    )
                )
            elif isinstance(item, dict) and len(rows) < MAX_ROWS_PER_PAYLOAD:
                rows.append(item)
            else:
                self.evaluator.reject(
                    "schema" if len(rows) < MAX_ROWS_PER_PAYLOAD else "too_many_rows"
                )
                rejected += 1
                continue
            self._count_exchange()
            accepted += 1
        if rows:
            self.evaluator.add_rows(rows)
        return json_response(200, {"accepted": accepted, "rejected": rejected})


async def serve(collector: Collector, host: str, port: int) -> tuple[web.Server, asyncio.Server]:
    """Start listening; returns the aiohttp server and the asyncio server to close."""
    await collector.start()
    server = web.Server(collector.handle, access_log=None)
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(server, host, port, backlog=1024, reuse_address=True)
    return server, listener
