"""`LocalCluster`: a real Kubernetes control plane on loopback, without containers.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the upstream binaries;
kwok plays the kubelet of fake nodes whose pod CIDR sits inside 127.0.0.0/8, and the local
pod runner turns pods with mapped images into processes listening on their pod IP and serves
their measured CPU and memory as the resource metrics API (registered with the aggregation
layer as `v1beta1.metrics.k8s.io`, so `kubectl top` and HPAs work). Every
component is a daemon with a pid file under the state folder, so a cluster started by
`python -m localcluster up` can be stopped by `down` from another process.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from kubernetes import client
from kubernetes import config as k8s_config

from localcluster import build, images, kwok, procs
from localcluster.pki import (
    CONTROLLER_MANAGER,
    FRONT_PROXY_CLIENT,
    METRICS_SERVICE_NAME,
    METRICS_SERVICE_NAMESPACE,
    SCHEDULER,
    TEST_USERS,
    Pki,
)

LOOPBACK = "127.0.0.1"
SERVICE_CIDR = "10.96.0.0/16"
# The HPA controller's loop period; upstream's 15 s default would make every scaling test wait.
HPA_SYNC_PERIOD = "2s"
METRICS_API = "v1beta1.metrics.k8s.io"
START_ORDER = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "pod-runner",
)

STATE_ENTRIES = (
    *("pki", "etcd", "logs", "pids", "pods", "users"),
    *("cluster.json", "images.json", "kwok.yaml", "kubeconfig", "bin"),
)


def _free_ports(names: Sequence[str]) -> dict[str, int]:
    """Currently free loopback ports, picked below the kernel's ephemeral range so that no
    outgoing connection (of this or a parallel cluster) can take one before it is bound."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports: dict[str, int] = {}
    while len(ports) < len(names):
        port = random.randrange(10000, low)
        with socket.socket() as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                continue
        if port not in ports.values():
            ports[names[len(ports)]] = port
    return ports


class ClusterError(RuntimeError):
    """The cluster did not come up; the message names the log folder."""


