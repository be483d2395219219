"""Status timestamps: one format everywhere (RFC 3339, UTC, whole seconds, ``Z``), so they
compare correctly as strings and read the same in every status field."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# RFC 3339 as Kubernetes and Alertmanager write it; fractions may have nanoseconds.
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC, to the second; a naive datetime is taken to be UTC already.

    >>> from datetime import timedelta, timezone
    >>> iso(datetime(2026, 11, 23, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    '2026-11-23T12:00:00Z'
    """
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 time (any fraction, any offset) in UTC, or None when it is not one.

    >>> parse_time("2026-11-23T10:00:00.123456789+01:00")
    datetime.datetime(2026, 11, 23, 9, 0, tzinfo=datetime.timezone.utc)
    """
    match = _RFC3339.match(text.strip())
    if match is None:
        return None
    offset = "+00:00" if match[2].upper() == "Z" else match[2]
    try:
        return datetime.fromisoformat(match[1] + offset).astimezone(UTC)
    except ValueError:
        return None
