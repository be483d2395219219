"""The Grafana dashboards: valid JSON Grafana can import, queries that parse, and only metric
names and labels the recorders really export; every operator metric is charted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from unit.chart.helmtool import CHART
from unit.chart.promql import (
    GRAFANA_VARIABLES,
    check_parses,
    known_series,
    operator_families,
    problems,
    substitute,
)

DASHBOARDS = sorted((CHART / "dashboards").glob("*.json"))
TITLES = {"rollouts.json": "modelwarden / Rollouts", "drift.json": "modelwarden / Drift"}


def load(path: Path) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(path.read_text())
    return dashboard


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def expressions(dashboard: dict[str, Any]) -> dict[str, str]:
    """Every PromQL expression, by where it is: panel targets and variable queries (the
    selector inside Grafana's label_values(…, label))."""
    exprs = {
        f"{dashboard['title']} / {panel['title']} / {target['refId']}": target["expr"]
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
    }
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"]
            assert query.startswith("label_values("), query
            assert query.endswith(")"), query
            selector = query.removeprefix("label_values(").removesuffix(")").rsplit(",", 1)[0]
            exprs[f"{dashboard['title']} / ${variable['name']}"] = selector
    return exprs


def variables(dashboard: dict[str, Any]) -> dict[str, str]:
    values = {f"${v['name']}": ".*" for v in dashboard["templating"]["list"]}
    values["${datasource}"] = "prometheus"
    return {**values, **GRAFANA_VARIABLES}


def test_the_two_dashboards_ship() -> None:
    assert {path.name: load(path)["title"] for path in DASHBOARDS} == TITLES


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_importable(path: Path) -> None:
    dashboard = load(path)
    assert dashboard["uid"] == f"modelwarden-{path.stem}"
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    names = [v["name"] for v in dashboard["templating"]["list"]]
    assert names[0] == "datasource"
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys(), panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert ref_ids, panel["title"]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            for name in re.findall(r"\$\{?(\w+)", target["expr"]):
                assert f"${name}" in variables(dashboard), f"{panel['title']}: undefined ${name}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_queries_use_only_exported_metrics_and_labels(path: Path) -> None:
    known = known_series()
    found = {
        where: issues
        for where, expr in expressions(load(path)).items()
        if (issues := problems(expr, known))
    }
    assert not found, json.dumps(found, indent=1)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_queries_parse(path: Path, tmp_path: Path) -> None:
    dashboard = load(path)
    values = variables(dashboard)
    exprs = {where: substitute(e, values) for where, e in expressions(dashboard).items()}
    check_parses(exprs, tmp_path)


def test_every_operator_metric_is_charted() -> None:
    text = "\n".join(path.read_text() for path in DASHBOARDS)
    assert {name for name in operator_families() if name not in text} == set()


def test_rollouts_dashboard_shows_the_sidecars_traffic() -> None:
    text = (CHART / "dashboards" / "rollouts.json").read_text()
    for series in (
        "modelwarden_evaluator_requests_total",
        "modelwarden_evaluator_request_latency_seconds_bucket",
    ):
        assert series in text