def wait_until(check: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    """Poll `check` until it returns something truthy; TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


class LocalCluster:
    """A local control plane whose state (pki, etcd data, logs, pids) lives in `state_dir`.

    `images` extends the image map of the pod runner, `pod_cidr` (inside 127.0.0.0/8) is split
    into one /24 per fake node, and every `crd_dir/*.yaml` plus the Gateway API CRDs are
    applied and Established before `start` returns.
    """

    def __init__(
        self,
        state_dir: Path | str,
        *,
        images: Mapping[str, list[str]] | None = None,
        pod_cidr: str = "127.20.0.0/16",
        nodes: int = 1,
        crd_dir: Path | None = build.REPO_ROOT / "crds",
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.crd_dir = crd_dir
        self.extra_images = dict(images or {})
        self.pod_cidr = pod_cidr
        self.nodes = nodes
        self.pki = Pki(self.state_dir / "pki")
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    # --- paths and addresses -------------------------------------------------------------
    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def pid_dir(self) -> Path:
        return self.state_dir / "pids"

    @property
    def kubeconfig(self) -> Path:
        """The admin (system:masters) kubeconfig."""
        return self.state_dir / "kubeconfig"

    @property
    def bin_dir(self) -> Path:
        return build.bin_dir()

    @property
    def kubectl(self) -> Path:
        """The kubectl built from the same Kubernetes version as the API server."""
        return self.bin_dir / "kubectl"

    @property
    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = json.loads((self.state_dir / "cluster.json").read_text())
        return info

    @property
    def api_url(self) -> str:
        return str(self.info["api_url"])

    def kubeconfig_for(self, user: str) -> Path:
        """A kubeconfig acting as `user` (see `pki.TEST_USERS`); written on first use."""
        path = self.state_dir / "users" / f"{user}.kubeconfig"
        if not path.exists():
            self.pki.write_kubeconfig(path, self.api_url, user)
        return path

    def api_client(self, user: str = "admin") -> client.ApiClient:
        """A `kubernetes` (sync) API client acting as `user`."""
        kubeconfig = self.kubeconfig if user == "admin" else self.kubeconfig_for(user)
        load: Any = k8s_config.new_client_from_config  # untyped in the client library
        api: client.ApiClient = load(str(kubeconfig))
        return api

    def kubectl_run(
        self, *args: str, user: str = "admin", input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl as `user`; stdout/stderr are captured as text."""
        kubeconfig = self.kubeconfig if user == "admin" else self.kubeconfig_for(user)
        return subprocess.run(
            [str(self.kubectl), "--kubeconfig", str(kubeconfig), *args],
            input=input,
            capture_output=True,
            text=True,
            check=check,
        )

    # --- lifecycle -----------------------------------------------------------------------
    def is_running(self) -> bool:
        """True when every component recorded under the state folder is alive."""
        files = [self.pid_dir / name for name in START_ORDER]
        return all(f.exists() and procs.alive(*procs.recorded(f)) for f in files)

    def start(self) -> LocalCluster:
        """Build (if needed) and start everything; return once the cluster is usable."""
        if self.is_running():
            return self
        self.stop()
        bin_dir = build.build()
        self._wipe()
        self.pki.generate()
        (self.state_dir / "bin").symlink_to(bin_dir)  # PATH=<state>/bin:$PATH for kubectl
        ports = _free_ports(("etcd", "peer", "apiserver", "kcm", "sched", "metrics"))
        api_url = f"https://{LOOPBACK}:{ports['apiserver']}"
        (self.state_dir / "cluster.json").write_text(
            json.dumps({"api_url": api_url, "ports": ports, "pod_cidr": self.pod_cidr}, indent=2)
        )
        image_map = images.resolve_images(self.extra_images)
        images.save(image_map, self.state_dir / "images.json")
        stages = kwok.write_stages(image_map, self.state_dir / "kwok.yaml")
        self.pki.write_kubeconfig(self.kubeconfig, api_url, "admin")
        for user in TEST_USERS:  # users/<name>.kubeconfig, for kubectl from a shell
            self.kubeconfig_for(user.name)
        kcm = self.pki.write_kubeconfig(
            self.state_dir / "users" / "kcm.kubeconfig", api_url, CONTROLLER_MANAGER.name
        )
        sched = self.pki.write_kubeconfig(
            self.state_dir / "users" / "sched.kubeconfig", api_url, SCHEDULER.name
        )
        try:
            self._spawn("etcd", self._etcd(bin_dir, ports))
            self._spawn("kube-apiserver", self._apiserver(bin_dir, ports))
            self._wait_ready(api_url)
            self._spawn("kube-controller-manager", self._kcm(bin_dir, kcm, ports["kcm"]))
            self._spawn("kube-scheduler", self._scheduler(bin_dir, sched, ports["sched"]))
            self._spawn("kwok", self._kwok(bin_dir, stages))
            self._spawn("pod-runner", self._runner())
            self._register_metrics_api(ports["metrics"])
            self._add_nodes()
            self._apply_crds()
            self._wait_for("default service account", self._has_default_sa)
            self._wait_for("Ready nodes", self._nodes_ready)
            self._wait_for(f"APIService {METRICS_API} Available", self._metrics_api_available)
        except BaseException as err:  # Ctrl-C included: never leave half a cluster behind
            self.stop()
            if isinstance(err, Exception):
                raise ClusterError(f"{err}; logs in {self.log_dir}") from err
            raise
        return self

    def stop(self) -> None:
        """Stop every process this state folder records, pod processes first."""
        for name in reversed(START_ORDER):
            pid_file = self.pid_dir / name
            if pid_file.exists():
                procs.stop(pid_file, self._children.pop(name, None))
        for leftover in sorted((self.pid_dir / "pods").glob("*")):
            procs.stop(leftover)

    def _wipe(self) -> None:
        """Remove the previous run's state (only our own entries: other clusters may nest)."""
        for name in STATE_ENTRIES:
            path = self.state_dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- components ----------------------------------------------------------------------
    def _spawn(self, name: str, argv: Sequence[str]) -> None:
        self._children[name] = procs.spawn(name, list(argv), self.pid_dir, self.log_dir)

    def _etcd(self, bin_dir: Path, ports: dict[str, int]) -> list[str]:
        client, peer = f"http://{LOOPBACK}:{ports['etcd']}", f"http://{LOOPBACK}:{ports['peer']}"
        return [
            str(bin_dir / "etcd"),
            "--name=local",
            f"--data-dir={self.state_dir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=local={peer}",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ]

    def _apiserver(self, bin_dir: Path, ports: dict[str, int]) -> list[str]:
        pki = self.pki
        return [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers=http://{LOOPBACK}:{ports['etcd']}",
            f"--bind-address={LOOPBACK}",
            f"--advertise-address={LOOPBACK}",
            f"--secure-port={ports['apiserver']}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--token-auth-file={pki.token_file}",
            "--authorization-mode=Node,RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            # Endpoints may not hold loopback addresses, so no `kubernetes` Service endpoints.
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true",
            "--profiling=false",
            # The aggregation layer, for the resource metrics API served by the pod runner.
            f"--requestheader-client-ca-file={pki.front_proxy_ca}",
            f"--requestheader-allowed-names={FRONT_PROXY_CLIENT}",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pki.proxy_client_cert}",
            f"--proxy-client-key-file={pki.proxy_client_key}",
        ]

    def _kcm(self, bin_dir: Path, kubeconfig: Path, port: int) -> list[str]:
        return [
            str(bin_dir / "kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={port}",
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={self.pki.sa_key}",
            f"--root-ca-file={self.pki.ca_cert}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--horizontal-pod-autoscaler-sync-period={HPA_SYNC_PERIOD}",
            "--profiling=false",
        ]

    def _scheduler(self, bin_dir: Path, kubeconfig: Path, port: int) -> list[str]:
        return [
            str(bin_dir / "kube-scheduler"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={port}",
            "--leader-elect=false",
            "--profiling=false",
        ]

    def _kwok(self, bin_dir: Path, stages: Path) -> list[str]:
        return [
            str(bin_dir / "kwok"),
            f"--kubeconfig={self.kubeconfig}",
            f"--config={stages}",
            f"--manage-nodes-with-annotation-selector={kwok.NODE_ANNOTATION}=fake",
            f"--cidr={self.pod_cidr}",
            f"--node-ip={LOOPBACK}",
            "--node-lease-duration-seconds=40",
        ]

    def _runner(self) -> list[str]:
        return [sys.executable, "-m", "localcluster", "runner", "--state-dir", str(self.state_dir)]

    # --- readiness -----------------------------------------------------------------------
    def _wait_for(self, what: str, check: Callable[[], bool], timeout: float = 120.0) -> None:
        def alive_and_done() -> bool:
            for name, child in self._children.items():
                if child.poll() is not None:
                    raise ClusterError(f"{name} exited with {child.returncode}")
            return check()

        wait_until(alive_and_done, what, timeout)

    def _wait_ready(self, api_url: str) -> None:
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        request = urllib.request.Request(
            api_url + "/readyz", headers={"Authorization": "Bearer " + self.pki.token("admin")}
        )

        def ready() -> bool:
            try:
                with urllib.request.urlopen(request, context=context, timeout=2) as response:
                    return int(response.status) == 200
            except (urllib.error.URLError, OSError):
                return False

        self._wait_for("kube-apiserver /readyz", ready)

    def _has_default_sa(self) -> bool:
        result = self.kubectl_run("get", "serviceaccount", "default", "-n", "default", check=False)
        return result.returncode == 0

    def _nodes_ready(self) -> bool:
        path = "{.items[*].status.conditions[?(@.type=='Ready')].status}"
        result = self.kubectl_run("get", "nodes", "-o", f"jsonpath={path}", check=False)
        return result.returncode == 0 and result.stdout.split() == ["True"] * self.nodes

    def _register_metrics_api(self, port: int) -> None:
        """Point the aggregator at the runner's metrics API: an ExternalName Service to
        localhost (the aggregator resolves it to ``localhost:<port>`` and checks the serving
        certificate against ``metrics-server.kube-system.svc``) and the APIService."""
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": METRICS_SERVICE_NAME, "namespace": METRICS_SERVICE_NAMESPACE},
            "spec": {"type": "ExternalName", "externalName": "localhost"},
        }
        api_service = {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": METRICS_API},
            "spec": {
                "group": "metrics.k8s.io",
                "version": "v1beta1",
                "groupPriorityMinimum": 100,
                "versionPriority": 100,
                "service": {
                    "namespace": METRICS_SERVICE_NAMESPACE,
                    "name": METRICS_SERVICE_NAME,
                    "port": port,
                },
                "caBundle": base64.b64encode(self.pki.ca_cert.read_bytes()).decode(),
            },
        }
        self.kubectl_run("apply", "-f", "-", input=yaml.safe_dump_all([service, api_service]))

    def _metrics_api_available(self) -> bool:
        path = "{.status.conditions[?(@.type=='Available')].status}"
        result = self.kubectl_run("get", "apiservice", METRICS_API, "-o", f"jsonpath={path}",
                                  check=False)  # fmt: skip
        return result.stdout.strip() == "True"

    def _add_nodes(self) -> None:
        network = ipaddress.ip_network(self.pod_cidr)
        subnets = network.subnets(new_prefix=max(network.prefixlen, 24))
        manifests = [kwok.node(f"kwok-node-{i}", str(next(subnets))) for i in range(self.nodes)]
        self.kubectl_run("apply", "-f", "-", input=yaml.safe_dump_all(manifests))

    def _apply_crds(self) -> None:
        crd_files = sorted(self.crd_dir.glob("*.yaml")) if self.crd_dir else []
        crd_files += sorted(build.gateway_crd_dir().glob("*.yaml"))
        for crd in crd_files:
            result = self.kubectl_run(
                "apply", "--server-side", "--force-conflicts", "-f", str(crd), check=False
            )
            if result.returncode != 0:
                raise ClusterError(f"applying {crd} failed: {result.stderr.strip()}")
        self.kubectl_run("wait", "--for=condition=Established", "crd", "--all", "--timeout=120s")
