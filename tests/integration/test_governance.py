"""Governance end to end: the real operator process with its admission webhook, real users.

Users act through their own static-token kubeconfigs (see ``localcluster.pki``): alice is an
ml-lead, bob compliance, carol a business owner, dave an ml-engineer (a peer), mallory has no
rights at all. Chapters of one tier-1 model run in order (each needs the one before); the
race and the slot story use models of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from localcluster import LocalCluster
from modelwarden.demo.harness import OperatorProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "manifests" / "demo"
NS = "governance"
GROUP, VERSION = "modelwarden.io", "v1alpha1"
PLUGIN = str(Path(sys.executable).parent / "kubectl-warden")
USERS = ("alice", "bob", "carol", "dave")
DIGEST = "sha256:" + "ab" * 32
SUBJECTS = "".join(
    f"  - {{kind: User, name: {u}, apiGroup: rbac.authorization.k8s.io}}\n" for u in USERS
)
RBAC = f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: model-governor, namespace: {NS}}}
rules:
  - apiGroups: [modelwarden.io]
    resources: [modelversions, modeldeployments, driftpolicies]
    verbs: [get, list, watch, create, patch, update]
  - apiGroups: [""]
    resources: [events]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: model-governors, namespace: {NS}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: model-governor}}
subjects:
{SUBJECTS}"""


def model_version(name: str, model: str, tier: int, **metrics: float) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ModelVersion",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "model": model,
            "version": f"1.0.{abs(hash(name)) % 1000}",
            "artifact": {"uri": f"s3://models/{name}.tar.gz", "digest": DIGEST},
            "runtime": {"image": "modelwarden/sample-model:0.1.0"},
            "lineage": {
                "dataSnapshot": DIGEST,
                "codeCommit": "9f8d111",
                "configHash": DIGEST,
                "environment": "python:3.11-slim",
                "seed": 7,
            },
            "riskTier": tier,
            "owner": "risk-team",
            "metrics": {"evaluationSet": {"name": "holdout", "size": 5000}, "values": metrics},
        },
    }


