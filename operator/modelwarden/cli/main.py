"""The ``modelwarden`` command line: one module per command, registered here."""

from __future__ import annotations

import click

from modelwarden.cli.crds_cmd import crds
from modelwarden.cli.drift_cmd import drift
from modelwarden.cli.evaluator_cmd import evaluator
from modelwarden.cli.plugin.card import model_card
from modelwarden.cli.profile_cmd import profile
from modelwarden.cli.run_cmd import run
from modelwarden.cli.version_cmd import version


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """modelwarden keeps ML models trustworthy after they ship.

    Each command has its own --help.
    """


for command in (run, evaluator, profile, drift, crds, version, model_card):
    cli.add_command(command)


if __name__ == "__main__":
    cli()
