"""The kill switch: a watched file (projected from a ConfigMap) plus an API override.

Halt file format (whitespace around the content is ignored):

* missing file, empty file, `false` → not halted;
* `true` → halted, reason "halt file";
* a JSON object → halted exactly when `"halted": true`; optional `"reason"`, `"by"`
  and `"since"` (epoch seconds) are reported back;
* anything else → not halted, and the content is reported as unreadable in the log
  (a typo must not take a model down).

The pod is halted when the file says so OR the API (`POST /v1/halt`) says so.
`POST /v1/resume` lifts only the API halt; a file halt stays until the file changes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from modelwarden.evaluator.report import HaltStatus

log = logging.getLogger(__name__)

#: How often the halt file is checked; the brief asks for ≤ 200 ms.
POLL_SECONDS = 0.1


def parse_halt_file(text: str, *, now: float) -> HaltStatus:
    """Interpret halt file content (see the module docstring)."""
    content = text.strip()
    if content in ("", "false"):
        return HaltStatus()
    if content == "true":
        return HaltStatus(halted=True, reason="halt file", since=now, by="configmap", source="file")
    try:
        document = json.loads(content)
    except ValueError:
        log.warning("halt file content is neither true/false nor JSON; treating as not halted")
        return HaltStatus()
    if not isinstance(document, dict) or document.get("halted") is not True:
        return HaltStatus()
    since = document.get("since")
    return HaltStatus(
        halted=True,
        reason=str(document.get("reason") or "halt file"),
        since=float(since) if isinstance(since, int | float) else now,
        by=str(document.get("by") or "configmap"),
        source="file",
    )


@dataclass
class _FileState:
    signature: tuple[int, int, int] | None = None
    status: HaltStatus | None = None


class HaltSwitch:
    """Current halt state; checked on every proxied request, so reads are O(1)."""

    def __init__(self, path: str | None = None) -> None:
        self._path = Path(path) if path else None
        self._file = _FileState()
        self._api: HaltStatus | None = None
        self.status = HaltStatus()
        if self._path is not None:
            self.poll()

    @property
    def halted(self) -> bool:
        return self.status.halted

    def _refresh(self) -> None:
        for candidate in (self._file.status, self._api):
            if candidate is not None and candidate.halted:
                self.status = candidate
                return
        self.status = HaltStatus()

    def poll(self) -> None:
        """Re-read the file when its inode, size or mtime changed."""
        if self._path is None:
            return
        try:
            stat = os.stat(self._path)
        except OSError:
            signature = None
        else:
            signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if signature == self._file.signature and self._file.status is not None:
            return
        text = ""
        if signature is not None:
            try:
                text = self._path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
        previous = self._file.status
        status = parse_halt_file(text, now=time.time())
        if previous is not None and previous.halted and status.halted:
            status = status.model_copy(update={"since": previous.since})
        self._file = _FileState(signature, status)
        self._refresh()

    def halt(self, *, reason: str, by: str) -> HaltStatus:
        if self._api is None:
            self._api = HaltStatus(
                halted=True, reason=reason, since=time.time(), by=by, source="api"
            )
        self._refresh()
        return self.status

    def resume(self) -> HaltStatus:
        self._api = None
        self._refresh()
        return self.status

    async def watch_once(self) -> None:
        """Wait one poll interval, then re-check the file."""
        await asyncio.sleep(POLL_SECONDS)
        self.poll()
