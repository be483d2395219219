"""A minimal five-field cron matcher for ``retraining.schedule``.

Only what a retraining schedule needs (and no dependency): ``*``, numbers, ranges ``a-b``,
steps ``*/n`` and ``a-b/n``, and comma lists, in the fields minute, hour, day of month, month
and day of week (0 or 7 is Sunday). As in Vixie cron, when both day fields are restricted a
time matches if *either* matches. Times are UTC.

>>> from datetime import UTC, datetime
>>> Cron.parse("0 2 * * 0").matches(datetime(2026, 11, 22, 2, 0, tzinfo=UTC))  # a Sunday
True
>>> Cron.parse("*/15 9-17 * * 1-5").matches(datetime(2026, 11, 23, 9, 30, tzinfo=UTC))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
MAX_SCAN_MINUTES = 7 * 24 * 60
"""How far back :func:`fired_between` looks; an operator down longer misses older slots."""


def _field(text: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            start, end = low, high
        elif "-" in span:
            a, b = span.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = end = int(span)
        if not (low <= start <= end <= high) or step < 1:
            raise ValueError(f"cron field {text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        """``ValueError`` on anything but five valid fields."""
        fields = text.split()
        if len(fields) != 5:
            raise ValueError(f"cron schedule {text!r} needs 5 fields, has {len(fields)}")
        try:
            sets = [_field(f, lo, hi) for f, (lo, hi) in zip(fields, _BOUNDS, strict=True)]
        except ValueError as exc:
            raise ValueError(f"cron schedule {text!r}: {exc}") from exc
        weekdays = frozenset(d % 7 for d in sets[4])
        minutes, hours, days, months, _ = sets
        return cls(minutes, hours, days, months, weekdays, fields[2] == "*", fields[4] == "*")

    def matches(self, moment: datetime) -> bool:
        if moment.minute not in self.minutes or moment.hour not in self.hours:
            return False
        if moment.month not in self.months:
            return False
        day = moment.day in self.days
        weekday = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday


def fired_between(cron: Cron, after: datetime, until: datetime) -> datetime | None:
    """The latest minute in ``(after, until]`` the schedule matches, if any (scan bounded by
    :data:`MAX_SCAN_MINUTES`)."""
    minute = until.replace(second=0, microsecond=0)
    oldest = max(after, until - timedelta(minutes=MAX_SCAN_MINUTES))
    while minute > oldest:
        if cron.matches(minute):
            return minute
        minute -= timedelta(minutes=1)
    return None
