"""Mergeable counters for predictions against labels: confusion, score buckets, groups.

Binary classification: a row is *positive* when its label equals the profile's
``positive_label`` and *predicted positive* when its score is ``>= threshold`` (or, for class
predictions, when the predicted class is the positive label).  Only rows with both a usable
prediction and a label count toward performance and calibration; demographic parity needs
only the prediction.

* AUC buckets are the prediction feature's reference grid bins (two buckets for class
  predictions); positives and negatives are counted per bucket.
* Calibration uses :data:`CALIBRATION_BINS` equal-width bins on ``[0, 1]`` (scores clipped to
  ``[0, 1]``) with the count, positives and score sum per bin; Brier keeps a running sum.
* Per protected attribute, per group (reference categories, then other/new, then missing):
  rows, predicted positives, labelled rows, actual positives, true and false positives.

>>> g = GroupCounts.empty(1)
>>> g.add(np.array([0, 0, 1]), np.array([True, False, True]), np.array([True, True, False]),
...       np.array([True, False, False]))
>>> g.n.tolist(), g.pred_pos.tolist(), g.tp.tolist()
([2, 1, 0], [1, 1, 0], [1, 0, 0])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelwarden.drift.values import BoolArray, FloatArray, IntArray

CALIBRATION_BINS = 10


def _bins(values: IntArray, weights: Any, size: int) -> IntArray:
    return np.bincount(values, weights=weights, minlength=size).astype(np.int64)


@dataclass
class GroupCounts:
    """Per-group counts for one protected attribute; slots are categories, other, missing."""

    n: IntArray
    pred_pos: IntArray
    labelled: IntArray
    label_pos: IntArray
    tp: IntArray
    fp: IntArray

    @classmethod
    def empty(cls, categories: int) -> GroupCounts:
        """Zeros for ``categories`` known groups plus other/new and missing."""
        return cls(*(np.zeros(categories + 2, dtype=np.int64) for _ in range(6)))

    def add(self, group: IntArray, yhat: BoolArray, labelled: BoolArray, y: BoolArray) -> None:
        """Count rows with a usable prediction; ``y`` only matters where ``labelled``."""
        size = self.n.size
        self.n += _bins(group, None, size)
        self.pred_pos += _bins(group, yhat, size)
        self.labelled += _bins(group, labelled, size)
        self.label_pos += _bins(group, labelled & y, size)
        self.tp += _bins(group, labelled & y & yhat, size)
        self.fp += _bins(group, labelled & ~y & yhat, size)

    def merged(self, other: GroupCounts) -> GroupCounts:
        """Counts of both windows."""
        return GroupCounts(
            self.n + other.n,
            self.pred_pos + other.pred_pos,
            self.labelled + other.labelled,
            self.label_pos + other.label_pos,
            self.tp + other.tp,
            self.fp + other.fp,
        )

    def to_dict(self) -> dict[str, list[int]]:
        """Compact form."""
        return {
            "n": self.n.tolist(),
            "pp": self.pred_pos.tolist(),
            "l": self.labelled.tolist(),
            "lp": self.label_pos.tolist(),
            "tp": self.tp.tolist(),
            "fp": self.fp.tolist(),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, list[int]]) -> GroupCounts:
        """Inverse of :meth:`to_dict`."""
        keys = ("n", "pp", "l", "lp", "tp", "fp")
        return cls(*(np.asarray(raw[k], dtype=np.int64) for k in keys))


@dataclass
class OutcomeCounts:
    """Prediction-vs-label counters of one window (see the module docstring)."""

    auc_pos: IntArray
    auc_neg: IntArray
    cal_n: IntArray = field(default_factory=lambda: np.zeros(CALIBRATION_BINS, np.int64))
    cal_pos: IntArray = field(default_factory=lambda: np.zeros(CALIBRATION_BINS, np.int64))
    cal_sum: FloatArray = field(default_factory=lambda: np.zeros(CALIBRATION_BINS))
    brier_sum: float = 0.0
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0
    scored: int = 0
    groups: dict[str, GroupCounts] = field(default_factory=dict)

    @classmethod
    def empty(cls, buckets: int, groups: dict[str, int]) -> OutcomeCounts:
        """Zeros for ``buckets`` AUC buckets and the given attributes' category counts."""
        zeros = np.zeros(buckets, dtype=np.int64)
        return cls(
            zeros,
            zeros.copy(),
            groups={name: GroupCounts.empty(k) for name, k in groups.items()},
        )

    @property
    def labelled(self) -> int:
        """Rows with both a usable prediction and a label."""
        return self.tp + self.fp + self.tn + self.fn

    def add(
        self,
        score: FloatArray,
        *,
        yhat: BoolArray,
        bucket: IntArray,
        labelled: BoolArray,
        y: BoolArray,
        groups: dict[str, IntArray],
    ) -> None:
        """Count rows that have a usable prediction (all arrays are aligned on those rows)."""
        self.scored += int(score.size)
        for name, codes in groups.items():
            self.groups[name].add(codes, yhat, labelled, y)
        s, p, b, t = score[labelled], yhat[labelled], bucket[labelled], y[labelled]
        if not s.size:
            return
        self.auc_pos += _bins(b[t], None, self.auc_pos.size)
        self.auc_neg += _bins(b[~t], None, self.auc_neg.size)
        clipped = np.clip(s, 0.0, 1.0)
        cal = np.minimum((clipped * CALIBRATION_BINS).astype(np.int64), CALIBRATION_BINS - 1)
        self.cal_n += _bins(cal, None, CALIBRATION_BINS)
        self.cal_pos += _bins(cal, t, CALIBRATION_BINS)
        self.cal_sum += np.bincount(cal, weights=clipped, minlength=CALIBRATION_BINS)
        self.brier_sum += float(np.square(clipped - t).sum())
        self.tp += int((p & t).sum())
        self.fp += int((p & ~t).sum())
        self.tn += int((~p & ~t).sum())
        self.fn += int((~p & t).sum())

    def merged(self, other: OutcomeCounts) -> OutcomeCounts:
        """Counts of both windows."""
        return OutcomeCounts(
            self.auc_pos + other.auc_pos,
            self.auc_neg + other.auc_neg,
            self.cal_n + other.cal_n,
            self.cal_pos + other.cal_pos,
            self.cal_sum + other.cal_sum,
            self.brier_sum + other.brier_sum,
            self.tp + other.tp,
            self.fp + other.fp,
            self.tn + other.tn,
            self.fn + other.fn,
            self.scored + other.scored,
            {k: g.merged(other.groups[k]) for k, g in self.groups.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        """Compact form."""
        return {
            "ap": self.auc_pos.tolist(),
            "an": self.auc_neg.tolist(),
            "cn": self.cal_n.tolist(),
            "cp": self.cal_pos.tolist(),
            "cs": self.cal_sum.tolist(),
            "b": self.brier_sum,
            "cm": [self.tp, self.fp, self.tn, self.fn],
            "s": self.scored,
            "g": {k: g.to_dict() for k, g in self.groups.items()},
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> OutcomeCounts:
        """Inverse of :meth:`to_dict`."""
        tp, fp, tn, fn = (int(v) for v in raw["cm"])
        return cls(
            np.asarray(raw["ap"], np.int64),
            np.asarray(raw["an"], np.int64),
            np.asarray(raw["cn"], np.int64),
            np.asarray(raw["cp"], np.int64),
            np.asarray(raw["cs"], np.float64),
            float(raw["b"]),
            tp,
            fp,
            tn,
            fn,
            int(raw["s"]),
            {k: GroupCounts.from_dict(g) for k, g in raw["g"].items()},
        )
