"""Which container images the local pod runner runs as real processes.

An entry maps an image repository (any tag or digest) to the argv that stands in for the
image's entrypoint; the container's own `args` are appended. Placeholders in the argv:
`{python}` (this interpreter), `{pod_ip}` and `{port}` (the container's first containerPort).

Extend with the `images` argument of `LocalCluster` or a YAML/JSON file named by the
`LOCALCLUSTER_IMAGES` environment variable (same shape: repository -> argv list).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import yaml

ImageMap = dict[str, list[str]]

DEFAULT_IMAGES: ImageMap = {
    "modelwarden/sample-model": [
        "{python}", "-m", "modelwarden.examples.model_server",
        "--host", "{pod_ip}", "--port", "{port}",
    ],
    "modelwarden/modelwarden": ["{python}", "-m", "modelwarden.cli.main"],
    "modelwarden/evaluator": ["{python}", "-m", "modelwarden.cli.main"],
}  # fmt: skip

ENV_VAR = "LOCALCLUSTER_IMAGES"


def resolve_images(extra: Mapping[str, list[str]] | None = None) -> ImageMap:
    """Defaults, overridden by the env-var file, overridden by `extra`."""
    images = dict(DEFAULT_IMAGES)
    if path := os.environ.get(ENV_VAR):
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        images.update({str(k): [str(a) for a in v] for k, v in loaded.items()})
    images.update(extra or {})
    return images


def save(images: ImageMap, path: Path) -> None:
    """Persist the map for the runner process."""
    path.write_text(json.dumps(images, indent=2, sort_keys=True))


def load(path: Path) -> ImageMap:
    """Read a map written by `save`."""
    data: ImageMap = json.loads(path.read_text())
    return data


def matches(repository: str, image: str) -> bool:
    """True when `image` is `repository` with an optional tag or digest."""
    return image == repository or image.startswith((repository + ":", repository + "@"))


def lookup(images: ImageMap, image: str) -> list[str] | None:
    """The argv template for `image`, or None when it is not mapped (a kwok fake)."""
    for repository, argv in images.items():
        if matches(repository, image):
            return argv
    return None
