"""Tumbling windows, profile reload, bounded stores and configuration parsing."""

from __future__ import annotations

import os

import pytest

from modelwarden.evaluator.config import EvaluatorConfig, parse_duration
from modelwarden.evaluator.engine import Evaluator, TokenFile
from modelwarden.evaluator.feedback import PredictionStore, parse_feedback
from modelwarden.examples.fraud import reference_profile


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_windows_roll_over_and_keep_only_the_last_closed(profile_path):
    clock = Clock(120.5)
    config = EvaluatorConfig(host="127.0.0.1", window_seconds=60, profile_path=str(profile_path))
    evaluator = Evaluator(config, clock=clock)
    evaluator.record_request(200, 1.0)
    evaluator.add_rows([{"amount": 1.0}])
    assert evaluator.windows.current.start == 120.0
    assert evaluator.windows.last_closed is None
    clock.now = 181.0
    evaluator.record_request(500, 2.0)
    closed = evaluator.report().last_closed
    assert closed is not None
    assert closed.closed
    assert (closed.start, closed.signals.requests, closed.signals.samples) == (120.0, 1, 1)
    assert evaluator.report().current.signals.errors == 1
    clock.now = 400.0  # several idle windows later: the last closed one was empty
    last = evaluator.report().last_closed
    assert last is not None
    assert (last.start, last.signals.requests) == (300.0, 0)


def test_profile_reload_applies_to_an_empty_window(tmp_path, profile):
    path = tmp_path / "profile.json"
    path.write_text(profile.to_json())
    evaluator = Evaluator(EvaluatorConfig(host="127.0.0.1", profile_path=str(path)))
    first = evaluator.windows.current.profile_digest
    assert first == profile.profile_id
    other = reference_profile(500, seed=3)
    path.write_text(other.to_json())
    os.utime(path, ns=(1, 1))  # a different mtime even within one clock tick
    assert evaluator.profiles.poll()
    evaluator.windows.refresh_summary()
    assert evaluator.windows.current.profile_digest == other.profile_id
    path.write_text("{broken")
    os.utime(path, ns=(2, 2))
    assert not evaluator.profiles.poll()
    assert "cannot load" in evaluator.profiles.error
    assert evaluator.profiles.profile == other


def test_without_profile_rows_are_counted_but_not_summarised():
    evaluator = Evaluator(EvaluatorConfig(host="127.0.0.1"))
    evaluator.add_rows([{"x": 1}])
    current = evaluator.report().current
    assert (current.summary, current.signals.samples) == (None, 1)


def test_prediction_store_is_bounded():
    store = PredictionStore(capacity=2)
    for key in ("a", "b", "c"):
        store.put(key, [{"k": key}])
    assert len(store) == 2
    assert store.pop("a") is None
    assert store.pop("c") == [{"k": "c"}]


def test_feedback_parsing():
    assert parse_feedback({"request_id": "x", "label": 1})[0].labels == [1]
    assert parse_feedback({"items": [{"request_id": "y", "labels": [0, 1]}]})[0].labels == [0, 1]
    with pytest.raises(ValueError, match="label"):
        parse_feedback({"request_id": "x"})


def test_token_file_is_reread_when_rotated(tmp_path):
    path = tmp_path / "token"
    path.write_text("one\n")
    token = TokenFile(str(path))
    assert token.allows("Bearer one")
    assert not token.allows("Bearer two")
    assert not token.allows("one")
    path.write_text("two-rotated")
    assert token.allows("Bearer two-rotated")
    assert not TokenFile(None).allows("Bearer ")


@pytest.mark.parametrize(
    ("text", "seconds"), [("60s", 60.0), ("5m", 300.0), ("250ms", 0.25), ("2", 2.0), ("1h", 3600.0)]
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="positive"):
        parse_duration("0s")
    with pytest.raises(ValueError, match="shadow-upstream"):
        EvaluatorConfig(host="127.0.0.1", shadow_percent=5.0)
    with pytest.raises(ValueError, match="not both"):
        EvaluatorConfig(host="127.0.0.1", shadow_upstream="http://a", shadow_file="/f")
    with pytest.raises(ValueError, match="sample rate"):
        EvaluatorConfig(host="127.0.0.1", sample_rate=2.0)


def test_host_defaults_to_pod_ip(monkeypatch):
    monkeypatch.setenv("POD_IP", "127.0.0.7")
    assert EvaluatorConfig().host == "127.0.0.7"
    monkeypatch.delenv("POD_IP")
    assert EvaluatorConfig().host == "0.0.0.0"
