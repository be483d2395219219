"""The audit record has fixed keys, serialises to one line of JSON and round-trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from modelwarden.decide.audit import audit_record, format_audit_line

NOW = datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC)


def record(**changes):
    args = {
        "action": "transition",
        "actor": "system:serviceaccount:modelwarden:operator",
        "obj_kind": "ModelVersion",
        "obj_name": "fraud-detector-3-2-1",
        "namespace": "risk",
        "uid": "6f1c-42",
        "resource_version": "1234",
        "from_": "Staging",
        "to": "Production",
        "reason": "all gates passed",
        "now": NOW,
    }
    return audit_record(**{**args, **changes})


def test_the_record_has_the_documented_shape():
    assert record() == {
        "who": "system:serviceaccount:modelwarden:operator",
        "what": "transition",
        "when": "2026-11-23T12:00:05Z",
        "from": "Staging",
        "to": "Production",
        "reason": "all gates passed",
        "object": {
            "kind": "ModelVersion",
            "name": "fraud-detector-3-2-1",
            "namespace": "risk",
            "uid": "6f1c-42",
            "resourceVersion": "1234",
        },
    }


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        pytest.param({"action": "approve"}, "what", "approve", id="approval"),
        pytest.param(
            {"now": datetime(2026, 11, 23, 12, 0, 0, 999999)},
            "when",
            "2026-11-23T12:00:00Z",
            id="naive-is-utc-and-truncated-to-seconds",
        ),
        pytest.param({"action": "halt", "from_": "", "to": ""}, "from", "", id="halt-no-stages"),
        pytest.param(
            {"now": datetime(2026, 11, 23, 14, 0, tzinfo=timezone(timedelta(hours=2)))},
            "when",
            "2026-11-23T12:00:00Z",
            id="when-is-converted-to-utc",
        ),
    ],
)
def test_fields_follow_the_arguments(changes, field, expected):
    assert record(**changes)[field] == expected


@pytest.mark.parametrize(
    "reason",
    [
        pytest.param("plain", id="plain"),
        pytest.param('quote " and newline \n inside', id="escapes"),
        pytest.param("zoë approved ✓", id="unicode"),
    ],
)
def test_the_line_is_one_line_of_json_that_round_trips(reason):
    rec = record(reason=reason)
    line = format_audit_line(rec)
    assert "\n" not in line
    assert json.loads(line) == rec
    assert line.startswith('{"who":')
