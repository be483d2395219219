"""kwok configuration: the Stage file and the fake Node objects.

The stages are upstream's, except that pod-ready leaves Ready=False on pods with a mapped
image; the Go-template test for "is this image mapped" is generated here from the image map.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from localcluster.images import ImageMap

NODE_ANNOTATION = "kwok.x-k8s.io/node"


def _is_mapped_test(images: ImageMap) -> str:
    """A Go-template expression, evaluated with a container as `.`, true for mapped images."""
    tests = []
    for repository in images:  # kwok templates have the sprig functions (hasPrefix)
        tests.append(f'(eq .image "{repository}")')
        tests += [f'(hasPrefix "{repository}{sep}" .image)' for sep in (":", "@")]
    return f"(or {' '.join(tests)})" if tests else "false"


def _is_mapped_cel(images: ImageMap) -> str:
    """A CEL expression on container `c`, true for mapped images (for stage selectors)."""
    tests = [
        f'c.image == "{r}" || c.image.startsWith("{r}:") || c.image.startsWith("{r}@")'
        for r in images
    ]
    return " || ".join(tests) or "false"


def write_stages(images: ImageMap, path: Path) -> Path:
    """Write the kwok `--config` file for this image map."""
    text = resources.files("localcluster").joinpath("kwok_stages.yaml").read_text()
    text = text.replace("RUNNER_OWNED_CEL", _is_mapped_cel(images))
    path.write_text(text.replace("RUNNER_OWNED", _is_mapped_test(images)))
    return path


def node(name: str, pod_cidr: str) -> dict[str, Any]:
    """A fake Node managed by kwok; untainted so ordinary workloads schedule onto it."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {NODE_ANNOTATION: "fake"},
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
        },
        "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
    }
