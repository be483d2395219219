"""The usage meter reads real processes from /proc: a CPU burner in its own session shows up
with about the CPU it burnt, an idle sleeper with almost none."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from localcluster.usage import Reading, UsageMeter, read_groups, usage_of

BURN = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\n"
SLEEP = "import time; time.sleep(30)"
Start = Callable[[str], "subprocess.Popen[bytes]"]


@pytest.fixture
def process_group() -> Iterator[Start]:
    started: list[subprocess.Popen[bytes]] = []

    def start(code: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_read_groups_sums_cpu_and_memory_of_a_process_group(process_group: Start) -> None:
    burner = process_group(BURN)
    burner.wait()  # an exited child is a zombie until reaped: read before it is gone
    sleeper = process_group(SLEEP)
    time.sleep(0.3)
    totals = read_groups([sleeper.pid, 999_999_999])
    assert set(totals) == {sleeper.pid}
    cpu, rss = totals[sleeper.pid]
    assert 0 <= cpu < 0.5
    assert rss > 1_000_000  # a Python interpreter is several MB resident


def test_meter_reports_cpu_rate_of_a_busy_process(process_group: Start) -> None:
    busy = process_group("while True: pass")
    meter: UsageMeter[str] = UsageMeter(window=5.0)
    meter.sample({"busy": busy.pid}, time.time())
    assert meter.usage("busy") is None  # one reading is not a rate
    time.sleep(1.2)
    meter.sample({"busy": busy.pid}, time.time())
    usage = meter.usage("busy")
    assert usage is not None
    assert usage.cpu_cores > 0.3  # a spinning loop uses most of a core, even on a busy machine
    meter.sample({}, time.time())
    assert meter.usage("busy") is None  # a container no longer given is forgotten


@pytest.mark.parametrize(
    ("readings", "window", "expected"),
    [
        pytest.param([(0, 0.0), (2, 1.0)], 5.0, 0.5, id="two-readings"),
        pytest.param([(0, 0.0), (4, 0.0), (6, 1.0)], 3.0, 0.5, id="older-than-window-ignored"),
        pytest.param([(0, 0.0), (0.5, 0.5)], 5.0, None, id="span-too-short"),
        pytest.param([], 5.0, None, id="no-readings"),
    ],
)
def test_usage_of(
    readings: list[tuple[float, float]], window: float, expected: float | None
) -> None:
    usage = usage_of([Reading(at, cpu, 0) for at, cpu in readings], window)
    assert (usage.cpu_cores if usage else None) == expected


def test_meter_starts_over_when_a_container_restarts(process_group: Start) -> None:
    first, second = process_group("while True: pass"), process_group(SLEEP)
    meter: UsageMeter[str] = UsageMeter()
    meter.sample({"c": first.pid}, 100.0)
    time.sleep(0.5)
    meter.sample({"c": first.pid}, 101.0)
    meter.sample({"c": second.pid}, 102.0)  # the restarted process has used less CPU
    assert meter.usage("c") is None
