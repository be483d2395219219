"""Pieces the demo and the end-to-end tests share: the operator as a real process, steady
traffic through the slot's Service, and waiting on a resource's status."""

from __future__ import annotations

import collections
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from kubernetes import client

from localcluster.traffic import ServiceClient
from modelwarden.examples.fraud import generate_rows, v2_request

Obj = dict[str, Any]
GROUP, VERSION = "modelwarden.io", "v1alpha1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class OperatorExited(RuntimeError):
    """The operator process ended while something waited on it."""


@dataclass
class OperatorProcess:
    """``modelwarden run`` as a child process, logging to a file."""

    kubeconfig: Path
    log_path: Path
    evaluator_window: str = "5s"
    metrics_port: int = field(default_factory=free_port)
    alerts_port: int = field(default_factory=free_port)
    extra_args: tuple[str, ...] = ()
    """More ``modelwarden run`` flags, e.g. ``("--webhook-port", "9443")``."""
    alerts_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    """The bearer token the alert webhook requires (``--alerts-token-file``)."""
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def alerts_token_file(self) -> Path:
        return self.log_path.with_name(self.log_path.stem + "-alerts-token")

    def start(self) -> OperatorProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.alerts_token_file.write_text(self.alerts_token)
        self.alerts_token_file.chmod(0o600)
        argv = [
            sys.executable, "-m", "modelwarden.cli.main", "run",
            "--bind-host", "127.0.0.1",
            "--metrics-port", str(self.metrics_port),
            "--alerts-port", str(self.alerts_port),
            "--alerts-token-file", str(self.alerts_token_file),
            "--evaluator-window", self.evaluator_window,
            *self.extra_args,
        ]  # fmt: skip
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        return self

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait(
        self,
        what: str,
        check: Callable[[], Any],
        timeout: float,
        *,
        interval: float = 0.5,
        on_poll: Callable[[], None] | None = None,
        context: Callable[[], str] = str,
    ) -> Any:
        """:func:`wait_for`, failing at once if the operator died, and on a timeout saying
        what the cluster showed (``context()``) and how the operator's log ends."""

        def guarded() -> Any:
            if not self.alive():
                raise OperatorExited(f"the operator exited:\n{self.log_tail()}")
            return check()

        try:
            return wait_for(what, guarded, timeout, on_poll=on_poll, interval=interval)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{context()}\noperator log:\n{self.log_tail()}") from exc

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


@dataclass
class AlertmanagerProcess:
    """A real Alertmanager (Debian's ``prometheus-alertmanager``) that routes every alert to
    the operator's webhook at once, so tests exercise the genuine notification format."""

    webhook_url: str
    workdir: Path
    bearer_token_file: Path | None = None
    """Sent as ``Authorization: Bearer …`` (the operator's ``--alerts-token-file``)."""
    port: int = field(default_factory=free_port)
    binary: str = "prometheus-alertmanager"
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AlertmanagerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(
            json.dumps(
                {
                    "route": {
                        "receiver": "modelwarden",
                        "group_by": ["alertname", "modelwarden_io_deployment"],
                        "group_wait": "0s",
                        "group_interval": "1s",
                        "repeat_interval": "1h",
                    },
                    "receivers": [{"name": "modelwarden", "webhook_configs": [self._webhook()]}],
                }
            )
        )
        argv = [
            self.binary,
            f"--config.file={config}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
        ]
        with (self.workdir / "alertmanager.log").open("ab") as log:
            self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        wait_for("Alertmanager ready", self._ready, 30)
        return self

    def _webhook(self) -> Obj:
        webhook: Obj = {"url": self.webhook_url, "send_resolved": False}
        if self.bearer_token_file is not None:
            webhook["http_config"] = {
                "authorization": {"type": "Bearer", "credentials_file": str(self.bearer_token_file)}
            }
        return webhook

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def fire(self, alerts: list[Obj]) -> None:
        """POST alerts to Alertmanager's v2 API, as Prometheus does."""
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=15)
            self._proc = None


