"""The alert rules: promtool accepts them, its unit tests pass, they query real series, and
the alerts they fire carry the label contract that routes them to a ModelDeployment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from modelwarden.decide.alerts import NAMESPACE_LABEL, SLOT_LABEL, parse_webhook
from unit.chart.helmtool import RULES, promtool_binary, run
from unit.chart.promql import known_series, problems

RULE_TESTS = Path(__file__).with_name("rules_test.yaml")


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def expected_alerts() -> list[dict[str, str]]:
    """The label sets of every alert the promtool unit tests expect to fire."""
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    return [
        {"alertname": case["alertname"], **alert["exp_labels"]}
        for test in tests
        for case in test["alert_rule_test"]
        for alert in case["exp_alerts"]
    ]


def test_promtool_accepts_the_rules() -> None:
    out = run([promtool_binary(), "check", "rules", RULES]).stdout
    assert f"SUCCESS: {len(alert_rules())} rules found" in out


def test_promtool_unit_tests_pass() -> None:
    # Among them: ModelwardenDriftCritical fires after 10 minutes of verdict 2, labelled with
    # the DriftPolicy's namespace and the ModelDeployment's name.
    run([promtool_binary(), "test", "rules", RULE_TESTS])


def test_every_alert_is_unit_tested_firing() -> None:
    fired = {alert["alertname"] for alert in expected_alerts()}
    assert {rule["alert"] for rule in alert_rules()} == fired


def test_every_alert_carries_the_routing_labels() -> None:
    for rule in alert_rules():
        labels = rule["labels"]
        assert labels["severity"] in {"critical", "warning"}, rule["alert"]
        assert labels[SLOT_LABEL] == "{{ $labels.deployment }}", rule["alert"]


def test_rules_query_exported_series() -> None:
    known = known_series()
    found = {rule["alert"]: p for rule in alert_rules() if (p := problems(rule["expr"], known))}
    assert not found, json.dumps(found, indent=1)


def test_fired_alerts_reach_their_model_deployment() -> None:
    # What Alertmanager would post to the operator's /alerts for each expected alert.
    alerts = expected_alerts()
    payload = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "startsAt": "2026-11-23T10:00:00Z",
                "fingerprint": f"{i:016x}",
            }
            for i, labels in enumerate(alerts)
        ],
    }
    routed = parse_webhook(payload)
    assert [(r.namespace, r.slot, r.record.name, r.record.severity) for r in routed] == [
        (a[NAMESPACE_LABEL], a["deployment"], a["alertname"], a["severity"].capitalize())
        for a in alerts
    ]
