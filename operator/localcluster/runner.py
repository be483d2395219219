"""The local pod runner: the kubelet stand-in that makes mapped images real processes.

kwok fakes every pod on the fake nodes. For containers whose image is in the image map
(see `images.py`) this runner starts the mapped command locally, bound to the pod's loopback
IP, with the container's env/args and its ConfigMap/Secret/projected/downwardAPI volumes
materialised (and kept fresh) under the state folder; it flips the pod's Ready condition
when the process accepts connections, restarts it when it exits and stops it (SIGTERM, then
SIGKILL) when the pod goes away. Its own log and one log per container are in `logs/`.
It also measures its processes' CPU and memory and serves them as the resource metrics API
(`metrics_api.py`), as kubelet and metrics-server do together in a real cluster.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client

from localcluster import images as image_map
from localcluster import metrics_api
from localcluster.cache import Cache
from localcluster.pki import FRONT_PROXY_CLIENT, Pki
from localcluster.podspec import (
    ConfigError,
    Lookup,
    container_env,
    decode_secret,
    expand,
    rewrite_paths,
    volume_files,
)
from localcluster.usage import Usage, UsageMeter

Obj = dict[str, Any]
log = logging.getLogger("localcluster.runner")
GRACE_SECONDS = 5.0
TICK_SECONDS = 0.25
SAMPLE_SECONDS = 1.0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sync_dir(root: Path, files: Mapping[str, str]) -> None:
    """Make `root` hold exactly `files`, rewriting only what changed (atomically)."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file() and target.read_text(errors="replace") == content:
            continue
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(content)
        os.replace(tmp, target)
    wanted = {root / rel for rel in files}
    for path in root.rglob("*"):
        if path.is_file() and path not in wanted:
            path.unlink()


@dataclass
class Container:
    """One running (or crashed) process standing in for a container."""

    name: str
    port: int | None
    probe: Obj | None
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    ready: bool = False
    started_at: str = ""
    not_before: float = 0.0
    waiting: tuple[str, str] | None = ("ContainerCreating", "")
    last_exit: Obj | None = None
    finished: bool = False  # exited under restartPolicy Never/OnFailure: not restarted
    pre_stop_sleep: float = 0.0  # lifecycle.preStop.sleep.seconds


@dataclass
class Dying:
    """A process on its way out: SIGTERM at `term_at` (after any preStop sleep)."""

    proc: subprocess.Popen[bytes]
    directory: Path
    ip: str
    term_at: float
    termed_at: float | None = None


@dataclass
class PodState:
    """What the runner keeps per pod it runs."""

    uid: str
    directory: Path
    ip: str
    containers: dict[str, Container] = field(default_factory=dict)
    token: str = ""
    published: str = ""


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


