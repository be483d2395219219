"""Build (or reuse) the control-plane binaries and fetch the Gateway API CRDs.

A cold build compiles Kubernetes from source and takes many minutes, so the result is cached
outside the repository, keyed by the Kubernetes version and a hash of the pinned Go modules;
a warm call only checks that the files exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR = REPO_ROOT / "hack" / "controlplane"
K8S_VERSION = "v1.35.4"
GATEWAY_API_VERSION = "v1.4.1"
# Bump when the build recipe (flags, binary list) changes, to invalidate old caches.
RECIPE = "1"


@dataclass(frozen=True)
class Target:
    """One binary: its Go package and the module directory it is built from."""

    name: str
    package: str
    module: Path
    stamp_version: bool


TARGETS = (
    Target("etcd", "go.etcd.io/etcd/server/v3", MODULE_DIR, False),
    Target("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", MODULE_DIR, True),
    Target(
        "kube-controller-manager", "k8s.io/kubernetes/cmd/kube-controller-manager", MODULE_DIR, True
    ),
    Target("kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler", MODULE_DIR, True),
    Target("kubectl", "k8s.io/kubernetes/cmd/kubectl", MODULE_DIR, True),
    Target("kwok", "sigs.k8s.io/kwok/cmd/kwok", MODULE_DIR / "kwok", False),
)


def cache_root() -> Path:
    """The cache folder; `MODELWARDEN_CACHE` overrides `$XDG_CACHE_HOME/modelwarden`."""
    if env := os.environ.get("MODELWARDEN_CACHE"):
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "modelwarden"


def build_key() -> str:
    """`<k8s-version>-<hash>` where the hash covers every pinned go.mod/go.sum and the recipe."""
    digest = hashlib.sha256(RECIPE.encode())
    for module in (MODULE_DIR, MODULE_DIR / "kwok"):
        for name in ("go.mod", "go.sum"):
            digest.update((module / name).read_bytes())
    return f"{K8S_VERSION}-{digest.hexdigest()[:12]}"


def bin_dir() -> Path:
    """Where the binaries of the current pinned versions live."""
    return cache_root() / "controlplane" / build_key() / "bin"


def gateway_crd_dir() -> Path:
    """Where the standard-channel Gateway API CRDs are cached."""
    return cache_root() / "gateway-api" / GATEWAY_API_VERSION / "standard"


def _ldflags(target: Target) -> str:
    flags = ["-s", "-w"]
    if target.stamp_version:
        major, minor = K8S_VERSION.lstrip("v").split(".")[:2]
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
            flags += [
                f"-X {pkg}.gitVersion={K8S_VERSION}",
                f"-X {pkg}.gitMajor={major}",
                f"-X {pkg}.gitMinor={minor}",
                f"-X {pkg}.gitTreeState=clean",
            ]
    return " ".join(flags)


def _say(message: str) -> None:
    print(f"[localcluster build] {message}", file=sys.stderr, flush=True)


def _build_one(target: Target, out: Path) -> None:
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")  # concurrent builds never collide
    cmd = ["go", "build", "-p", "2", "-trimpath", "-ldflags", _ldflags(target)]
    cmd += ["-o", str(tmp), target.package]
    started = time.monotonic()
    _say(f"building {target.name} ({target.package}) ...")
    proc = subprocess.Popen(cmd, cwd=target.module)
    while proc.poll() is None:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            _say(f"  still building {target.name}: {time.monotonic() - started:.0f}s")
    if proc.returncode != 0:
        raise SystemExit(f"go build of {target.package} failed (exit {proc.returncode})")
    tmp.rename(out)
    _say(f"built {target.name} in {time.monotonic() - started:.0f}s")


def _fetch_gateway_crds() -> None:
    dest = gateway_crd_dir()
    if dest.is_dir() and any(dest.glob("*.yaml")):
        return
    _say(f"fetching Gateway API {GATEWAY_API_VERSION} CRDs through the Go module proxy")
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"sigs.k8s.io/gateway-api@{GATEWAY_API_VERSION}"],
        cwd=MODULE_DIR,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    src = Path(json.loads(out)["Dir"]) / "config" / "crd" / "standard"
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for crd in sorted(src.glob("*.yaml")):
        shutil.copyfile(crd, tmp / crd.name)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.replace(dest)


def build() -> Path:
    """Build every missing binary; return the bin folder. A no-op when all are cached."""
    out_dir = bin_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    missing = [t for t in TARGETS if not (out_dir / t.name).is_file()]
    for target in missing:
        _build_one(target, out_dir / target.name)
    _fetch_gateway_crds()
    if missing:
        _say(f"done in {time.monotonic() - started:.0f}s; binaries in {out_dir}")
    else:
        _say(f"up to date: {out_dir}")
    return out_dir
