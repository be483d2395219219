"""Every command, at every depth, answers --help."""

from __future__ import annotations

import click
import pytest
import yaml
from click.testing import CliRunner

from modelwarden.cli.main import cli


def _paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths += _paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


@pytest.mark.parametrize("path", _paths(cli), ids=lambda p: " ".join(p) or "modelwarden")
def test_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_version_names_the_api():
    result = CliRunner().invoke(cli, ["version"])
    assert result.exit_code == 0
    assert "modelwarden.io/v1alpha1" in result.output


def test_crds_check_fails_on_a_stale_folder(tmp_path):
    (tmp_path / "modelversions.yaml").write_text("stale")
    result = CliRunner().invoke(cli, ["crds", "--check", str(tmp_path)])
    assert result.exit_code == 1
    assert "out of date" in result.output


def test_crds_print_is_applyable_yaml():
    result = CliRunner().invoke(cli, ["crds"])
    docs = [d for d in yaml.safe_load_all(result.output) if d]
    assert {d["metadata"]["name"] for d in docs} == {
        "modelversions.modelwarden.io",
        "modeldeployments.modelwarden.io",
        "driftpolicies.modelwarden.io",
    }
