"""``kubectl warden``: the modelwarden kubectl plugin (installed as ``kubectl-warden``).

Every command acts as the user of the current kubeconfig context, so RBAC decides what they
may do and the admission webhook records who they are.
"""

from __future__ import annotations

import click

from modelwarden.cli.plugin.approvals import approve, reject, stage
from modelwarden.cli.plugin.audit import audit
from modelwarden.cli.plugin.card import model_card
from modelwarden.cli.plugin.slot import abort, halt, promote, resume, retry, rollback
from modelwarden.cli.plugin.status import status


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Govern and deliver models: kubectl warden COMMAND --help for each command."""


for command in (
    status, approve, reject, stage, promote, abort, retry, rollback, halt, resume, audit,
    model_card,
):  # fmt: skip
    main.add_command(command)
