"""The reference profile the windows are summarised against, reloaded when its file changes.

The operator projects the profile ConfigMap into the pod; a new profile applies from the
next window (or at once when the current window has no rows yet), because a summary may
only be merged with summaries built on the same bins.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.schema import FeatureType
from modelwarden.drift.summary import WindowSummary
from modelwarden.evaluator.protocols import FeatureLayout

log = logging.getLogger(__name__)

_NOT_INPUTS = (FeatureType.PREDICTION, FeatureType.LABEL)


@dataclass(frozen=True)
class Outcome:
    """Columns that turn joined feedback into confusion counts."""

    prediction: str
    label: str | None
    positive_label: str
    threshold: float
    protected: tuple[str, ...]
    score: bool


def layout_of(profile: ReferenceProfile | None) -> FeatureLayout:
    """Input order, prediction name and embedding columns as the profile lists them."""
    if profile is None:
        return FeatureLayout()
    outcome = profile.outcome
    prediction = outcome.prediction if outcome else None
    if prediction is None:
        prediction = next(
            (n for n, f in profile.features.items() if f.type is FeatureType.PREDICTION),
            "prediction",
        )
    skip = {prediction, outcome.label if outcome else None}
    inputs = tuple(
        name
        for name, feature in profile.features.items()
        if feature.type not in _NOT_INPUTS and name not in skip
    )
    embeddings = frozenset(
        name for name, f in profile.features.items() if f.type is FeatureType.EMBEDDING
    )
    return FeatureLayout(inputs=inputs, prediction=prediction, embeddings=embeddings)


def outcome_of(profile: ReferenceProfile | None) -> Outcome | None:
    if profile is None or profile.outcome is None:
        return None
    outcome = profile.outcome
    feature = profile.features.get(outcome.prediction)
    return Outcome(
        prediction=outcome.prediction,
        label=outcome.label,
        positive_label=outcome.positive_label,
        threshold=outcome.threshold,
        protected=tuple(outcome.protected),
        score=feature is not None and feature.is_numeric,
    )


class ProfileSource:
    """Holds the loaded profile; `version` bumps on every successful reload."""

    def __init__(self, path: str | None) -> None:
        self._path = Path(path) if path else None
        self._signature: tuple[int, int, int] | None = None
        self.profile: ReferenceProfile | None = None
        self.layout = FeatureLayout()
        self.outcome: Outcome | None = None
        self.version = 0
        self.error = ""

    def new_summary(self) -> tuple[WindowSummary | None, str | None]:
        """An empty summary for a new window and the profile id it is built on."""
        if self.profile is None:
            return None, None
        return WindowSummary.empty(self.profile), self.profile.profile_id

    def set_profile(self, profile: ReferenceProfile | None) -> None:
        self.profile = profile
        self.layout = layout_of(profile)
        self.outcome = outcome_of(profile)
        self.version += 1

    def poll(self) -> bool:
        """Reload when the file changed; True when a new profile was loaded."""
        if self._path is None:
            return False
        try:
            stat = os.stat(self._path)
        except OSError as exc:
            self.error = f"cannot stat profile: {exc}"
            return False
        signature = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            profile = ReferenceProfile.load(self._path)
        except (OSError, ValueError) as exc:
            self.error = f"cannot load profile: {exc}"
            log.warning("reference profile %s not loaded: %s", self._path, exc)
            return False
        self.error = ""
        self.set_profile(profile)
        return True