class PodRunner:
    """Reconciles mapped pods on the fake nodes into local processes."""

    def __init__(self, state_dir: Path, api: client.CoreV1Api, api_url: str) -> None:
        self.state_dir = state_dir
        self.api = api
        self.api_url = api_url
        self.images = image_map.load(state_dir / "images.json")
        self.pki = Pki(state_dir / "pki")
        self.pid_dir = state_dir / "pids" / "pods"
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.wake = threading.Event()
        self.pods = Cache(api.list_pod_for_all_namespaces, self.wake)
        self.config_maps = Cache(api.list_config_map_for_all_namespaces, self.wake)
        self.secrets = Cache(api.list_secret_for_all_namespaces, self.wake)
        self.lookup = Lookup(config_map=self._config_map, secret=self._secret)
        self.states: dict[str, PodState] = {}
        self.dying: list[Dying] = []
        self.meter: UsageMeter[tuple[str, str]] = UsageMeter()
        self._meter_lock = threading.Lock()
        self._sampled_at = float("-inf")

    def _config_map(self, namespace: str, name: str) -> Mapping[str, str] | None:
        obj = self.config_maps.get(namespace, name)
        return None if obj is None else dict(obj.get("data") or {})

    def _secret(self, namespace: str, name: str) -> Mapping[str, str] | None:
        obj = self.secrets.get(namespace, name)
        return None if obj is None else decode_secret(obj)

    def run(self, stop: threading.Event) -> None:
        """Watch and reconcile until `stop` is set, then stop every process."""
        for cache in (self.pods, self.config_maps, self.secrets):
            threading.Thread(target=cache.run, args=(stop,), daemon=True).start()
        try:
            while not stop.is_set():
                self.wake.wait(TICK_SECONDS)
                self.wake.clear()
                self.reconcile()
                self._sample()
        finally:
            for state in list(self.states.values()):
                self._forget(state, graceful=False)
            self._reap(wait=True)

    # --- usage (the metrics API's UsageSource) ------------------------------------------
    def _sample(self) -> None:
        """Read every running container's CPU and memory, once per `SAMPLE_SECONDS`."""
        if time.monotonic() - self._sampled_at < SAMPLE_SECONDS:
            return
        self._sampled_at = time.monotonic()
        groups = {
            (uid, c.name): c.proc.pid
            for uid, state in self.states.items()
            for c in state.containers.values()
            if c.proc is not None and c.proc.poll() is None
        }
        with self._meter_lock:
            self.meter.sample(groups, time.time())

    def _container_usage(self, uid: str) -> dict[str, Usage] | None:
        """Usage of every container the runner runs for pod `uid`; None unless all have one."""
        state = self.states.get(uid)
        if state is None:
            return None
        with self._meter_lock:
            usages = {name: self.meter.usage((uid, name)) for name in list(state.containers)}
        found = {name: u for name, u in usages.items() if u is not None}
        return found if found and len(found) == len(usages) else None

    def pod_usage(
        self, namespace: str | None, label_selector: str
    ) -> list[tuple[Obj, dict[str, Usage]]]:
        # The API server itself evaluates the selector, so every selector syntax works.
        response: Any
        if namespace is None:
            response = self.api.list_pod_for_all_namespaces(
                label_selector=label_selector, _preload_content=False
            )
        else:
            response = self.api.list_namespaced_pod(
                namespace, label_selector=label_selector, _preload_content=False
            )
        found = []
        for pod in json.loads(response.data)["items"]:
            if (usages := self._container_usage(pod["metadata"]["uid"])) is not None:
                found.append((pod, usages))
        return found

    def node_usage(self) -> list[tuple[str, Usage]]:
        per_node: dict[str, list[Usage]] = {}
        for pod in self.pods.values():
            node = pod["spec"].get("nodeName")
            if node and (usages := self._container_usage(pod["metadata"]["uid"])) is not None:
                per_node.setdefault(node, []).extend(usages.values())
        return [
            (
                node,
                Usage(
                    timestamp=min(u.timestamp for u in us),
                    window_seconds=min(u.window_seconds for u in us),
                    cpu_cores=sum(u.cpu_cores for u in us),
                    memory_bytes=sum(u.memory_bytes for u in us),
                ),
            )
            for node, us in sorted(per_node.items())
        ]

    # --- pods ----------------------------------------------------------------------------
    def _mapped(self, pod: Obj) -> list[Obj]:
        return [c for c in pod["spec"]["containers"] if image_map.lookup(self.images, c["image"])]

    def reconcile(self) -> None:
        """One pass over every pod: start, refresh, probe, restart or stop."""
        seen: set[str] = set()
        for pod in self.pods.values():
            meta, status = pod["metadata"], pod.get("status") or {}
            runnable = (
                "deletionTimestamp" not in meta
                and status.get("phase") == "Running"
                and status.get("podIP")
                and self._mapped(pod)
            )
            if not runnable:
                continue
            seen.add(meta["uid"])
            try:
                self._reconcile_pod(pod)
            except Exception:
                log.exception("pod %s/%s", meta["namespace"], meta["name"])
        for uid in set(self.states) - seen:
            self._forget(self.states.pop(uid))
        self._reap(wait=False)

    def _state(self, pod: Obj) -> PodState:
        meta = pod["metadata"]
        if (state := self.states.get(meta["uid"])) is None:
            name = f"{meta['namespace']}_{meta['name']}_{meta['uid'][:8]}"
            state = PodState(
                uid=meta["uid"], directory=self.state_dir / "pods" / name, ip=pod["status"]["podIP"]
            )
            for c in self._mapped(pod):
                ports = c.get("ports") or []
                state.containers[c["name"]] = Container(
                    name=c["name"],
                    port=ports[0]["containerPort"] if ports else None,
                    probe=c.get("readinessProbe"),
                    pre_stop_sleep=float(
                        ((c.get("lifecycle") or {}).get("preStop") or {})
                        .get("sleep", {})
                        .get("seconds", 0)
                    ),
                    log_path=self.state_dir / "logs" / "pods" / f"{name}_{c['name']}.log",
                )
            self.states[meta["uid"]] = state
        return state

    def _token(self, pod: Obj, state: PodState) -> str:
        if not state.token:
            meta = pod["metadata"]
            request = client.AuthenticationV1TokenRequest(
                spec=client.V1TokenRequestSpec(
                    audiences=[],
                    expiration_seconds=86400,
                    bound_object_ref=client.V1BoundObjectReference(
                        kind="Pod", api_version="v1", name=meta["name"], uid=meta["uid"]
                    ),
                )
            )
            sa = pod["spec"].get("serviceAccountName") or "default"
            response = self.api.create_namespaced_service_account_token(
                sa, meta["namespace"], request
            )
            if response.status is None:
                raise RuntimeError(f"no token for service account {sa}")
            state.token = str(response.status.token)
        return state.token

    def _mounts(self, pod: Obj, state: PodState) -> dict[str, Path]:
        """Materialise every volume; return in-container mount path -> local path per mount."""
        vol_root = state.directory / "volumes"
        for volume in pod["spec"].get("volumes") or []:
            files = volume_files(pod, volume, self.lookup, lambda: self._token(pod, state))
            _sync_dir(vol_root / volume["name"], files)
        mounts: dict[str, Path] = {}
        for c in self._mapped(pod):
            for m in c.get("volumeMounts") or []:
                mounts[m["mountPath"]] = vol_root / m["name"] / m.get("subPath", "")
        return mounts

    def _reconcile_pod(self, pod: Obj) -> None:
        state = self._state(pod)
        try:
            mounts = self._mounts(pod, state)
        except ConfigError as err:
            for c in state.containers.values():
                if c.proc is None:
                    c.waiting = ("CreateContainerConfigError", str(err))
            self._publish(pod, state)
            return
        for spec in self._mapped(pod):
            self._reconcile_container(pod, spec, state, mounts)
        self._publish(pod, state)

    def _reconcile_container(
        self, pod: Obj, spec: Obj, state: PodState, mounts: dict[str, Path]
    ) -> None:
        c = state.containers[spec["name"]]
        if c.proc is not None and (code := c.proc.poll()) is not None:
            tail = _tail(c.log_path)
            log.warning("%s exited with %s; last output:\n%s", c.log_path.name, code, tail)
            c.proc, c.ready = None, False
            c.last_exit = {"exitCode": code, "reason": "Error" if code else "Completed"}
            c.last_exit.update(message=tail[-1000:], finishedAt=_now(), startedAt=c.started_at)
            policy = pod["spec"].get("restartPolicy", "Always")
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                c.finished, c.waiting, c.not_before = True, None, float("inf")
            else:
                c.restarts += 1
                c.waiting = ("CrashLoopBackOff", tail[-1000:])
                c.not_before = time.monotonic() + min(2.0 ** min(c.restarts, 5), 30.0)
        if c.proc is None and any(d.ip == state.ip for d in self.dying):
            # kwok hands a deleted pod's IP to the next pod at once; a real node frees it only
            # with the old sandbox, so wait until the old pod's processes (in their preStop
            # sleep) are gone instead of failing to bind.
            c.waiting = ("ContainerCreating", f"pod IP {state.ip} still held by a stopping pod")
            return
        if c.proc is None and time.monotonic() >= c.not_before:
            try:
                self._start(pod, spec, state, c, mounts)
            except ConfigError as err:
                c.waiting = ("CreateContainerConfigError", str(err))
        if c.proc is not None:
            c.ready = self._probe(pod["status"]["podIP"], c, spec)

    def _start(
        self, pod: Obj, spec: Obj, state: PodState, c: Container, mounts: dict[str, Path]
    ) -> None:
        pod_ip = pod["status"]["podIP"]
        kubeconfig = self.pki.write_kubeconfig(
            state.directory / "kubeconfig", self.api_url, "pod", self._token(pod, state)
        )
        env = dict(os.environ)
        env.update(POD_IP=pod_ip, KUBECONFIG=str(kubeconfig))
        env.update(
            {k: rewrite_paths(v, mounts) for k, v in container_env(pod, spec, self.lookup).items()}
        )
        template = image_map.lookup(self.images, spec["image"]) or []
        values = {"python": sys.executable, "pod_ip": pod_ip, "port": str(c.port or "")}
        argv = [part.format(**values) for part in template]
        argv += [rewrite_paths(expand(a, env), mounts) for a in spec.get("args") or []]
        c.log_path.parent.mkdir(parents=True, exist_ok=True)
        state.directory.mkdir(parents=True, exist_ok=True)
        with c.log_path.open("ab") as out:
            out.write(f"--- {_now()} starting: {argv}\n".encode())
            out.flush()
            c.proc = subprocess.Popen(
                argv,
                env=env,
                cwd=state.directory,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        (self.pid_dir / str(c.proc.pid)).write_text(f"{c.proc.pid}\n{argv[0]}\n")
        c.started_at, c.waiting = _now(), None
        log.info("started %s (pid %d): %s", c.log_path.name, c.proc.pid, argv)

    def _probe(self, pod_ip: str, c: Container, spec: Obj) -> bool:
        http = (c.probe or {}).get("httpGet")
        port: Any = (http or (c.probe or {}).get("tcpSocket") or {}).get("port", c.port)
        if isinstance(port, str):
            named = {p.get("name"): p["containerPort"] for p in spec.get("ports") or []}
            port = named.get(port)
        if port is None:
            return True
        try:
            if http:
                url = f"http://{pod_ip}:{port}{http.get('path', '/')}"
                with urllib.request.urlopen(url, timeout=1) as response:
                    return 200 <= int(response.status) < 400
            with socket.create_connection((pod_ip, int(port)), timeout=1):
                return True
        except OSError:
            return False

    def _publish(self, pod: Obj, state: PodState) -> None:
        """Patch the pod's readiness, container states and (once all finished) phase."""
        mapped = state.containers.values()
        done = all(c.finished for c in mapped)
        statuses = []
        for current in (pod.get("status") or {}).get("containerStatuses") or []:
            cs = dict(current)
            if c := state.containers.get(cs["name"]):
                cs.update(ready=c.ready, started=c.proc is not None, restartCount=c.restarts)
                if c.proc is not None:
                    cs["state"] = {"running": {"startedAt": c.started_at}}
                elif c.finished:
                    cs["state"] = {"terminated": c.last_exit}
                elif c.waiting:
                    cs["state"] = {"waiting": {"reason": c.waiting[0], "message": c.waiting[1]}}
                if c.last_exit and not c.finished:
                    cs["lastState"] = {"terminated": c.last_exit}
            elif done:  # a kwok-faked container of a completed pod
                cs.update(ready=False, state={"terminated": {"exitCode": 0, "reason": "Completed"}})
            statuses.append(cs)
        digest = repr(
            [(c.ready, c.proc is None, c.waiting, c.restarts, c.finished) for c in mapped]
        )
        if digest == state.published:
            return
        ready = not done and all(cs.get("ready") for cs in statuses)
        flag = "True" if ready else "False"
        conditions = [
            {"type": t, "status": flag, "lastTransitionTime": _now()}
            for t in ("Ready", "ContainersReady")
        ]
        status: Obj = {"conditions": conditions, "containerStatuses": statuses}
        if done:
            failed = any((c.last_exit or {}).get("exitCode") for c in mapped)
            status["phase"] = "Failed" if failed else "Succeeded"
        meta = pod["metadata"]
        self.api.patch_namespaced_pod_status(meta["name"], meta["namespace"], {"status": status})
        state.published = digest
        log.info(
            "pod %s/%s ready=%s phase=%s",
            meta["namespace"],
            meta["name"],
            ready,
            status.get("phase", "Running"),
        )

    def _forget(self, state: PodState, *, graceful: bool = True) -> None:
        """Stop the pod's processes as kubelet does: each container's ``preStop`` sleep first
        (while the pod is already out of its Services' endpoints), then SIGTERM, then SIGKILL
        after `GRACE_SECONDS`. `graceful=False` (the runner itself stopping) skips the sleep."""
        now = time.monotonic()
        for c in state.containers.values():
            if c.proc is not None and c.proc.poll() is None:
                term_at = now + (c.pre_stop_sleep if graceful else 0.0)
                self.dying.append(Dying(c.proc, state.directory, state.ip, term_at))
            elif c.proc is not None:
                (self.pid_dir / str(c.proc.pid)).unlink(missing_ok=True)
        if not any(d.directory == state.directory for d in self.dying):
            shutil.rmtree(state.directory, ignore_errors=True)

    def _reap(self, wait: bool) -> None:
        """Signal stopping processes when their time comes and collect them; a pod's folder
        goes once its last process has ended."""
        while self.dying:
            now, still = time.monotonic(), []
            for d in self.dying:
                if d.proc.poll() is not None:
                    (self.pid_dir / str(d.proc.pid)).unlink(missing_ok=True)
                    after = f"{now - d.termed_at:.1f}s after SIGTERM" if d.termed_at else "early"
                    log.info("pid %d of %s ended (%s)", d.proc.pid, d.directory.name, after)
                    continue
                if d.termed_at is None and now >= d.term_at:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(d.proc.pid, signal.SIGTERM)
                    d.termed_at = now
                elif d.termed_at is not None and now > d.termed_at + GRACE_SECONDS:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(d.proc.pid, signal.SIGKILL)
                still.append(d)
            for gone in {d.directory for d in self.dying} - {d.directory for d in still}:
                shutil.rmtree(gone, ignore_errors=True)
            self.dying = still
            if not wait:
                return
            time.sleep(0.05)


def main(state_dir: Path) -> None:
    """Entry point of the runner daemon (`python -m localcluster runner`)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    info = json.loads((state_dir / "cluster.json").read_text())
    config = client.Configuration()
    config.host = info["api_url"]
    config.ssl_ca_cert = str(Pki(state_dir / "pki").ca_cert)
    config.api_key = {"authorization": "Bearer " + Pki(state_dir / "pki").token("admin")}
    api = client.CoreV1Api(client.ApiClient(config))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runner = PodRunner(state_dir, api, info["api_url"])
    pki = runner.pki
    metrics_api.serve(
        runner,
        info["ports"]["metrics"],
        cert=pki.metrics_cert,
        key=pki.metrics_key,
        client_ca=pki.front_proxy_ca,
        allowed_client=FRONT_PROXY_CLIENT,
        stop=stop,
    )
    runner.run(stop)
