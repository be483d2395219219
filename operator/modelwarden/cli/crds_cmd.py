"""``modelwarden crds``: print, write or check the generated CRDs."""

from __future__ import annotations

from pathlib import Path

import click

from modelwarden.api.crds import render_crds


@click.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one YAML file per CRD into this folder instead of printing them.",
)
@click.option(
    "--check",
    type=click.Path(file_okay=False, path_type=Path),
    help="Exit 1 when the files in this folder differ from what the models generate.",
)
def crds(out: Path | None, check: Path | None) -> None:
    """Print the CustomResourceDefinitions generated from the typed models.

    Pipe them to kubectl (`modelwarden crds | kubectl apply -f -`), write them with --out,
    or verify a folder with --check.
    """
    rendered = render_crds()
    if check is not None:
        stale = [
            name
            for name, text in rendered.items()
            if not (check / name).is_file() or (check / name).read_text() != text
        ]
        if stale:
            raise click.ClickException(
                f"{', '.join(stale)} in {check}/ out of date with the models: run `make crds`"
            )
        click.echo(f"{len(rendered)} CRDs in {check}/ match the models")
        return
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in rendered.items():
            (out / name).write_text(text)
            click.echo(f"wrote {out / name}")
        return
    click.echo("---\n".join(rendered.values()), nl=False)
