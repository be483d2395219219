"""The metric-provider interface and its errors.

A provider answers one query with one number, ``None`` when there is no data (an empty
result is not zero: a check must not pass or fail on a value nobody measured). Every failure
is a :class:`ProviderError`, so a caller can treat "no answer" in one place, while the
subclasses say whether retrying can help.
"""

from __future__ import annotations

from typing import Protocol


class ProviderError(RuntimeError):
    """The provider gave no usable answer."""


class ProviderUnavailable(ProviderError):
    """Could not reach the provider, or it answered 5xx: retrying later may help."""


class ProviderTimeout(ProviderUnavailable):
    """No answer within the timeout."""


class QueryError(ProviderError):
    """The provider rejected the query (bad syntax, bad parameters): retrying will not help."""


class UnexpectedResult(ProviderError):
    """The query answered something other than one number (a range, a string, many series)."""


class MetricProvider(Protocol):
    async def query(self, q: str) -> float | None:
        """The single value of ``q`` now; ``None`` when the result is empty or NaN."""

    async def is_online(self) -> bool:
        """Whether the provider answers queries at all."""
