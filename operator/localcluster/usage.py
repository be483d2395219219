"""CPU and memory of the pod processes, read from /proc: the local cluster's cAdvisor.

Each container is a process group (the runner starts it in its own session), so its usage is
the sum over every process in that group. CPU is a rate, so a container is reported only once
two samples at least `MIN_SPAN_SECONDS` apart exist, averaged over the last `window` seconds,
the way metrics-server turns two cumulative kubelet readings into a usage.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

WINDOW_SECONDS = 5.0
MIN_SPAN_SECONDS = 1.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class Reading:
    """Cumulative CPU seconds and resident memory of one process group at wall time `at`."""

    at: float
    cpu_seconds: float
    memory_bytes: int


@dataclass(frozen=True)
class Usage:
    """What the metrics API reports for one container."""

    timestamp: float
    window_seconds: float
    cpu_cores: float
    memory_bytes: int


def usage_of(readings: Iterable[Reading], window: float) -> Usage | None:
    """Average CPU over the newest `window` seconds of `readings` (oldest first); None until
    they span `MIN_SPAN_SECONDS`.

    >>> rs = [Reading(0.0, 1.0, 10), Reading(1.0, 1.5, 20), Reading(2.0, 2.5, 30)]
    >>> usage_of(rs, window=5.0)
    Usage(timestamp=2.0, window_seconds=2.0, cpu_cores=0.75, memory_bytes=30)
    >>> usage_of(rs, window=1.0).cpu_cores
    1.0
    >>> usage_of(rs[:1], window=5.0) is None
    True
    """
    newest_first = list(readings)[::-1]
    if not newest_first:
        return None
    last = newest_first[0]
    first = last
    for reading in newest_first[1:]:
        if last.at - reading.at > window:
            break
        first = reading
    span = last.at - first.at
    if span < MIN_SPAN_SECONDS:
        return None
    cpu = (last.cpu_seconds - first.cpu_seconds) / span
    return Usage(last.at, span, cpu, last.memory_bytes)


def read_groups(pgids: Iterable[int], proc: Path = Path("/proc")) -> dict[int, tuple[float, int]]:
    """(CPU seconds, RSS bytes) summed per process group, for the groups in `pgids`."""
    wanted = set(pgids)
    totals: dict[int, tuple[float, int]] = {}
    for entry in os.scandir(proc):
        if not entry.name.isdigit():
            continue
        try:
            fields = (proc / entry.name / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we were looking
        # After the command name: state=0, pgrp=2, utime=11, stime=12, rss=21 (see proc(5)).
        pgrp = int(fields[2])
        if pgrp not in wanted:
            continue
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        rss = int(fields[21]) * PAGE_SIZE
        before = totals.get(pgrp, (0.0, 0))
        totals[pgrp] = (before[0] + cpu, before[1] + rss)
    return totals


class UsageMeter(Generic[Key]):
    """Keeps a window of readings per container key; `sample` forgets keys no longer given."""

    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._readings: dict[Key, deque[Reading]] = {}

    def sample(self, groups: Mapping[Key, int], now: float) -> None:
        """Read every container's process group (key -> pgid) once, at wall time `now`."""
        totals = read_groups(groups.values())
        for key in set(self._readings) - set(groups):
            del self._readings[key]
        for key, pgid in groups.items():
            if pgid not in totals:
                continue
            cpu, rss = totals[pgid]
            readings = self._readings.setdefault(key, deque())
            if readings and readings[-1].cpu_seconds > cpu:
                readings.clear()  # a new process under the same key: start over
            readings.append(Reading(now, cpu, rss))
            while readings and now - readings[0].at > 2 * self.window:
                readings.popleft()

    def usage(self, key: Key) -> Usage | None:
        readings = self._readings.get(key)
        return None if readings is None else usage_of(readings, self.window)
