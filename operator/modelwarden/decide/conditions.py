"""Kubernetes-style conditions, updated so that lastTransitionTime moves only on a change."""

from __future__ import annotations

from modelwarden.api.base import Condition


def set_condition(
    conditions: list[Condition],
    type_: str,
    *,
    true: bool,
    reason: str,
    message: str,
    now: str,
    generation: int | None = None,
) -> list[Condition]:
    """A new list with ``type_`` set; its transition time stays unless its status flips.

    >>> first = set_condition([], "Halted", true=True, reason="Halted", message="", now="t1")
    >>> again = set_condition(first, "Halted", true=True, reason="Halted", message="x", now="t2")
    >>> again[0].last_transition_time, again[0].message
    ('t1', 'x')
    """
    status = "True" if true else "False"
    previous = next((c for c in conditions if c.type == type_), None)
    since = previous.last_transition_time if previous and previous.status == status else now
    updated = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=since,
        observed_generation=generation,
    )
    return [c for c in conditions if c.type != type_] + [updated]
