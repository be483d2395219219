"""Late labels: remember recent predictions by request id so feedback can be joined.

The proxy gives every request an `x-request-id` (keeping the caller's when present) and
stores that request's rows here once evaluated.  `POST /v1/feedback` later pops them,
adds the label and counts them.  The map is an LRU of fixed capacity, so memory stays
bounded however many labels never arrive.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from modelwarden.drift.values import category_key
from modelwarden.evaluator.profiles import Outcome
from modelwarden.evaluator.protocols import Row

_NEGATIVE = {"1": "0", "true": "false", "yes": "no"}


class PredictionStore:
    """request id → rows (features + predictions), oldest evicted first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._rows: OrderedDict[str, list[Row]] = OrderedDict()
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._rows)

    def put(self, request_id: str, rows: list[Row]) -> None:
        self._rows[request_id] = rows
        self._rows.move_to_end(request_id)
        while len(self._rows) > self.capacity:
            self._rows.popitem(last=False)
            self.evicted += 1

    def pop(self, request_id: str) -> list[Row] | None:
        return self._rows.pop(request_id, None)


@dataclass(frozen=True)
class LabelItem:
    """One feedback entry: the labels of one request's rows."""

    request_id: str
    labels: list[Any]


def parse_feedback(document: Any) -> list[LabelItem]:
    """Accept `{"request_id", "label"|"labels"}` or `{"items": [...]}`; ValueError otherwise."""
    raw_items = document.get("items") if isinstance(document, dict) else None
    entries = raw_items if isinstance(raw_items, list) else [document]
    items: list[LabelItem] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("request_id"), str):
            raise ValueError("each feedback entry needs a string request_id")
        if "labels" in entry and isinstance(entry["labels"], list):
            labels = list(entry["labels"])
        elif "label" in entry:
            labels = [entry["label"]]
        else:
            raise ValueError("each feedback entry needs label or labels")
        items.append(LabelItem(entry["request_id"], labels))
    return items


def predicted_class(value: Any, outcome: Outcome | None) -> str:
    """The class a prediction stands for: scores are thresholded as the profile says."""
    if outcome is not None and outcome.score and not isinstance(value, bool | str):
        try:
            score = float(value)
        except (TypeError, ValueError):
            return "invalid"
        positive = outcome.positive_label
        return (
            positive if score >= outcome.threshold else _NEGATIVE.get(positive, f"not {positive}")
        )
    key = category_key(value)
    return "missing" if key is None else key


def label_rows(rows: list[Row], labels: list[Any], label_name: str) -> list[Row] | None:
    """Attach labels to a request's rows; one label labels every row. None when misaligned."""
    if len(labels) == 1:
        labels = labels * len(rows)
    if len(labels) != len(rows):
        return None
    return [{**row, label_name: label} for row, label in zip(rows, labels, strict=True)]
