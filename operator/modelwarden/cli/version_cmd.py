"""``modelwarden version``."""

from __future__ import annotations

import click

from modelwarden import __version__
from modelwarden.api import API_VERSION


@click.command()
def version() -> None:
    """Print the modelwarden version and the API version it serves."""
    click.echo(f"modelwarden {__version__} (API {API_VERSION})")
