"""kubectl-warden: every command answers --help, and API refusals read as one clear line."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from modelwarden.cli.plugin import main
from modelwarden.cli.plugin.kube import Cluster


@pytest.mark.parametrize("name", sorted(main.commands))
def test_help(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def _refusal(status: int, message: str) -> ApiException:
    exc = ApiException(status=status, reason="Refused")
    exc.body = json.dumps({"message": message})
    return exc


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (404, "not found", "ModelDeployment 'fraud' not found in namespace 'risk'"),
        (
            403,
            'modeldeployments.modelwarden.io "fraud" is forbidden: User "mallory" cannot patch',
            "user mallory cannot patch modeldeployments in risk (",
        ),
        (422, "spec.halt: Invalid value", "patch ModelDeployment fraud: spec.halt: Invalid value"),
    ],
    ids=["missing", "forbidden", "invalid"],
)
def test_api_refusals_are_explained(status, message, expected):
    cluster = Cluster(client.ApiClient(), "risk")
    with (
        pytest.raises(click.ClickException) as caught,
        cluster.explained("patch", "modeldeployments", "fraud"),
    ):
        raise _refusal(status, message)
    assert caught.value.message.startswith(expected)
