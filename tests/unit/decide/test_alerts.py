"""Alertmanager webhook → slot alerts, the bounded record, and the critical-alert rollback rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from modelwarden.api.modeldeployment import AlertRecord
from modelwarden.decide.alerts import (
    AlertPayloadError,
    RoutedAlert,
    parse_time,
    parse_webhook,
    record_alerts,
    should_roll_back,
)

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
SLOT_LABELS = {"namespace": "risk", "modelwarden_io_deployment": "fraud"}


def _alert(**overrides: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "status": "firing",
        "labels": {"alertname": "HighErrorRate", "severity": "critical", **SLOT_LABELS},
        "annotations": {"summary": "errors"},
        "startsAt": "2026-11-23T10:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "3f2a",
    }
    alert.update(overrides)
    return alert


def _payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {"version": "4", "status": "firing", "receiver": "modelwarden", "alerts": list(alerts)}


def _rec(
    at: str, severity: str = "Critical", name: str = "A", source: str = "alertmanager/1"
) -> AlertRecord:
    return AlertRecord(at=at, source=source, severity=severity, name=name)


@pytest.mark.parametrize(
    ("alert", "expected"),
    [
        pytest.param(
            _alert(),
            [
                RoutedAlert(
                    "risk",
                    "fraud",
                    _rec("2026-11-23T10:00:00Z", name="HighErrorRate", source="alertmanager/3f2a"),
                )
            ],
            id="firing-critical-nanosecond-start",
        ),
        pytest.param(
            _alert(status="resolved", endsAt="2026-11-23T10:05:00Z"),
            [
                RoutedAlert(
                    "risk",
                    "fraud",
                    _rec("2026-11-23T10:00:00Z", name="HighErrorRate", source="alertmanager/3f2a"),
                )
            ],
            id="resolved-is-the-same-record",
        ),
        pytest.param(
            _alert(labels={"alertname": "Drift", "severity": "warning", **SLOT_LABELS}),
            [
                RoutedAlert(
                    "risk",
                    "fraud",
                    _rec("2026-11-23T10:00:00Z", "Warning", "Drift", "alertmanager/3f2a"),
                )
            ],
            id="warning",
        ),
        pytest.param(
            _alert(labels={"alertname": "X", "severity": "page", **SLOT_LABELS}, fingerprint=""),
            [
                RoutedAlert(
                    "risk", "fraud", _rec("2026-11-23T10:00:00Z", "page", "X", "alertmanager")
                )
            ],
            id="unknown-severity-kept-no-fingerprint",
        ),
        pytest.param(
            _alert(startsAt="2026-11-23T11:00:00+01:00"),
            [
                RoutedAlert(
                    "risk",
                    "fraud",
                    _rec("2026-11-23T10:00:00Z", name="HighErrorRate", source="alertmanager/3f2a"),
                )
            ],
            id="offset-converted-to-utc",
        ),
        pytest.param(
            _alert(startsAt="yesterday"),
            [
                RoutedAlert(
                    "risk", "fraud", _rec("", name="HighErrorRate", source="alertmanager/3f2a")
                )
            ],
            id="unreadable-start-left-empty",
        ),
        pytest.param(
            _alert(labels={"alertname": "A", "severity": "critical", "namespace": "risk"}),
            [],
            id="no-slot-label-skipped",
        ),
        pytest.param(
            _alert(labels={"alertname": "A", "modelwarden_io_deployment": "fraud"}),
            [],
            id="no-namespace-skipped",
        ),
        pytest.param("not an alert", [], id="garbage-entry-skipped"),
    ],
)
def test_parse_webhook(alert: Any, expected: list[RoutedAlert]) -> None:
    assert parse_webhook(_payload(alert)) == expected


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param([], "no alerts list", id="not-an-object"),
        pytest.param({"version": "4"}, "no alerts list", id="no-alerts"),
        pytest.param({"version": "3", "alerts": []}, "version", id="old-version"),
    ],
)
def test_parse_webhook_rejects(payload: Any, message: str) -> None:
    with pytest.raises(AlertPayloadError, match=message):
        parse_webhook(payload)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-11-23T10:00:00Z", datetime(2026, 11, 23, 10, tzinfo=UTC), id="z"),
        pytest.param(
            "2026-11-23t10:00:00.5z", datetime(2026, 11, 23, 10, tzinfo=UTC), id="lower-z"
        ),
        pytest.param(
            "2026-11-23T10:00:00-02:00", datetime(2026, 11, 23, 12, tzinfo=UTC), id="offset"
        ),
        pytest.param("2026-11-23T10:00:00", None, id="no-zone"),
        pytest.param("2026-13-40T10:00:00Z", None, id="impossible-date"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_time(text: str, expected: datetime | None) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("existing", "new", "limit", "expected"),
    [
        pytest.param(
            (), (_rec("2026-11-23T10:00:00Z"),), 50, (_rec("2026-11-23T10:00:00Z"),), id="first"
        ),
        pytest.param(
            (_rec("2026-11-23T10:00:00Z"),),
            (_rec("2026-11-23T10:00:00Z"),),
            50,
            (_rec("2026-11-23T10:00:00Z"),),
            id="repeat-notification-deduplicated",
        ),
        pytest.param(
            (_rec("2026-11-23T10:00:00Z"),),
            (_rec("2026-11-23T10:00:00Z", source="alertmanager/2"),),
            50,
            (_rec("2026-11-23T10:00:00Z"), _rec("2026-11-23T10:00:00Z", source="alertmanager/2")),
            id="same-name-other-fingerprint-kept",
        ),
        pytest.param(
            (_rec("2026-11-23T10:00:00Z"),),
            (_rec("2026-11-23T11:00:00Z"),),
            50,
            (_rec("2026-11-23T10:00:00Z"), _rec("2026-11-23T11:00:00Z")),
            id="same-alert-fires-again-later",
        ),
        pytest.param(
            (_rec("2026-11-23T11:00:00Z"),),
            (_rec("2026-11-23T09:00:00Z", name="B"),),
            50,
            (_rec("2026-11-23T09:00:00Z", name="B"), _rec("2026-11-23T11:00:00Z")),
            id="oldest-first",
        ),
        pytest.param(
            (_rec("2026-11-23T09:00:00Z"), _rec("2026-11-23T10:00:00Z")),
            (_rec("2026-11-23T11:00:00Z"),),
            2,
            (_rec("2026-11-23T10:00:00Z"), _rec("2026-11-23T11:00:00Z")),
            id="bounded-drops-oldest",
        ),
        pytest.param(
            (), (_rec(""),), 50, (_rec("2026-11-23T12:00:00Z"),), id="missing-start-is-now"
        ),
    ],
)
def test_record_alerts(
    existing: tuple[AlertRecord, ...],
    new: tuple[AlertRecord, ...],
    limit: int,
    expected: tuple[AlertRecord, ...],
) -> None:
    assert record_alerts(existing, new, NOW, limit) == expected


@pytest.mark.parametrize(
    ("alerts", "count", "expected"),
    [
        pytest.param(
            (_rec("2026-11-23T11:00:00Z"), _rec("2026-11-23T11:30:00Z", source="x")),
            2,
            True,
            id="two-within-window",
        ),
        pytest.param((_rec("2026-11-23T11:00:00Z"),), 2, False, id="only-one"),
        pytest.param(
            (_rec("2026-11-23T11:00:00Z"), _rec("2026-11-23T11:30:00Z", severity="Warning")),
            2,
            False,
            id="warnings-do-not-count",
        ),
        pytest.param(
            (_rec("2026-11-23T09:59:59Z"), _rec("2026-11-23T11:30:00Z", source="x")),
            2,
            False,
            id="one-just-outside-window",
        ),
        pytest.param(
            (_rec("2026-11-23T10:00:00Z"), _rec("2026-11-23T11:30:00Z", source="x")),
            2,
            True,
            id="window-edge-inclusive",
        ),
        pytest.param(
            (_rec("2026-11-23T11:00:00Z"), _rec("2026-11-23T12:00:30Z", source="x")),
            2,
            True,
            id="alertmanager-clock-ahead-still-counts",
        ),
        pytest.param(
            (_rec("garbage"), _rec("2026-11-23T11:00:00Z")), 2, False, id="unreadable-time-ignored"
        ),
        pytest.param(
            (_rec("2026-11-23T11:00:00Z", severity="critical"),), 1, True, id="case-insensitive"
        ),
    ],
)
def test_should_roll_back(alerts: tuple[AlertRecord, ...], count: int, expected: bool) -> None:
    assert should_roll_back(alerts, count, 2 * 3600, NOW) is expected


def test_webhook_to_rollback_end_to_end() -> None:
    payload = _payload(
        _alert(fingerprint="a", startsAt="2026-11-23T11:00:00Z"),
        _alert(fingerprint="a", startsAt="2026-11-23T11:00:00Z", status="resolved"),
        _alert(fingerprint="b", startsAt="2026-11-23T11:10:00Z"),
    )
    records = record_alerts((), [routed.record for routed in parse_webhook(payload)], NOW)
    assert len(records) == 2
    assert should_roll_back(records, 2, 3600, NOW)
    assert not should_roll_back(records, 3, 3600, NOW)
