"""A small synthetic fraud model: feature generator, scorer and reference profile.

Tests, the benchmark and the demo all use the same definitions, so a profile built here
matches what the sample model server answers.  `shift` moves the traffic distribution
(bigger amounts, younger accounts, more risky merchants) for drift scenarios.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from modelwarden.drift.build import build_profile
from modelwarden.drift.profile import ReferenceProfile
from modelwarden.drift.schema import parse_schema

MERCHANTS = ("grocery", "fuel", "electronics", "travel", "gaming")
MERCHANT_P = (0.35, 0.2, 0.2, 0.15, 0.1)
MERCHANT_RISK = {"grocery": 0.0, "fuel": 0.1, "electronics": 0.8, "travel": 0.5, "gaming": 1.2}
CHANNELS = ("web", "app", "pos")
CHANNEL_P = (0.4, 0.35, 0.25)
CHANNEL_RISK = {"web": 0.4, "app": 0.1, "pos": 0.0}
INPUTS = ("amount", "account_age_days", "hour", "merchant_category", "channel")
NUMERIC_INPUTS = ("amount", "account_age_days", "hour")

SCHEMA: dict[str, Any] = {
    "features": {
        "amount": "numeric",
        "account_age_days": "numeric",
        "hour": "numeric",
        "merchant_category": "categorical",
        "channel": "categorical",
        "fraud_score": "prediction",
        "fraud_class": "prediction",
        "is_fraud": "label",
    },
    "prediction": "fraud_score",
    "label": "is_fraud",
    "positive_label": "1",
    "threshold": 0.5,
    "protected": ["channel"],
}

Row = dict[str, Any]


def generate_columns(n: int, *, shift: float = 0.0, seed: int | None = None) -> dict[str, Any]:
    """Column-wise features: numpy arrays for numbers, lists of str for categories."""
    rng = np.random.default_rng(seed)
    risky = np.array(MERCHANT_P) * np.exp(shift * np.array([0.0, 0.0, 1.0, 0.5, 1.5]))
    return {
        "amount": np.round(rng.lognormal(3.5 + 0.8 * shift, 1.0, n), 2),
        "account_age_days": np.round(rng.exponential(365.0 / (1.0 + shift), n), 1),
        "hour": rng.integers(0, 24, n).astype(np.float64),
        "merchant_category": [MERCHANTS[i] for i in rng.choice(5, n, p=risky / risky.sum())],
        "channel": [CHANNELS[i] for i in rng.choice(3, n, p=CHANNEL_P)],
    }


def generate_rows(n: int, *, shift: float = 0.0, seed: int | None = None) -> list[Row]:
    """`n` feature rows as dicts with plain Python values (JSON-ready)."""
    columns = generate_columns(n, shift=shift, seed=seed)
    amount = columns["amount"].tolist()
    age = columns["account_age_days"].tolist()
    hour = columns["hour"].tolist()
    return [
        {
            "amount": amount[i],
            "account_age_days": age[i],
            "hour": hour[i],
            "merchant_category": columns["merchant_category"][i],
            "channel": columns["channel"][i],
        }
        for i in range(n)
    ]


def score(
    amount: npt.ArrayLike,
    account_age_days: npt.ArrayLike,
    hour: npt.ArrayLike,
    merchant_category: list[str],
    channel: list[str],
    *,
    shift: float = 0.0,
) -> npt.NDArray[np.float64]:
    """Fraud probability of a logistic model; `shift` adds to the logit (a biased version)."""
    amounts = np.maximum(np.asarray(amount, dtype=np.float64), 0.01)
    ages = np.asarray(account_age_days, dtype=np.float64)
    hours = np.asarray(hour, dtype=np.float64)
    night = ((hours < 6) | (hours >= 23)).astype(np.float64)
    merchant = np.array([MERCHANT_RISK.get(m, 0.5) for m in merchant_category])
    chan = np.array([CHANNEL_RISK.get(c, 0.2) for c in channel])
    logit = (
        -2.5 + 0.9 * (np.log(amounts) - 3.5) - 0.004 * ages + 0.8 * night + merchant + chan + shift
    )
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logit))
    return result


def score_rows(rows: list[Row], *, shift: float = 0.0) -> npt.NDArray[np.float64]:
    return score(
        [r["amount"] for r in rows],
        [r["account_age_days"] for r in rows],
        [r["hour"] for r in rows],
        [str(r["merchant_category"]) for r in rows],
        [str(r["channel"]) for r in rows],
        shift=shift,
    )


def labels_for(scores: npt.NDArray[np.float64], *, seed: int | None = None) -> list[int]:
    """Ground truth drawn from the (calibrated) scores."""
    rng = np.random.default_rng(seed)
    drawn: list[int] = (rng.random(scores.size) < scores).astype(int).tolist()
    return drawn


def reference_profile(n: int = 5000, *, seed: int = 7) -> ReferenceProfile:
    """The fraud model's reference profile, built from `n` synthetic labelled rows."""
    columns = generate_columns(n, seed=seed)
    scores = score(**columns)
    columns["fraud_score"] = scores
    columns["fraud_class"] = [str(int(s >= 0.5)) for s in scores]
    columns["is_fraud"] = [str(v) for v in labels_for(scores, seed=seed + 1)]
    return build_profile(columns, parse_schema(SCHEMA))


def v1_request(rows: list[Row]) -> dict[str, Any]:
    """KServe v1 predict body."""
    return {"instances": rows}


def v2_request(rows: list[Row], request_id: str | None = None) -> dict[str, Any]:
    """Open Inference Protocol body with one named tensor per feature."""
    inputs = []
    for name in INPUTS:
        numeric = name in NUMERIC_INPUTS
        inputs.append(
            {
                "name": name,
                "shape": [len(rows)],
                "datatype": "FP64" if numeric else "BYTES",
                "data": [r[name] for r in rows],
            }
        )
    body: dict[str, Any] = {"inputs": inputs}
    if request_id is not None:
        body["id"] = request_id
    return body