@dataclass
class Tally:
    """Answers seen by the traffic loop, by status code and by answering pod."""

    codes: collections.Counter[str] = field(default_factory=collections.Counter)
    pods: collections.Counter[str] = field(default_factory=collections.Counter)
    model_answers: int = 0
    """Answers that reached a model server (anything but a halted sidecar's 503)."""


class TrafficLoop:
    """Sends fraud-model requests to a Service from a background thread until stopped."""

    def __init__(
        self, api: client.ApiClient, namespace: str, service: str, model: str, rate: float = 40.0
    ) -> None:
        self.client = ServiceClient(client.CoreV1Api(api), namespace, service, refresh=0.5)
        self.path = f"/v2/models/{model}/infer"
        self.interval = 1.0 / rate
        self.lock = threading.Lock()
        self.tally = Tally()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._seed = 0
        self.shift = 0.0
        """Feature shift of the generated rows (``generate_rows(shift=)``), for drift tests."""
        self.refused_at: collections.deque[float] = collections.deque(maxlen=10_000)
        """Monotonic times of answers refused by a halted sidecar (to time a halt)."""

    def start(self) -> TrafficLoop:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def first_refusal_after(self, moment: float) -> float | None:
        """Seconds from ``moment`` (monotonic) to the first halted answer after it."""
        with self.lock:
            later = [t for t in self.refused_at if t >= moment]
        return min(later) - moment if later else None

    def reset(self) -> Tally:
        """The tally so far, starting a new one."""
        with self.lock:
            tally, self.tally = self.tally, Tally()
        return tally

    def _one(self) -> tuple[str, str, bool]:
        self._seed += 1
        rows = generate_rows(1, shift=self.shift, seed=self._seed)
        body = json.dumps(v2_request(rows)).encode()
        try:
            response = self.client.post_json(self.path, body, timeout=5.0)
        except ConnectionError:
            return "no-backend", "", False
        except OSError:
            return "refused", "", False
        refused_by_halt = response.status == 503 and b"halt" in response.body
        return str(response.status), response.pod, not refused_by_halt

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            code, pod, from_model = self._one()
            with self.lock:
                if not from_model and code == "503":
                    self.refused_at.append(time.monotonic())
                self.tally.codes[code] += 1
                if pod:
                    self.tally.pods[pod] += 1
                self.tally.model_answers += from_model
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))


def get_slot(api: client.ApiClient, namespace: str, name: str) -> Obj:
    body = client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "modeldeployments", name
    )
    return cast(Obj, body)


def slot_status(api: client.ApiClient, namespace: str, name: str) -> Obj:
    return get_slot(api, namespace, name).get("status") or {}


def version_replicas(api: client.ApiClient, namespace: str, slot: str, version: str) -> int | None:
    """Desired replicas of the Deployment serving ``version`` in ``slot`` (None: none yet)."""
    selector = f"modelwarden.io/slot={slot},modelwarden.io/version={version}"
    found = client.AppsV1Api(api).list_namespaced_deployment(namespace, label_selector=selector)
    if not found.items:
        return None
    replicas: int | None = found.items[0].spec.replicas
    return replicas


def patch_slot(api: client.ApiClient, namespace: str, name: str, patch: Obj) -> None:
    client.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "modeldeployments", name, patch
    )


def wait_for(
    what: str,
    check: Callable[[], Any],
    timeout: float,
    *,
    on_poll: Callable[[], None] | None = None,
    interval: float = 0.25,
    explain: Callable[[], str] | None = None,
) -> Any:
    """Poll ``check`` until truthy; TimeoutError naming ``what`` otherwise, followed by
    ``explain()`` (what the waiter saw) when given."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if on_poll is not None:
            on_poll()
        if time.monotonic() > deadline:
            seen = f"\n{explain()}" if explain is not None else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{seen}")
        time.sleep(interval)
