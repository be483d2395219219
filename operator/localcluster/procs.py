"""Start components as daemons and stop them again, surviving the starting process.

Each component gets its own session (so a signal reaches its whole process group) and a pid
file recording the pid and executable, so `down` from another shell stops exactly what `up`
started and never a recycled pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "X"


def alive(pid: int, exe: str) -> bool:
    """True when `pid` runs `exe` (as argv[0]) and is not a zombie."""
    argv = _cmdline(pid)
    return bool(argv) and argv[0] == exe and _state(pid) not in ("Z", "X")


def spawn(name: str, argv: list[str], pid_dir: Path, log_dir: Path) -> subprocess.Popen[bytes]:
    """Start `argv` detached, logging to `log_dir/<name>.log`; record `pid_dir/<name>`."""
    log_dir.mkdir(parents=True, exist_ok=True)
    pid_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.log").open("ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (pid_dir / name).write_text(f"{proc.pid}\n{argv[0]}\n")
    return proc


def recorded(pid_file: Path) -> tuple[int, str]:
    """The (pid, exe) a pid file holds."""
    pid, exe = pid_file.read_text().splitlines()[:2]
    return int(pid), exe


def stop(pid_file: Path, child: subprocess.Popen[bytes] | None = None, grace: float = 10.0) -> None:
    """SIGTERM the recorded process group, SIGKILL after `grace` seconds; drop the pid file.

    `child` is the Popen handle when this process started it, so its exit status is collected.
    """
    pid, exe = recorded(pid_file)
    if alive(pid, exe):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while alive(pid, exe) and time.monotonic() < deadline:
            _reap(child)
            time.sleep(0.05)
        if alive(pid, exe):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while alive(pid, exe):
                _reap(child)
                time.sleep(0.05)
    _reap(child)
    pid_file.unlink(missing_ok=True)


def _reap(child: subprocess.Popen[bytes] | None) -> None:
    """Collect the exit status of our own child (others are reaped by init)."""
    if child is not None:
        child.poll()
