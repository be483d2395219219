"""Shadow mirroring: send a sampled share of traffic to a second model and compare.

The mirror runs after the primary has answered the caller, as a detached task with a
concurrency cap; when the cap is reached the copy is dropped and counted, so a slow or
dead shadow costs the caller nothing.  Predictions agree when every prediction column
matches: exactly for classes (strings, integers, booleans), within an absolute
tolerance for scores (floats).

Targets come from ``--shadow-upstream`` (fixed) or from ``--shadow-file`` (the operator
projects its control ConfigMap's ``shadow`` key there and rewrites it as shadow pods come and
go): JSON ``{"targets": ["http://10.1.2.3:9080", …], "percent": 100}``, copies spread round
robin; a missing, empty or unreadable file means no mirroring.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDict

from modelwarden.evaluator.engine import Evaluator
from modelwarden.evaluator.protocols import PayloadError, Row

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2


def parse_shadow_file(text: str) -> tuple[list[str], float]:
    """(targets, percent) from the shadow file; ``([], 0.0)`` when it says nothing usable.

    >>> parse_shadow_file('{"targets": ["http://127.0.0.9:9080/"], "percent": 50}')
    (['http://127.0.0.9:9080'], 50.0)
    >>> parse_shadow_file("")
    ([], 0.0)
    """
    try:
        document = json.loads(text) if text.strip() else {}
    except ValueError:
        log.warning("shadow file is not JSON; mirroring off")
        return [], 0.0
    if not isinstance(document, dict):
        return [], 0.0
    targets = [str(t).rstrip("/") for t in document.get("targets") or [] if str(t)]
    try:
        percent = min(max(float(document.get("percent", 100.0)), 0.0), 100.0)
    except (TypeError, ValueError):
        percent = 0.0
    return targets, percent if targets else 0.0


def values_agree(primary: Any, shadow: Any, tolerance: float) -> bool:
    """Exact for classes; `|a - b| <= tolerance` when either side is a float score."""
    if isinstance(primary, float) or isinstance(shadow, float):
        if isinstance(primary, bool) or isinstance(shadow, bool):
            return False
        if not isinstance(primary, int | float) or not isinstance(shadow, int | float):
            return False
        if math.isnan(primary) or math.isnan(shadow):
            return False
        return abs(primary - shadow) <= tolerance
    if isinstance(primary, list) and isinstance(shadow, list):
        return len(primary) == len(shadow) and all(
            values_agree(a, b, tolerance) for a, b in zip(primary, shadow, strict=True)
        )
    same: bool = primary == shadow
    return same


def compare_rows(primary: list[Row], shadow: list[Row], tolerance: float) -> tuple[int, int]:
    """(agreed, disagreed) row counts; rows missing on one side disagree."""
    agreed = 0
    for p, s in zip(primary, shadow, strict=False):
        if p.keys() == s.keys() and all(values_agree(p[k], s[k], tolerance) for k in p):
            agreed += 1
    compared = max(len(primary), len(shadow))
    return agreed, compared - agreed


class ShadowMirror:
    """Fire-and-forget copies of requests to the shadow target(s)."""

    def __init__(
        self,
        evaluator: Evaluator,
        session: aiohttp.ClientSession,
        upstream: str | None = None,
        file: str | None = None,
    ) -> None:
        self._evaluator = evaluator
        self._session = session
        self._file = file
        self._signature: tuple[int, int, int] | None = None
        self._polled = False
        self._slots = evaluator.config.shadow_concurrency
        self._tasks: set[asyncio.Task[None]] = set()
        self._random = random.Random()
        self.configure([upstream] if upstream else [], evaluator.config.shadow_percent)
        if file is not None:
            self.poll()

    def configure(self, targets: list[str], percent: float) -> None:
        self._targets = [t.rstrip("/") for t in targets]
        self._next = itertools.cycle(self._targets)
        self._share = percent / 100.0 if self._targets else 0.0

    def poll(self) -> None:
        """Re-read the shadow file when its inode, size or mtime changed."""
        if self._file is None:
            return
        try:
            stat = os.stat(self._file)
            signature: tuple[int, int, int] | None = (
                stat.st_ino,
                stat.st_size,
                stat.st_mtime_ns,
            )
        except OSError:
            signature = None
        if self._polled and signature == self._signature:
            return
        self._polled, self._signature = True, signature
        try:
            text = Path(self._file).read_text(errors="replace") if signature else ""
        except OSError:
            text = ""
        self.configure(*parse_shadow_file(text))

    async def watch(self) -> None:
        """Follow the shadow file until cancelled."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            self.poll()

    def _count(self, outcome: str, n: int = 1) -> None:
        self._evaluator.windows.current.shadow[outcome] += n
        self._evaluator.recorder.shadow.labels(outcome).inc(n)

    def maybe_mirror(
        self,
        method: str,
        path_qs: str,
        headers: Mapping[str, str],
        body: bytes,
        primary_body: bytes,
    ) -> None:
        """Mirror this exchange with probability `--shadow-percent`; never blocks."""
        if self._share <= 0.0 or self._random.random() >= self._share:
            return
        if len(self._tasks) >= self._slots:
            self._count("dropped")
            return
        task = asyncio.get_running_loop().create_task(
            self._mirror(method, path_qs, CIMultiDict(headers), body, primary_body)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mirror(
        self,
        method: str,
        path_qs: str,
        headers: CIMultiDict[str],
        body: bytes,
        primary_body: bytes,
    ) -> None:
        self._count("mirrored")
        try:
            async with self._session.request(
                method, next(self._next) + path_qs, headers=headers, data=body
            ) as response:
                shadow_body = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError):
            self._count("errors")
            return
        if status >= 400:
            self._count("errors")
            return
        extractor = self._evaluator.extractor()
        try:
            primary = extractor.predictions(json.loads(primary_body))
            shadow = extractor.predictions(json.loads(shadow_body))
        except (PayloadError, ValueError, RecursionError):
            self._count("errors")
            return
        agreed, disagreed = compare_rows(primary, shadow, self._evaluator.config.shadow_tolerance)
        self._count("compared", agreed + disagreed)
        if agreed:
            self._count("agreed", agreed)
        if disagreed:
            self._count("disagreed", disagreed)

    async def close(self) -> None:
        """Cancel copies still in flight (shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
