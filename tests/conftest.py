"""Suite-wide rules: in CI a skipped integration test is a failure, never a silent pass."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    forbid = os.environ.get("MODELWARDEN_FORBID_SKIPS") == "1"
    if forbid and report.skipped and item.get_closest_marker("integration"):
        report.outcome = "failed"
        report.longrepr = f"integration test skipped, which CI forbids: {report.longrepr}"
