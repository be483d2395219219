"""Prometheus through its HTTP API (``GET /api/v1/query``), as Flagger's prometheus provider.

An analysis check's PromQL must return one number: a scalar, or an instant vector with at
most one sample (``sum(...)``, ``histogram_quantile(...)`` of an aggregate). An empty vector
is "no data" (``None``); more than one series is a mistake in the query and says so.
"""

from __future__ import annotations

import json
import math
from typing import Any

import aiohttp

from modelwarden.providers.base import (
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    QueryError,
    UnexpectedResult,
)

DEFAULT_TIMEOUT_SECONDS = 10.0


class PrometheusProvider:
    """Queries one Prometheus server; the aiohttp session is the caller's (shared pool)."""

    def __init__(
        self,
        address: str,
        session: aiohttp.ClientSession,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.address = address.rstrip("/")
        self._session = session
        self._timeout = timeout

    async def query(self, q: str) -> float | None:
        # Prometheus durations take no decimal point ("10.0s" is refused): whole milliseconds.
        timeout = f"{max(round(self._timeout * 1000), 1)}ms"
        data = await self._get("/api/v1/query", {"query": q, "timeout": timeout})
        return _single_value(q, data)

    async def is_online(self) -> bool:
        """True when a trivial query round-trips, which also proves the API path works."""
        try:
            return await self.query("vector(1)") == 1.0
        except ProviderError:
            return False

    async def _get(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self.address}{path}"
        try:
            async with self._session.get(
                url, params=params, timeout=aiohttp.ClientTimeout(total=self._timeout)
            ) as response:
                text = await response.text()
                status = response.status
        except TimeoutError as exc:
            raise ProviderTimeout(f"{url}: no answer within {self._timeout:g}s") from exc
        except aiohttp.ClientError as exc:
            raise ProviderUnavailable(f"{url}: {exc}") from exc
        return _decode(url, status, text)


def _decode(url: str, status: int, text: str) -> Any:
    """The ``data`` of a Prometheus API answer; the right error for anything else."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        kind = ProviderUnavailable if status >= 500 else ProviderError
        raise kind(f"{url}: HTTP {status}, not a Prometheus API answer: {text[:200]!r}")
    if body.get("status") == "success" and status == 200:
        return body.get("data")
    message = f"{url}: HTTP {status} {body.get('errorType', '')}: {body.get('error', '')}"
    if status >= 500 or body.get("errorType") in ("timeout", "canceled", "unavailable"):
        raise ProviderUnavailable(message)
    raise QueryError(message)


def _number(q: str, raw: Any) -> float | None:
    """A sample value (Prometheus sends ``[time, "value"]``); NaN is no data."""
    try:
        value = float(raw[1])
    except (TypeError, ValueError, IndexError) as exc:
        raise UnexpectedResult(f"{q!r}: unreadable sample {raw!r}") from exc
    return None if math.isnan(value) else value


def _single_value(q: str, data: Any) -> float | None:
    kind = data.get("resultType") if isinstance(data, dict) else None
    result = data.get("result") if isinstance(data, dict) else None
    if kind == "scalar":
        return _number(q, result)
    if kind == "vector" and isinstance(result, list):
        if not result:
            return None
        if len(result) > 1:
            raise UnexpectedResult(f"{q!r} returned {len(result)} series; aggregate it to one")
        sample = result[0]
        return _number(q, sample.get("value") if isinstance(sample, dict) else None)
    raise UnexpectedResult(f"{q!r} returned a {kind or 'malformed'} result, not a number")
