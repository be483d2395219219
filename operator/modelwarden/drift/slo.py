"""Rolling-window SLO breach detection, as a pure step function.

Each observation (e.g. a window's accuracy or p99 latency) is appended to the last ``window``
observations; the rolling mean *breaches* when it is on the wrong side of the objective.
An alarm fires only after ``consecutive`` breaching steps in a row, which filters out a
single bad window.  State is a small immutable value the caller stores (e.g. in a CR status)
and passes back in, so the detector survives operator restarts.

>>> state = SLOState()
>>> alarms = []
>>> for accuracy in [0.95, 0.80, 0.80, 0.80, 0.95, 0.95]:
...     state, alarm = step(state, accuracy, objective=0.9, window=2, consecutive=2,
...                         higher_is_better=True)
...     alarms.append(alarm)
>>> alarms
[False, False, True, True, True, False]
>>> state.breaches
0
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SLOState:
    """The last observations (at most ``window``) and the current breach streak."""

    recent: tuple[float, ...] = ()
    breaches: int = 0


def step(
    state: SLOState,
    value: float,
    *,
    objective: float,
    window: int,
    consecutive: int,
    higher_is_better: bool,
) -> tuple[SLOState, bool]:
    """Add one observation; return the new state and whether the SLO alarm is firing."""
    if window < 1 or consecutive < 1:
        raise ValueError("window and consecutive must be >= 1")
    recent = (*state.recent, value)[-window:]
    mean = sum(recent) / len(recent)
    breached = mean < objective if higher_is_better else mean > objective
    streak = state.breaches + 1 if breached else 0
    return SLOState(recent, streak), streak >= consecutive
