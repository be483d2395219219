"""The evaluation core shared by proxy and collector: windows, queue, feedback, report.

Requests only ever call the cheap, non-blocking methods here (`record_request`,
`submit`); decoding JSON and summarising rows happens in `run_worker`, a background task
draining a bounded queue.  When the queue is full the payload is dropped and counted, so
a slow evaluation can never hold up or grow the proxy path.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from modelwarden.evaluator.config import EvaluatorConfig
from modelwarden.evaluator.feedback import (
    LabelItem,
    PredictionStore,
    label_rows,
    predicted_class,
)
from modelwarden.evaluator.halt import HaltSwitch
from modelwarden.evaluator.profiles import ProfileSource
from modelwarden.evaluator.protocols import Extracted, Extractor, PayloadError, Row
from modelwarden.evaluator.recorder import Recorder
from modelwarden.evaluator.report import EvaluatorReport
from modelwarden.evaluator.windows import Windows

log = logging.getLogger(__name__)

#: Payloads decoded per worker turn before yielding to the event loop (~25 µs each).
BATCH = 16
#: Rows are handed to the window summary in batches: each call has a fixed numpy cost
#: (~0.2 ms), so batching keeps evaluation cheap per request while one flush never
#: stalls the event loop for long (~0.5 ms for 256 rows).
FLUSH_ROWS = 256
FLUSH_SECONDS = 0.25
#: How often the profile file is checked for changes.
PROFILE_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Payload:
    """Bodies of one exchange waiting for evaluation; either side may be missing."""

    request: bytes | Any | None
    response: bytes | Any | None
    request_id: str | None = None


def decode(body: bytes | Any | None) -> Any:
    """JSON bytes → object (already-decoded values pass through); PayloadError if bad."""
    if body is None or not isinstance(body, bytes | bytearray):
        return body
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("json", str(exc)[:80]) from exc


class TokenFile:
    """The bearer token, re-read when the mounted Secret file changes."""

    def __init__(self, path: str | None) -> None:
        self._path = Path(path) if path else None
        self._signature: tuple[int, int] | None = None
        self._token = b""

    def _current(self) -> bytes:
        if self._path is None:
            return b""
        try:
            stat = os.stat(self._path)
        except OSError:
            return b""
        signature = (stat.st_size, stat.st_mtime_ns)
        if signature != self._signature:
            with contextlib.suppress(OSError):
                self._token = self._path.read_bytes().strip()
                self._signature = signature
        return self._token

    def allows(self, authorization: str | None) -> bool:
        """True for `Bearer <token>` matching the file; never without a configured token."""
        token = self._current()
        if not token or not authorization or not authorization.startswith("Bearer "):
            return False
        return hmac.compare_digest(authorization[7:].strip().encode(), token)


class Evaluator:
    """State of one evaluator process (see the module docstring)."""

    def __init__(
        self,
        config: EvaluatorConfig,
        *,
        mode: Literal["proxy", "collector"] = "proxy",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.mode = mode
        self.recorder = Recorder()
        self.profiles = ProfileSource(config.profile_path)
        self.profiles.poll()
        self.windows = Windows(config.window_seconds, self.profiles.new_summary, clock)
        self.halt = HaltSwitch(config.halt_file)
        self.token = TokenFile(config.token_file)
        self.predictions = PredictionStore(config.feedback_capacity)
        self._extractor_version = -1
        self._extractor = Extractor()
        self._queue: asyncio.Queue[Payload] = asyncio.Queue(maxsize=config.queue_size)
        self._tasks: list[asyncio.Task[None]] = []
        self._random = random.Random()
        self._pending: list[Row] = []

    # ------------------------------------------------------------ request path
    def record_request(self, status: int, latency_ms: float) -> None:
        """Count one answered (or failed, status 0) request in the window and metrics."""
        self.windows.current.record_request(status, latency_ms)
        recorder = self.recorder
        if status:
            recorder.requests.labels(f"{status // 100}xx").inc()
        else:
            recorder.upstream_errors.inc()
        recorder.latency.observe(latency_ms / 1000.0)

    def record_halted(self) -> None:
        self.windows.current.halted += 1
        self.recorder.halted_requests.inc()

    def sampled(self) -> bool:
        rate = self.config.sample_rate
        return rate >= 1.0 or (rate > 0.0 and self._random.random() < rate)

    def submit(self, payload: Payload) -> None:
        """Queue a payload for evaluation without waiting; full queue → drop and count."""
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.windows.current.dropped += 1
            self.recorder.dropped.inc()

    def reject(self, reason: str) -> None:
        self.windows.current.rejected[reason] += 1
        self.recorder.rejected.labels(reason).inc()

    # ------------------------------------------------------------ evaluation
    def extractor(self) -> Extractor:
        """The protocol reader for the current profile (rebuilt after a reload)."""
        if self._extractor_version != self.profiles.version:
            self._extractor = Extractor(
                self.config.protocol, self.profiles.layout, self.config.json_paths
            )
            self._extractor_version = self.profiles.version
        return self._extractor

    def extract(self, payload: Payload) -> Extracted | None:
        """Decode and read one payload; counts and swallows any failure."""
        try:
            return self.extractor().extract(decode(payload.request), decode(payload.response))
        except PayloadError as exc:
            self.reject(exc.reason)
        except (RecursionError, MemoryError):
            self.reject("too_deep")
        return None

    def evaluate(self, payloads: list[Payload]) -> None:
        """Read payloads into pending rows; flushed to the summary in batches."""
        pending = self._pending
        for payload in payloads:
            extracted = self.extract(payload)
            if extracted is None:
                continue
            joined = extracted.rows()
            pending.extend(joined)
            if payload.request_id is not None and joined:
                self.predictions.put(payload.request_id, joined)
        if len(pending) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Hand pending rows to the current window's summary."""
        if self._pending:
            rows, self._pending = self._pending, []
            self.add_rows(rows)

    def add_rows(self, rows: list[Row]) -> None:
        """Count already-extracted rows (also used by the collector's NDJSON path)."""
        try:
            self.windows.current.add_rows(rows)
        except Exception:  # the drift engine promises not to raise; stay up if it does
            log.exception("window summary rejected a batch")
            self.reject("summary")
            return
        self.recorder.samples.inc(len(rows))

    async def run_worker(self) -> None:
        """Drain the queue in small batches forever (cancel to stop)."""
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            self.recorder.queue_depth.set(queue.qsize())
            self.evaluate(batch)
            await asyncio.sleep(0)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.flush()

    async def drain(self) -> None:
        """Evaluate whatever is queued right now and flush it (tests and shutdown)."""
        batch: list[Payload] = []
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        self.evaluate(batch)
        self.flush()

    # ------------------------------------------------------------ feedback
    def add_feedback(self, items: list[LabelItem]) -> dict[str, int]:
        """Join labels to stored predictions; counts joined, unmatched and misaligned."""
        window = self.windows.current
        outcome = self.profiles.outcome
        label_name = outcome.label if outcome and outcome.label else "label"
        prediction_name = outcome.prediction if outcome else self.profiles.layout.prediction
        protected = outcome.protected if outcome else ()
        result = {"joined": 0, "unmatched": 0, "misaligned": 0}
        labelled: list[Row] = []
        for item in items:
            window.feedback["received"] += 1
            rows = self.predictions.pop(item.request_id)
            joined = None if rows is None else label_rows(rows, item.labels, label_name)
            if joined is None:
                key = "unmatched" if rows is None else "misaligned"
                result[key] += 1
                window.feedback["unmatched"] += 1
                self.recorder.feedback.labels(key).inc()
                continue
            result["joined"] += 1
            window.feedback["joined"] += 1
            self.recorder.feedback.labels("joined").inc()
            labelled.extend(joined)
            for row in joined:
                cls = predicted_class(row.get(prediction_name), outcome)
                label = predicted_class(row.get(label_name), None)
                window.confusion[("", "", cls, label)] += 1
                for feature in protected:
                    group = predicted_class(row.get(feature), None)
                    window.confusion[(feature, group, cls, label)] += 1
        if labelled and window.labelled is not None:
            try:
                window.labelled.add_rows(labelled)
            except Exception:
                log.exception("labelled summary rejected a batch")
                self.reject("summary")
        return result

    # ------------------------------------------------------------ report
    def report(self) -> EvaluatorReport:
        self.flush()
        last = self.windows.last_closed
        return EvaluatorReport(
            pod=self.config.pod_name,
            mode=self.mode,
            generated_at=time.time(),
            window_seconds=self.windows.seconds,
            halt=self.halt.status,
            current=self.windows.current.report(closed=False),
            last_closed=None if last is None else last.report(closed=True),
        )

    # ------------------------------------------------------------ lifecycle
    async def _watch_profile(self) -> None:
        while True:
            await asyncio.sleep(PROFILE_POLL_SECONDS)
            if self.profiles.poll():
                self.recorder.profile_reloads.labels("loaded").inc()
                self.windows.refresh_summary()

    async def _watch_halt(self) -> None:
        while True:
            await self.halt.watch_once()
            self.recorder.halted.set(1 if self.halt.halted else 0)

    def start(self) -> None:
        """Start the background tasks (worker, halt and profile watchers)."""
        loop = asyncio.get_running_loop()
        for coroutine in (
            self.run_worker(),
            self._flush_periodically(),
            self._watch_profile(),
            self._watch_halt(),
        ):
            self._tasks.append(loop.create_task(coroutine))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