class World:
    """Given/When/Then vocabulary: act as a user, read a version, wait for the operator."""

    def __init__(self, cluster: LocalCluster, operator: OperatorProcess) -> None:
        self.cluster, self.operator = cluster, operator
        self.objects = client.CustomObjectsApi(cluster.api_client())
        self.core = client.CoreV1Api(cluster.api_client())

    def kubectl(self, *args: str, user: str = "admin", input: str | None = None) -> Any:
        return self.cluster.kubectl_run(*args, user=user, input=input, check=False)

    def create(self, body: dict[str, Any], user: str = "admin") -> None:
        done = self.kubectl("create", "-f", "-", user=user, input=yaml.safe_dump(body))
        assert done.returncode == 0, done.stderr

    def warden(self, *args: str, user: str = "admin") -> subprocess.CompletedProcess[str]:
        kubeconfig = (
            self.cluster.kubeconfig if user == "admin" else self.cluster.kubeconfig_for(user)
        )
        env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        return subprocess.run(
            [PLUGIN, *args, "-n", NS],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def mv(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.objects.get_namespaced_custom_object(
            GROUP, VERSION, NS, "modelversions", name
        )
        return found

    def stage(self, name: str) -> str:
        return str((self.mv(name).get("status") or {}).get("stage", ""))

    def condition(self, name: str, type_: str) -> dict[str, Any]:
        conditions = (self.mv(name).get("status") or {}).get("conditions", [])
        return next((c for c in conditions if c["type"] == type_), {})

    def events(self, name: str) -> list[str]:
        found = self.core.list_namespaced_event(NS, field_selector=f"involvedObject.name={name}")
        return [e.reason for e in found.items]

    def eventually(self, what: str, check: Any, timeout: float = 60) -> Any:
        return self.operator.wait(what, check, timeout, interval=0.3)

    def handled(self, name: str) -> bool:
        body = self.mv(name)
        request = body["spec"].get("stageRequest") or {}
        key = f"{request.get('stage')}@{request.get('at', '')}@{request.get('by', '')}"
        return (body.get("status") or {}).get("handledStageRequest") == key


@pytest.fixture(scope="module")
def world(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    port = free_port()
    operator = OperatorProcess(
        cluster.kubeconfig, log, extra_args=("--webhook-port", str(port))
    ).start()
    w = World(cluster, operator)
    assert w.kubectl("create", "namespace", NS).returncode == 0
    assert w.kubectl("apply", "-f", "-", input=RBAC).returncode == 0
    for kind in ("mutatingwebhookconfiguration", "validatingwebhookconfiguration"):
        w.eventually(
            f"{kind} registered",
            lambda kind=kind: w.kubectl("get", kind, "modelwarden.io").returncode == 0,
        )
    try:
        yield w
    finally:
        operator.stop()
        # The configurations outlive the operator and fail closed: remove them, or every
        # later ModelVersion write in this cluster would be refused.
        for kind in ("mutatingwebhookconfiguration", "validatingwebhookconfiguration"):
            w.kubectl("delete", kind, "modelwarden.io", "--ignore-not-found")
        print(f"operator log: {log}")


TIER1 = {"auc": 0.91, "ece": 0.02, "fairnessGap": 0.01, "p95LatencyMs": 120.0}


def test_a_registered_version_with_passing_evidence_is_validated(world: World) -> None:
    # Given a tier-1 version with complete lineage and metrics inside the tier's bounds
    world.create(model_version("credit-1", "credit", 1, **TIER1), user="alice")
    # Then the operator validates it on its own and says why in status
    world.eventually("Validated", lambda: world.stage("credit-1") == "Validated")
    assert world.condition("credit-1", "LineageComplete")["status"] == "True"
    gates = {g["name"]: g for g in world.mv("credit-1")["status"]["gates"]}
    assert gates["OfflineMetric/ece"] == {
        "name": "OfflineMetric/ece",
        "passed": True,
        "value": "0.02",
        "threshold": "<= 0.05",
        "message": "ece 0.02 within bounds",
    }
    assert gates["Approvals"]["passed"] is False


def test_a_tier1_version_cannot_reach_production_without_its_approvals(world: World) -> None:
    # Given it is moved to Staging by alice
    assert world.warden("stage", "mv/credit-1", "Staging", user="alice").returncode == 0
    world.eventually("Staging", lambda: world.stage("credit-1") == "Staging")
    # When alice asks for Production with no approvals recorded
    done = world.warden("stage", "mv/credit-1", "Production", "--reason", "ship it", user="alice")
    assert done.returncode == 0, done.stderr
    world.eventually("request handled", lambda: world.handled("credit-1"))
    # Then it stays in Staging, and the refusal names the missing roles
    assert world.stage("credit-1") == "Staging"
    refusal = world.condition("credit-1", "StageChange")
    assert refusal["status"] == "False"
    assert "Approvals (missing ml-lead, compliance, business-owner)" in refusal["message"]
    world.eventually("refusal event", lambda: "StageChangeRefused" in world.events("credit-1"))


def test_a_forged_approver_is_overwritten_with_the_authenticated_user(world: World) -> None:
    # When alice submits an approval that claims to be bob's
    forged = {"role": "ml-lead", "decision": "approve", "by": "bob", "at": "1999-01-01T00:00:00Z"}
    patch = json.dumps({"spec": {"approvals": [forged]}})
    done = world.kubectl(
        "patch", "-n", NS, "mv", "credit-1", "--type", "merge", "-p", patch, user="alice"
    )
    assert done.returncode == 0, done.stderr
    # Then the recorded approval names alice, her groups and the server's time
    recorded = world.mv("credit-1")["spec"]["approvals"][0]
    assert recorded["by"] == "alice"
    assert "modelwarden:ml-leads" in recorded["groups"]
    assert recorded["at"] != forged["at"]


def test_an_approval_in_a_role_the_user_may_not_hold_is_refused(world: World) -> None:
    # When dave, a peer, approves as compliance
    done = world.warden("approve", "mv/credit-1", "--role", "compliance", user="dave")
    # Then admission refuses it and nothing is recorded
    assert done.returncode != 0
    assert "user 'dave' may not approve as 'compliance'" in done.stderr
    assert len(world.mv("credit-1")["spec"]["approvals"]) == 1


def test_recorded_approvals_cannot_be_edited_or_removed(world: World) -> None:
    recorded = world.mv("credit-1")["spec"]["approvals"]
    edited = [{**recorded[0], "comment": "rewritten later"}]
    # When bob rewrites alice's approval, or empties the list
    for approvals in (edited, []):
        patch = json.dumps({"spec": {"approvals": approvals}})
        done = world.kubectl(
            "patch", "-n", NS, "mv", "credit-1", "--type", "merge", "-p", patch, user="bob"
        )
        # Then admission refuses both
        assert done.returncode != 0
        assert "append-only" in done.stderr
    assert world.mv("credit-1")["spec"]["approvals"] == recorded


def test_a_manifest_kept_in_git_can_be_applied_again_with_one_more_approval(
    world: World,
) -> None:
    # Given a ModelVersion manifest holding alice's approval, applied by alice (stamped)
    manifest = model_version("gitops-1", "gitops", 3, auc=0.9)
    manifest["spec"]["approvals"] = [{"role": "ml-lead", "decision": "approve", "comment": "lgtm"}]
    done = world.kubectl("apply", "-f", "-", user="alice", input=yaml.safe_dump(manifest))
    assert done.returncode == 0, done.stderr
    first = world.mv("gitops-1")["spec"]["approvals"][0]
    assert first["by"] == "alice"
    # When the manifest in git gains bob's approval and is applied again (no stamps in it)
    manifest["spec"]["approvals"].append({"role": "compliance", "decision": "approve"})
    done = world.kubectl("apply", "-f", "-", user="bob", input=yaml.safe_dump(manifest))
    # Then it is accepted: alice's approval keeps its stamps, bob's is stamped as his
    assert done.returncode == 0, done.stderr
    approvals = world.mv("gitops-1")["spec"]["approvals"]
    assert approvals[0] == first
    assert (approvals[1]["by"], approvals[1]["role"]) == ("bob", "compliance")


def test_a_user_without_rights_gets_a_clear_error(world: World) -> None:
    done = world.warden("approve", "mv/credit-1", "--role", "peer", user="mallory")
    assert done.returncode != 0
    assert "user mallory cannot get modelversions in governance" in done.stderr
    missing = world.warden("approve", "mv/nope", "--role", "peer", user="alice")
    assert "ModelVersion 'nope' not found in namespace 'governance'" in missing.stderr


def test_with_all_approvals_the_version_reaches_production(world: World) -> None:
    # When compliance and the business owner approve, each as themselves
    for user, role in (("bob", "compliance"), ("carol", "business-owner")):
        done = world.warden("approve", "mv/credit-1", "--role", role, "--comment", "ok", user=user)
        assert done.returncode == 0, done.stderr
    world.eventually(
        "Approved", lambda: world.condition("credit-1", "Approved").get("status") == "True"
    )
    # And alice asks for Production again
    assert world.warden("stage", "mv/credit-1", "Production", user="alice").returncode == 0
    # Then it is in Production, and history and Events tell who did what
    world.eventually("Production", lambda: world.stage("credit-1") == "Production")
    history = [(h["from"], h["to"], h["actor"]) for h in world.mv("credit-1")["status"]["history"]]
    assert history == [
        ("Registered", "Validated", "modelwarden"),
        ("Validated", "Staging", "alice"),
        ("Staging", "Production", "alice"),
    ]
    world.eventually("events", lambda: world.events("credit-1").count("Approval") == 3)
    assert world.events("credit-1").count("StageChanged") == 3
    story = world.warden("audit", "model/credit", user="bob")
    assert story.returncode == 0, story.stderr
    for expected in ("approve", "bob", "carol", "Staging → Production", "StageChangeRefused"):
        assert expected in story.stdout
    card = world.warden("model-card", "mv/credit-1", user="carol")
    assert "| compliance | approve | bob |" in card.stdout
    assert "| Production |" in card.stdout or "Production" in card.stdout


def test_a_second_production_request_is_refused_at_admission(world: World) -> None:
    # Given another tier-4 version of the model in Staging
    world.create(model_version("credit-2", "credit", 4, auc=0.95))
    world.eventually("Validated", lambda: world.stage("credit-2") == "Validated")
    assert world.warden("stage", "mv/credit-2", "Staging").returncode == 0
    world.eventually("Staging", lambda: world.stage("credit-2") == "Staging")
    # When someone asks for Production while credit-1 is there
    done = world.warden("stage", "mv/credit-2", "Production")
    # Then admission refuses it with the reason
    assert done.returncode != 0
    assert "credit-1 of model credit is already in Production; archive it first" in done.stderr


def _race(world: World, round_: int) -> list[str]:
    model = f"race{round_}"
    names = [f"{model}-a", f"{model}-b"]
    for name in names:
        world.create(model_version(name, model, 4, auc=0.9))
    for name in names:
        world.eventually("Validated", lambda name=name: world.stage(name) == "Validated")
        assert world.warden("stage", f"mv/{name}", "Staging").returncode == 0
        world.eventually("Staging", lambda name=name: world.stage(name) == "Staging")
    start = threading.Barrier(len(names))
    accepted: dict[str, bool] = {}

    def request(name: str) -> None:
        start.wait()
        accepted[name] = world.warden("stage", f"mv/{name}", "Production").returncode == 0

    threads = [threading.Thread(target=request, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name in [n for n in names if accepted[n]]:
        world.eventually("handled", lambda name=name: world.handled(name))
    return [n for n in names if world.stage(n) == "Production"]


@pytest.mark.parametrize("round_", range(10))
def test_concurrent_promotions_leave_exactly_one_production_version(
    world: World, round_: int
) -> None:
    winners = _race(world, round_)
    assert len(winners) == 1, winners


SLOT = "fraud"


def slot_status(world: World) -> dict[str, Any]:
    body = world.objects.get_namespaced_custom_object(GROUP, VERSION, NS, "modeldeployments", SLOT)
    return dict(body.get("status") or {})


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_version_promoted_by_its_slot_enters_production(world: World) -> None:
    # Given the demo's v1 and v2 (with a latency reported), staged and peer-approved
    for version in ("v1", "v2"):
        body = yaml.safe_load((DEMO / f"modelversion-{version}.yaml").read_text())
        body["metadata"]["namespace"] = NS
        body["spec"]["metrics"]["values"]["p95LatencyMs"] = 40.0
        world.create(body, user="alice")
        name = f"fraud-{version}"
        world.eventually("Validated", lambda name=name: world.stage(name) == "Validated")
        ok(world.warden("stage", f"mv/{name}", "Staging", user="alice"))
        ok(world.warden("approve", f"mv/{name}", "--role", "peer", user="dave"))
    # When the slot serves v1
    slot = yaml.safe_load((DEMO / "modeldeployment.yaml").read_text())
    slot["metadata"]["namespace"] = NS
    slot["spec"]["replicas"] = 2
    world.create(slot)
    world.eventually("Healthy", lambda: slot_status(world).get("phase") == "Healthy", 120)
    # Then v1 is in Production, and the tree shows it
    world.eventually("v1 Production", lambda: world.stage("fraud-v1") == "Production")
    tree = ok(world.warden("status", SLOT, user="bob"))
    assert "stable   fraud-v1 (fraud 1.0.0, Production)  weight 100%" in tree


def test_promote_full_moves_production_to_the_new_version(world: World) -> None:
    env = {**os.environ, "KUBECONFIG": str(world.cluster.kubeconfig_for("bob"))}
    watch = subprocess.Popen(
        [PLUGIN, "status", SLOT, "-n", NS, "--watch", "--interval", "0.5"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    shown: list[str] = []
    reader = threading.Thread(target=lambda: shown.extend(iter(watch.stdout.readline, "")))  # type: ignore[union-attr]
    reader.start()
    try:
        # When alice rolls out v2 and promotes it fully
        patch = json.dumps({"spec": {"version": "fraud-v2"}})
        done = world.kubectl("patch", "-n", NS, "mdep", SLOT, "--type", "merge", "-p", patch)
        assert done.returncode == 0, done.stderr
        world.eventually("canary", lambda: slot_status(world).get("canaryVersion") == "fraud-v2")
        ok(world.warden("promote", SLOT, "--full", user="alice"))
        world.eventually("v2 stable", lambda: slot_status(world).get("stableVersion") == "fraud-v2")
        # Then v1 is archived and v2 takes its place in Production
        world.eventually("v2 Production", lambda: world.stage("fraud-v2") == "Production")
        assert world.stage("fraud-v1") == "Archived"
        served = world.mv("fraud-v1")["status"]["servedBy"]
        assert served == [{"deployment": SLOT, "role": "standby"}]
        # And the watching tree printed each state it went through
        final = "stable   fraud-v2 (fraud 2.0.0, Production)"
        world.eventually("watch shows v2", lambda: any(final in line for line in shown), 10)
        assert any("canary   fraud-v2" in line for line in shown)
    finally:
        watch.terminate()
        watch.wait(timeout=10)
        reader.join()


def test_halt_and_resume(world: World) -> None:
    ok(world.warden("halt", SLOT, "--reason", "drill", user="alice"))
    world.eventually("Halted", lambda: slot_status(world).get("phase") == "Halted")
    assert slot_status(world)["halted"]["reason"] == "drill"
    ok(world.warden("resume", SLOT, user="alice"))
    world.eventually("resumed", lambda: slot_status(world).get("phase") != "Halted")


def test_rollback_retry_promote_abort(world: World) -> None:
    # When alice rolls back, v1 serves again at once and v2 leaves Production
    ok(world.warden("rollback", SLOT, user="alice"))
    world.eventually("RolledBack", lambda: slot_status(world).get("phase") == "RolledBack")
    assert slot_status(world)["stableVersion"] == "fraud-v1"
    world.eventually("v2 archived", lambda: world.stage("fraud-v2") == "Archived")
    # When she retries v2, it is a canary again; promote advances it one step
    ok(world.warden("retry", SLOT, user="alice"))
    world.eventually("retried", lambda: slot_status(world).get("phase") == "Progressing")
    step = slot_status(world)["currentStep"]
    ok(world.warden("promote", SLOT, user="alice"))
    world.eventually("advanced", lambda: slot_status(world)["currentStep"] > step)
    # And abort stops it
    ok(world.warden("abort", SLOT, user="alice"))
    world.eventually("Aborted", lambda: slot_status(world).get("phase") == "Aborted")
    # And rollback --to a version that is not the first standby rolls the spec there
    ok(world.warden("rollback", SLOT, "--to", "fraud-v1", user="alice"))
    assert (
        world.objects.get_namespaced_custom_object(GROUP, VERSION, NS, "modeldeployments", SLOT)[
            "spec"
        ]["version"]
        == "fraud-v1"
    )
    world.eventually("no canary", lambda: not slot_status(world).get("canaryVersion"))


def test_slot_commands_need_rights_and_an_existing_slot(world: World) -> None:
    denied = world.warden("halt", SLOT, user="mallory")
    assert "user mallory cannot get modeldeployments in governance" in denied.stderr
    missing = world.warden("promote", "nope", user="alice")
    assert "ModelDeployment 'nope' not found in namespace 'governance'" in missing.stderr


def test_the_audit_tells_the_story_of_the_slot(world: World) -> None:
    story = ok(world.warden("audit", SLOT, user="carol"))
    lines = story.splitlines()
    for expected in (
        "mv/fraud-v1",
        "Staging → Production",
        "Production → Archived",
        "RolledBack",
        "Halted",
        "approve",
    ):
        assert any(expected in line for line in lines), (expected, story)
    assert "FailedToUpdateEndpoint" not in story  # the Service shares the slot's name
    whens = [line.split()[0] for line in lines[1:]]
    assert whens == sorted(whens)
