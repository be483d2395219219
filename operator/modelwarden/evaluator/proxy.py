"""Proxy mode: sit on the serving port, forward to the model server, watch the traffic.

Built on aiohttp's low-level server (no router, no middlewares) and one pooled client
session to the upstream, which measured fastest of the aiohttp options (see
docs/benchmarks.md).  Bodies up to `--max-body-bytes` with a known length are buffered
and forwarded as-is; longer or chunked bodies are streamed through, buffering at most
the limit for evaluation.  The caller always gets the upstream's status, headers and
body; the proxy adds only an `x-request-id` header.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from modelwarden.evaluator.control import ControlApi, json_response
from modelwarden.evaluator.engine import Evaluator, Payload
from modelwarden.evaluator.shadow import ShadowMirror

#: Headers that describe one hop, not the message (RFC 9110 §7.6.1), plus the ones
#: aiohttp recomputes for the bytes it actually sends.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    }
)
REQUEST_ID = "x-request-id"
READY_CACHE_SECONDS = 1.0


def forward_headers(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in HOP_BY_HOP)


class _Tee:
    """Keeps the first `limit` bytes of a stream; `complete` once it is known to fit."""

    def __init__(self, limit: int, head: bytes = b"") -> None:
        self.limit = limit
        self.parts = [head] if head else []
        self.size = len(head)
        self.overflow = self.size > limit

    def add(self, chunk: bytes) -> None:
        if not self.overflow:
            self.size += len(chunk)
            if self.size > self.limit:
                self.overflow = True
                self.parts.clear()
            else:
                self.parts.append(chunk)

    def body(self) -> bytes | None:
        return None if self.overflow else b"".join(self.parts)


class Proxy:
    """The request handler of proxy mode; `serve` wires it into a listening server."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        config = evaluator.config
        self._upstream = config.upstream.rstrip("/")
        self._limit = config.max_body_bytes
        self.control = ControlApi(evaluator, self.readiness)
        self._session: aiohttp.ClientSession | None = None
        self.shadow: ShadowMirror | None = None
        self._shadow_watch: asyncio.Task[None] | None = None
        self._ready_at = 0.0
        self._ready: tuple[bool, str] = (False, "not probed yet")
        # Request ids: a random per-process prefix plus a counter, unique across pods
        # and much cheaper than a uuid4 per request.
        self._id_prefix = uuid.uuid4().hex[:12]
        self._id_counter = itertools.count(1)

    async def start(self) -> None:
        config = self.evaluator.config
        connector = aiohttp.TCPConnector(
            limit=config.upstream_connections, keepalive_timeout=30, ttl_dns_cache=60
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=config.upstream_timeout_seconds),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        if config.shadow_upstream or config.shadow_file:
            self.shadow = ShadowMirror(
                self.evaluator, self._session, config.shadow_upstream, config.shadow_file
            )
            if config.shadow_file:
                self._shadow_watch = asyncio.get_running_loop().create_task(self.shadow.watch())
        self.evaluator.start()

    async def close(self) -> None:
        if self._shadow_watch is not None:
            self._shadow_watch.cancel()
        if self.shadow is not None:
            await self.shadow.close()
        await self.evaluator.stop()
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("proxy not started")
        return self._session

    async def readiness(self) -> tuple[bool, str]:
        """Ready while the upstream answers its health path with anything but a 5xx."""
        now = time.monotonic()
        if now - self._ready_at < READY_CACHE_SECONDS and self._ready[0]:
            return self._ready
        url = self._upstream + self.evaluator.config.upstream_health_path
        try:
            async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=1.0)) as answer:
                await answer.read()
                self._ready = (answer.status < 500, f"upstream answered {answer.status}")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self._ready = (False, f"upstream unreachable: {type(exc).__name__}")
        self._ready_at = now
        return self._ready

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        control = self.control.route(request.path)
        if control is not None:
            return await control(request)
        halt = self.evaluator.halt
        if halt.halted:
            self.evaluator.record_halted()
            status = halt.status
            return json_response(
                503,
                {
                    "error": "model halted",
                    "reason": status.reason,
                    "since": status.since,
                    "by": status.by,
                },
            )
        return await self.forward(request)

    async def _request_body(self, request: web.BaseRequest) -> tuple[Any, _Tee | None]:
        """The body to send upstream: bytes when it fits the limit, else a stream.

        Returns (data, tee): `tee` collects the streamed body for evaluation.
        """
        length = request.content_length
        if length is not None and length <= self._limit:
            return (await request.content.read()) if length else None, None
        if length is None and not request.body_exists:
            return None, None
        content = request.content
        head = b""
        if length is None:
            # Chunked: buffer up to the limit; small bodies end up fully buffered.
            while len(head) <= self._limit:
                chunk = await content.readany()
                if not chunk:
                    return head, None
                head += chunk
        tee = _Tee(self._limit, head)

        async def stream() -> AsyncIterator[bytes]:
            if head:
                yield head
            async for chunk in content.iter_any():
                tee.add(chunk)
                yield chunk

        return stream(), tee

    async def forward(self, request: web.BaseRequest) -> web.StreamResponse:
        evaluator = self.evaluator
        started = time.perf_counter()
        headers = forward_headers(request.headers)
        request_id = headers.get(REQUEST_ID)
        if not request_id:
            request_id = f"{self._id_prefix}-{next(self._id_counter):x}"
            headers[REQUEST_ID] = request_id
        data, request_tee = await self._request_body(request)
        url = URL(self._upstream + request.raw_path, encoded=True)
        response: web.StreamResponse | None = None
        try:
            async with self.session.request(
                request.method, url, headers=headers, data=data, allow_redirects=False
            ) as upstream:
                response_headers = forward_headers(upstream.headers)
                response_headers[REQUEST_ID] = request_id
                length = upstream.content_length
                if length is not None and length <= self._limit and request.method != "HEAD":
                    body: bytes | None = await upstream.read()
                    response = web.Response(
                        status=upstream.status,
                        reason=upstream.reason,
                        headers=response_headers,
                        body=body,
                    )
                else:
                    response = web.StreamResponse(
                        status=upstream.status, reason=upstream.reason, headers=response_headers
                    )
                    if length is not None:
                        response.content_length = length
                    await response.prepare(request)
                    tee = _Tee(self._limit)
                    async for chunk in upstream.content.iter_any():
                        tee.add(chunk)
                        await response.write(chunk)
                    await response.write_eof()
                    body = tee.body()
                status = upstream.status
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            evaluator.record_request(0, (time.perf_counter() - started) * 1000.0)
            if response is not None and response.prepared:
                raise  # the status line is out; aiohttp drops the connection
            return json_response(
                502, {"error": "upstream unavailable", "detail": type(exc).__name__}
            )
        evaluator.record_request(status, (time.perf_counter() - started) * 1000.0)
        if request.method != "POST" or not 200 <= status < 300:
            return response
        request_body = (data or b"") if request_tee is None else request_tee.body()
        if not isinstance(request_body, bytes) or body is None:
            evaluator.reject("too_large")
            return response
        if request_body:
            if evaluator.sampled():
                evaluator.submit(Payload(request_body, body, request_id))
            if self.shadow is not None:
                self.shadow.maybe_mirror(
                    request.method, request.raw_path, headers, request_body, body
                )
        return response


async def serve(proxy: Proxy, host: str, port: int) -> tuple[web.Server, asyncio.Server]:
    """Start listening; returns the aiohttp server and the asyncio server to close."""
    await proxy.start()
    server = web.Server(proxy.handle, access_log=None)
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(server, host, port, backlog=1024, reuse_address=True)
    return server, listener
