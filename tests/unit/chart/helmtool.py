"""The tools the chart tests run: helm (built once from the Go module proxy) and promtool.

helm is not packaged by Debian, so it is built with `go install` into the same cache as the
control-plane binaries (`~/.cache/modelwarden/tools/helm/<version>/helm`), with the link flags
of helm's own Makefile so that `helm version` and the default Kubernetes version are right.
A missing tool fails the test with the command that installs it: never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from localcluster.build import REPO_ROOT, cache_root

HELM_VERSION = "v3.21.4"
# helm v3.21.4 builds against client-go v0.36: the Kubernetes version `helm template` assumes.
HELM_K8S_MINOR = "36"
CHART = REPO_ROOT / "charts" / "modelwarden"
RULES = CHART / "rules" / "modelwarden.rules.yaml"
# Every switch of values.yaml turned on, with a value for every optional field.
ALL_OPTIONS = Path(__file__).with_name("all-options.values.yaml")

Obj = dict[str, Any]


def _say(message: str) -> None:
    print(f"[chart tests] {message}", file=sys.stderr, flush=True)


def helm_binary() -> Path:
    """The cached helm, built first when missing (about a minute with a warm Go cache)."""
    out = cache_root() / "tools" / "helm" / HELM_VERSION / "helm"
    if out.is_file():
        return out
    if shutil.which("go") is None:
        raise RuntimeError("building helm needs Go (https://go.dev/dl/) on PATH")
    package = "helm.sh/helm/v3"
    ldflags = " ".join(
        [
            "-s -w",
            f"-X {package}/internal/version.version={HELM_VERSION}",
            f"-X {package}/internal/version.gitTreeState=clean",
            f"-X {package}/pkg/lint/rules.k8sVersionMajor=1",
            f"-X {package}/pkg/lint/rules.k8sVersionMinor={HELM_K8S_MINOR}",
            f"-X {package}/pkg/chartutil.k8sVersionMajor=1",
            f"-X {package}/pkg/chartutil.k8sVersionMinor={HELM_K8S_MINOR}",
        ]
    )
    tmp = out.parent / f".build-{os.getpid()}"  # concurrent builds never collide
    tmp.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    _say(f"building helm {HELM_VERSION} from the Go module proxy into {out.parent} ...")
    subprocess.run(
        ["go", "install", "-trimpath", "-ldflags", ldflags, f"{package}/cmd/helm@{HELM_VERSION}"],
        env={**os.environ, "GOBIN": str(tmp), "CGO_ENABLED": "0"},
        check=True,
    )
    (tmp / "helm").replace(out)
    tmp.rmdir()
    _say(f"built helm in {time.monotonic() - started:.0f}s")
    return out


def promtool_binary() -> Path:
    """promtool from PATH (Debian/Ubuntu: `apt-get install -y prometheus`)."""
    found = shutil.which("promtool")
    if found is None:
        raise RuntimeError("promtool not found: install it with `apt-get install -y prometheus`")
    return Path(found)


def run(argv: list[str | Path], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool; a non-zero exit raises with its output, which names what is wrong."""
    result = subprocess.run(
        [str(a) for a in argv], input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, argv))} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


def render(*args: str, namespace: str = "modelwarden-system") -> list[Obj]:
    """`helm template` of the chart with extra arguments; the rendered objects, in order."""
    result = run([helm_binary(), "template", "mw", CHART, "--namespace", namespace, *args])
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]
