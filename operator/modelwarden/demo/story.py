"""The demo's stages, each a check that passes or names what went wrong."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from localcluster.cluster import LocalCluster
from modelwarden.demo.harness import (
    OperatorExited,
    OperatorProcess,
    TrafficLoop,
    get_slot,
    patch_slot,
)

NAMESPACE, SLOT = "demo", "fraud"
Obj = dict[str, Any]


class StageFailed(RuntimeError):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


@dataclass
class StageResult:
    name: str
    seconds: float
    detail: str


class LiveView:
    """Prints one line whenever what the slot shows changes."""

    def __init__(self, api: client.ApiClient, traffic: TrafficLoop) -> None:
        self.api, self.traffic, self.last = api, traffic, ""
        self.t0 = time.monotonic()

    def __call__(self) -> None:
        status = get_slot(self.api, NAMESPACE, SLOT).get("status") or {}
        a = status.get("analysis") or {}
        verdict = a.get("verdict") or "-"
        err = a.get("errorRate")
        line = (
            f"{status.get('phase', '?'):<11} stable={status.get('stableVersion', '-'):<9}"
            f" canary={status.get('canaryVersion') or '-':<9}"
            f" weight={status.get('canaryWeight', 0):>3}%"
            f" step={status.get('currentStep', 0)}  analysis={verdict}"
            f" ({a.get('samples', 0)} req, err {'-' if err is None else f'{err:.1%}'})"
            f"  {status.get('message', '')}"
        )
        if line != self.last:
            print(f"[{time.monotonic() - self.t0:6.1f}s] {line}", flush=True)
            self.last = line


class Story:
    def __init__(self, cluster: LocalCluster, manifests: Path, operator_log: Path) -> None:
        self.cluster = cluster
        self.manifests = manifests
        self.api = cluster.api_client()
        self.operator = OperatorProcess(cluster.kubeconfig, operator_log)
        self.traffic = TrafficLoop(self.api, NAMESPACE, SLOT, "fraud")
        self.view = LiveView(self.api, self.traffic)
        self.results: list[StageResult] = []

    # -- plumbing ------------------------------------------------------------------------
    def kubectl(self, *args: str) -> str:
        done = self.cluster.kubectl_run(*args)
        if done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def status(self) -> Obj:
        return get_slot(self.api, NAMESPACE, SLOT).get("status") or {}

    def wait(self, stage: str, what: str, check: Callable[[], Any], timeout: float) -> Any:
        try:
            return self.operator.wait(
                what, check, timeout, on_poll=self.view, context=lambda: f"status: {self.status()}"
            )
        except (TimeoutError, OperatorExited) as exc:
            raise StageFailed(stage, str(exc)) from exc

    def stage(self, name: str, body: Callable[[], str]) -> None:
        print(f"\n== {name}", flush=True)
        started = time.monotonic()
        detail = body()
        self.results.append(StageResult(name, time.monotonic() - started, detail))
        print(f"   ✔ {detail}", flush=True)

    # -- the story -----------------------------------------------------------------------
    def run(self) -> None:
        self.kubectl("create", "namespace", NAMESPACE)
        for name in ("modelversion-v1", "modelversion-v2", "modelversion-v3"):
            self.kubectl("apply", "-n", NAMESPACE, "-f", str(self.manifests / f"{name}.yaml"))
        self.operator.start()
        self.stage("v1 serves steady traffic", self.serve_v1)
        self.stage("good v2 canary is promoted to 100 %", self.promote_v2)
        self.stage("broken v3 is rolled back automatically", self.roll_back_v3)
        self.stage("emergency halt stops all inference", self.halt)
        self.stage("resume restores service", self.resume)

    def serve_v1(self) -> str:
        self.kubectl("apply", "-n", NAMESPACE, "-f", str(self.manifests / "modeldeployment.yaml"))
        stage = "v1 serves steady traffic"
        self.wait(stage, "v1 Healthy", lambda: self.status().get("phase") == "Healthy", 180)
        self.traffic.start()
        self.wait(stage, "successful answers", lambda: self.traffic.tally.codes["200"] >= 50, 60)
        return f"Healthy on fraud-v1, {self.traffic.reset().codes['200']} requests answered"

    def promote_v2(self) -> str:
        stage = "good v2 canary is promoted to 100 %"
        patch_slot(self.api, NAMESPACE, SLOT, {"spec": {"version": "fraud-v2"}})

        def promoted() -> bool:
            s = self.status()
            return s.get("stableVersion") == "fraud-v2" and s.get("phase") == "Healthy"

        self.wait(stage, "fraud-v2 promoted", promoted, 300)
        tally = self.traffic.reset()
        errors = sum(n for code, n in tally.codes.items() if code != "200")
        return f"fraud-v2 stable, standby {self.status().get('standbyVersions')}; {errors} errors"

    def roll_back_v3(self) -> str:
        stage = "broken v3 is rolled back automatically"
        patch_slot(self.api, NAMESPACE, SLOT, {"spec": {"version": "fraud-v3"}})
        self.wait(
            stage,
            "fraud-v3 aborted",
            lambda: self.status().get("phase") in ("Aborted", "RolledBack"),
            300,
        )
        s = self.status()
        if s.get("stableVersion") != "fraud-v2" or s.get("canaryWeight") != 0:
            raise StageFailed(stage, f"traffic not back on fraud-v2: {s}")
        self.traffic.reset()
        time.sleep(5)
        after = self.traffic.reset()
        if after.codes["200"] == 0 or after.codes["500"] > after.codes["200"] * 0.02:
            raise StageFailed(stage, f"errors continue after the rollback: {dict(after.codes)}")
        return f"{s.get('message')}; afterwards {dict(after.codes)}"

    def halt(self) -> str:
        stage = "emergency halt stops all inference"
        started = time.monotonic()
        patch_slot(self.api, NAMESPACE, SLOT, {"spec": {"halt": True, "haltReason": "demo"}})
        self.traffic.reset()

        def refused() -> bool:
            tally = self.traffic.reset()
            return tally.model_answers == 0 and sum(tally.codes.values()) > 0

        self.wait(
            stage,
            "every request refused",
            refused,
            30,
        )
        took = self.traffic.first_refusal_after(started) or 0.0
        time.sleep(3)
        during = self.traffic.reset()
        if during.model_answers:
            raise StageFailed(stage, f"the model answered while halted: {dict(during.codes)}")
        phase = self.status().get("phase")
        if phase != "Halted":
            raise StageFailed(stage, f"phase is {phase}, not Halted")
        return f"first refusal {took:.2f}s after the patch; while halted: {dict(during.codes)}"

    def resume(self) -> str:
        stage = "resume restores service"
        patch_slot(self.api, NAMESPACE, SLOT, {"spec": {"halt": False}})
        self.traffic.reset()
        self.wait(stage, "answers again", lambda: self.traffic.tally.codes["200"] >= 20, 60)
        return f"phase {self.status().get('phase')}, answers flowing again"

    # -- wrap-up -------------------------------------------------------------------------
    def summary(self) -> str:
        lines = ["", "Summary", "-------"]
        lines += [f"  ✔ {r.name:<42} {r.seconds:6.1f}s  {r.detail}" for r in self.results]
        return "\n".join(lines)

    def close(self) -> None:
        self.traffic.stop()
        self.operator.stop()
