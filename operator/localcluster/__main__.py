"""CLI of the local control plane: `build`, `up`, `down` (and the internal `runner`)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from localcluster import build as build_mod
from localcluster import runner as runner_mod
from localcluster.cluster import LocalCluster

DEFAULT_STATE = build_mod.REPO_ROOT / ".cluster"
state_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_STATE,
    show_default=True,
    help="Where pki, etcd data, logs, pids and the kubeconfig live.",
)


@click.group()
def cli() -> None:
    """A real Kubernetes control plane on loopback for tests and the demo."""


@cli.command()
def build() -> None:
    """Build the control-plane binaries into the cache (a no-op when cached)."""
    build_mod.build()


@cli.command()
@state_option
def up(state_dir: Path) -> None:
    """Start the cluster and leave it running; the kubeconfig is <state-dir>/kubeconfig."""
    started = time.monotonic()
    cluster = LocalCluster(state_dir)
    if cluster.is_running():
        click.echo(f"cluster already running at {cluster.api_url}")
    else:
        cluster.start()
        click.echo(f"cluster ready in {time.monotonic() - started:.1f}s at {cluster.api_url}")
    click.echo(f"  export KUBECONFIG={cluster.kubeconfig} PATH={cluster.state_dir / 'bin'}:$PATH")
    click.echo(f"  logs:    {cluster.log_dir}")


@cli.command()
@state_option
def down(state_dir: Path) -> None:
    """Stop every process `up` started."""
    LocalCluster(state_dir).stop()
    click.echo("cluster stopped")


@cli.command(hidden=True)
@state_option
def runner(state_dir: Path) -> None:
    """The local pod runner daemon (started by `up`)."""
    runner_mod.main(state_dir.resolve())


if __name__ == "__main__":
    cli()
