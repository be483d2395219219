"""Placeholders in a ``prometheus`` analysis check's query, filled in per analysis.

A rollout judges a different version every time, so a query written once in the
ModelDeployment names the versions through placeholders instead of literally:

* ``{{version}}``: the version under analysis (the canary during a rollout, else stable),
* ``{{stable}}``: the stable version,
* ``{{slot}}`` and ``{{namespace}}``: the ModelDeployment.

Versions are given as the pods' ``modelwarden.io/version`` label values (the name itself
unless it is longer than a label allows), which is what relabelled metrics carry.

>>> render("sum(rate(errors{version='{{ version }}', namespace='{{namespace}}'}[1m]))",
...        namespace="risk", slot="fraud", stable="fraud-v1", version="fraud-v2")
"sum(rate(errors{version='fraud-v2', namespace='risk'}[1m]))"
"""

from __future__ import annotations

import re

from modelwarden.decide.children import version_label

PLACEHOLDERS = ("version", "stable", "slot", "namespace")
PLACEHOLDER = re.compile(r"{{\s*([A-Za-z_]+)\s*}}")


def render(query: str, *, namespace: str, slot: str, stable: str, version: str) -> str:
    """``query`` with every placeholder replaced (unknown ones are refused at admission)."""
    values = {
        "version": version_label(version) if version else "",
        "stable": version_label(stable) if stable else "",
        "slot": slot,
        "namespace": namespace,
    }
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), query)
