"""The local control plane is a real Kubernetes: CRDs, validation, RBAC, scheduling, and
pods whose mapped image runs as a real process on its loopback pod IP."""

from __future__ import annotations

import http.client
import ipaddress
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from cases.invalid_manifests import INVALID_CASES, InvalidCase, sample_files
from localcluster import LocalCluster, ServiceClient, wait_until
from localcluster.build import K8S_VERSION, REPO_ROOT

CRD_FILES = sorted((REPO_ROOT / "crds").glob("*.yaml"))


def _crd(path: Path) -> dict[str, Any]:
    crd: dict[str, Any] = yaml.safe_load(path.read_text())
    return crd


NAMESPACES: set[str] = set()


@pytest.fixture(scope="module", autouse=True)
def _cleanup(cluster: LocalCluster) -> Iterator[None]:
    """Delete this module's namespaces afterwards so later modules (and an operator under
    test, which watches every namespace) do not see its objects."""
    yield
    if NAMESPACES:
        cluster.kubectl_run("delete", "namespace", *sorted(NAMESPACES), "--wait=false")


def _namespace(cluster: LocalCluster, name: str) -> str:
    cluster.kubectl_run("create", "namespace", name, check=False)
    NAMESPACES.add(name)
    return name


def _get(cluster: LocalCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl_run("get", *args, "-o", "json").stdout)


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _pods(cluster: LocalCluster, namespace: str, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _get(cluster, "pods", "-n", namespace, "-l", selector)["items"]
    return items


def test_nodes_are_ready_and_versions_match(cluster: LocalCluster) -> None:
    # Given the started cluster
    # When listing nodes and asking for versions
    nodes = _get(cluster, "nodes")["items"]
    version = json.loads(cluster.kubectl_run("version", "-o", "json").stdout)
    # Then every fake node is Ready and client and server are the pinned release
    assert nodes
    assert all(_ready({"status": n["status"]}) for n in nodes)
    assert version["serverVersion"]["gitVersion"] == K8S_VERSION
    assert version["clientVersion"]["gitVersion"] == K8S_VERSION


def _established(cluster: LocalCluster, name: str) -> bool:
    conditions = _get(cluster, "crd", name)["status"]["conditions"]
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


@pytest.mark.parametrize("path", CRD_FILES, ids=lambda p: p.stem)
def test_project_crd_is_established(cluster: LocalCluster, path: Path) -> None:
    # Given a CRD of the project, When it is applied (again)
    cluster.kubectl_run("apply", "--server-side", "-f", str(path))
    # Then the API server serves it
    assert _established(cluster, _crd(path)["metadata"]["name"])


def test_gateway_api_httproute_is_established(cluster: LocalCluster) -> None:
    assert _established(cluster, "httproutes.gateway.networking.k8s.io")


@pytest.fixture(scope="module")
def samples(cluster: LocalCluster) -> str:
    """Every sample manifest applied into a fresh namespace."""
    namespace = _namespace(cluster, "samples")
    for path in sample_files():
        cluster.kubectl_run("apply", "-n", namespace, "-f", str(path))
    return namespace


@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.stem)
def test_sample_applies(cluster: LocalCluster, samples: str, path: Path) -> None:
    # Given the samples applied by the fixture, When one is re-applied
    result = cluster.kubectl_run("apply", "-n", samples, "-f", str(path))
    # Then the API server accepts it unchanged
    assert "unchanged" in result.stdout or "configured" in result.stdout


def test_get_modelwarden_shows_printer_columns(cluster: LocalCluster, samples: str) -> None:
    # Given the applied samples, When listing the `modelwarden` category
    out = cluster.kubectl_run("get", "modelwarden", "-n", samples).stdout
    # Then every CRD's default printer columns head a table and every sample is listed
    for path in CRD_FILES:
        columns = _crd(path)["spec"]["versions"][0].get("additionalPrinterColumns", [])
        for column in columns:
            if not column.get("priority"):
                assert column["name"].upper() in out, (column["name"], out)
    for path in sample_files():
        assert yaml.safe_load(path.read_text())["metadata"]["name"] in out


def test_scale_subresource(cluster: LocalCluster, samples: str) -> None:
    # Given a sample ModelDeployment
    name = next(
        doc["metadata"]["name"]
        for doc in (yaml.safe_load(p.read_text()) for p in sample_files())
        if doc["kind"] == "ModelDeployment"
    )
    # When it is scaled through /scale
    cluster.kubectl_run("scale", f"mdep/{name}", "-n", samples, "--replicas=5")
    # Then spec.replicas changed and the scale subresource reports it
    assert _get(cluster, "mdep", name, "-n", samples)["spec"]["replicas"] == 5
    path = f"/apis/modelwarden.io/v1alpha1/namespaces/{samples}/modeldeployments/{name}/scale"
    scale = json.loads(cluster.kubectl_run("get", "--raw", path).stdout)
    assert scale["kind"] == "Scale"
    assert scale["spec"]["replicas"] == 5


@pytest.mark.parametrize("case", INVALID_CASES, ids=lambda c: c.id)
def test_invalid_manifest_is_rejected(cluster: LocalCluster, case: InvalidCase) -> None:
    # Given a manifest breaking exactly one rule
    namespace = _namespace(cluster, "invalid")
    # When it is sent to the API server
    result = cluster.kubectl_run(
        "create", "--dry-run=server", "-n", namespace, "-f", "-",
        input=yaml.safe_dump(case.manifest), check=False,
    )  # fmt: skip
    # Then it is rejected with a message naming the field
    assert result.returncode != 0, f"{case.id} was accepted"
    assert case.field in result.stderr, result.stderr


def test_rbac_mallory_cannot_create_a_model_version_but_admin_can(cluster: LocalCluster) -> None:
    # Given a sample ModelVersion and a user without any role
    namespace = _namespace(cluster, "rbac")
    path = next(p for p in sample_files() if "modelversion" in p.name)
    # When mallory creates it
    denied = cluster.kubectl_run(
        "create", "-n", namespace, "-f", str(path), user="mallory", check=False
    )
    # Then the API server forbids it, and admin may
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower()
    assert 'User "mallory"' in denied.stderr
    cluster.kubectl_run("create", "-n", namespace, "-f", str(path))


def _deployment(name: str, image: str, replicas: int, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image, **container}]},
            },
        },
    }


def test_unmapped_image_gets_running_pods_on_the_fake_node(cluster: LocalCluster) -> None:
    # Given a Deployment of an image the runner does not map
    namespace = _namespace(cluster, "fakes")
    manifest = _deployment("fake", "registry.example/anything:1", 3)
    # When it is applied
    cluster.kubectl_run("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest))
    # Then kwok runs its pods: Running, Ready, on a fake node, with loopback pod IPs
    wait_until(
        lambda: sum(_ready(p) for p in _pods(cluster, namespace, "app=fake")) == 3,
        "3 Ready fake pods",
    )
    for pod in _pods(cluster, namespace, "app=fake"):
        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["nodeName"].startswith("kwok-node-")
        assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(
            cluster.pod_cidr
        )


def _http_get(ip: str, port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(ip, port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_mapped_image_runs_as_a_process_answering_http(
    cluster: LocalCluster, core: client.CoreV1Api
) -> None:
    # Given a ConfigMap served by a mapped image whose args name the mount via $(VAR)
    namespace = _namespace(cluster, "echo")
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "site"},
        "data": {"hello.txt": "v1"},
    }
    deployment = _deployment(
        "echo",
        "localtest/http-echo:1",
        2,
        args=["--directory", "$(SITE)"],
        env=[{"name": "SITE", "value": "/srv/site"}],
        ports=[{"name": "http", "containerPort": 8080}],
        volumeMounts=[{"name": "site", "mountPath": "/srv/site"}],
    )
    deployment["spec"]["template"]["spec"]["volumes"] = [
        {"name": "site", "configMap": {"name": "site"}}
    ]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "echo"},
        "spec": {"selector": {"app": "echo"}, "ports": [{"port": 80, "targetPort": "http"}]},
    }
    # When they are applied and the pods become Ready
    docs = yaml.safe_dump_all([config_map, deployment, service])
    cluster.kubectl_run("apply", "-n", namespace, "-f", "-", input=docs)
    wait_until(
        lambda: sum(_ready(p) for p in _pods(cluster, namespace, "app=echo")) == 2,
        "2 Ready echo pods",
    )
    # Then each pod IP answers HTTP with the ConfigMap's file
    pods = _pods(cluster, namespace, "app=echo")
    for pod in pods:
        assert _http_get(pod["status"]["podIP"], 8080, "/hello.txt") == (200, b"v1")
    # And the Service resolves to both pods, round robin
    service_client = ServiceClient(core, namespace, "echo", refresh=0)
    answered = {service_client.get("/hello.txt").pod for _ in range(4)}
    assert answered == {p["metadata"]["name"] for p in pods}
    # When the ConfigMap changes, Then the served file follows
    cluster.kubectl_run(
        "patch", "configmap", "site", "-n", namespace, "-p", '{"data":{"hello.txt":"v2"}}'
    )
    wait_until(lambda: service_client.get("/hello.txt").body == b"v2", "the new file served")
    # When the Deployment goes away, Then the processes stop listening
    cluster.kubectl_run("delete", "deployment", "echo", "-n", namespace, "--wait=true")

    def refused() -> bool:
        try:
            _http_get(pods[0]["status"]["podIP"], 8080, "/hello.txt")
        except OSError:
            return True
        return False

    wait_until(refused, "the process to stop")


def test_crashing_process_is_reported_in_pod_status(cluster: LocalCluster) -> None:
    # Given a mapped image whose process prints and exits with 3
    namespace = _namespace(cluster, "crash")
    manifest = _deployment("crash", "localtest/crash:1", 1)
    # When it is deployed
    cluster.kubectl_run("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest))

    def terminated() -> dict[str, Any] | None:
        for pod in _pods(cluster, namespace, "app=crash"):
            for status in pod["status"].get("containerStatuses", []):
                last = status.get("lastState", {}).get("terminated")
                if last:
                    return {"pod": pod, "last": last}
        return None

    wait_until(terminated, "a terminated container status")
    found = terminated()
    assert found is not None
    # Then the pod is not Ready and the status carries the exit code and the output
    assert not _ready(found["pod"])
    assert found["last"]["exitCode"] == 3
    assert "boom" in found["last"]["message"]


def test_job_of_mapped_image_completes_when_its_process_exits(cluster: LocalCluster) -> None:
    # Given a Job whose mapped image prints and exits 0
    namespace = _namespace(cluster, "jobs")
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "localtest/succeed:1"}],
                }
            },
        },
    }
    # When it runs
    cluster.kubectl_run("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(job))
    # Then the Job succeeds because the process did, and its pod says so
    wait_until(
        lambda: _get(cluster, "job", "once", "-n", namespace).get("status", {}).get("succeeded"),
        "the Job to succeed",
    )
    (pod,) = _pods(cluster, namespace, "job-name=once")
    assert pod["status"]["phase"] == "Succeeded"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0
    assert "done" in terminated["message"]


def test_env_args_and_volumes_are_resolved_like_kubelet(cluster: LocalCluster) -> None:
    # Given a Secret, a ConfigMap and a pod whose mapped process prints what it was given
    namespace = _namespace(cluster, "env")
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds"},
            "stringData": {"password": "s3cret"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings"},
            "data": {"greeting": "hello"},
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "show"},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "main",
                        "image": "localtest/show:1",
                        "args": ["$(CREDS)/password"],
                        "envFrom": [{"prefix": "CM_", "configMapRef": {"name": "settings"}}],
                        "env": [
                            {"name": "CREDS", "value": "/etc/creds"},
                            {
                                "name": "MY_IP",
                                "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
                            },
                            {
                                "name": "MY_NAME",
                                "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                            },
                            {
                                "name": "PASSWORD",
                                "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}},
                            },
                        ],
                        "volumeMounts": [{"name": "creds", "mountPath": "/etc/creds"}],
                    }
                ],
                "volumes": [{"name": "creds", "secret": {"secretName": "creds"}}],
            },
        },
    ]
    # When the pod runs to completion
    cluster.kubectl_run("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(docs))
    wait_until(
        lambda: _get(cluster, "pod", "show", "-n", namespace)["status"]["phase"] == "Succeeded",
        "the pod to succeed",
    )
    # Then fieldRefs, secretKeyRef, envFrom, $(VAR) and the secret volume path all resolved
    pod = _get(cluster, "pod", "show", "-n", namespace)
    message = pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"]
    assert f"{pod['status']['podIP']} show s3cret hello s3cret" in message


def test_resource_metrics_api_reports_the_pod_processes(cluster: LocalCluster) -> None:
    # Given a pod whose mapped process spins on a CPU
    namespace = _namespace(cluster, "top")
    burner = _deployment(
        "burner",
        "localtest/burn:1",
        1,
        resources={"requests": {"cpu": "100m"}},
    )
    cluster.kubectl_run("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(burner))
    wait_until(
        lambda: sum(_ready(p) for p in _pods(cluster, namespace, "app=burner")) == 1,
        "a Ready burner pod",
    )

    # When the metrics API is asked through the API server (the aggregation layer)
    def top() -> list[str]:
        result = cluster.kubectl_run(
            "top", "pod", "-n", namespace, "--no-headers", "--containers", check=False
        )
        return result.stdout.split() if result.returncode == 0 else []

    # Then `kubectl top` shows the process's CPU (a busy loop: hundreds of millicores)
    wait_until(lambda: len(top()) == 4, "metrics for the burner pod")
    pod, container, cpu, memory = top()
    assert (pod.startswith("burner-"), container) == (True, "main")
    assert int(cpu.removesuffix("m")) > 200, top()
    assert memory.endswith("Mi")
    # And the node's usage includes it
    nodes = cluster.kubectl_run("top", "node", "--no-headers").stdout.split()
    assert nodes[0] == "kwok-node-0"
    # And RBAC of the API server applies: a user without rights is refused before the proxy
    refused = cluster.kubectl_run("top", "pod", "-n", namespace, user="mallory", check=False)
    assert refused.returncode != 0
    assert "forbidden" in refused.stderr
    cluster.kubectl_run("delete", "deployment", "burner", "-n", namespace)  # stop spinning


def test_pre_stop_sleep_keeps_a_deleted_pod_answering_until_it_ends(
    cluster: LocalCluster,
) -> None:
    # Given a pod whose container sleeps 4 s in preStop, as model pods do to drain
    namespace = _namespace(cluster, "drain")
    drained = _deployment(
        "drained",
        "localtest/http-echo:1",
        1,
        ports=[{"name": "http", "containerPort": 8080}],
        lifecycle={"preStop": {"sleep": {"seconds": 4}}},
    )
    cluster.kubectl_run("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(drained))
    wait_until(
        lambda: sum(_ready(p) for p in _pods(cluster, namespace, "app=drained")) == 1,
        "a Ready pod",
    )
    [pod] = _pods(cluster, namespace, "app=drained")
    ip = pod["status"]["podIP"]
    # When the Deployment is scaled to zero and the pod object is gone
    cluster.kubectl_run("scale", "deployment", "drained", "-n", namespace, "--replicas=0")
    wait_until(lambda: not _pods(cluster, namespace, "app=drained"), "the pod object gone")
    # Then its process still answers (it is in its preStop sleep)
    assert _http_get(ip, 8080, "/")[0] == 200

    # And afterwards it gets SIGTERM and stops listening
    def refused() -> bool:
        try:
            _http_get(ip, 8080, "/")
        except OSError:
            return True
        return False

    wait_until(refused, "the process to stop after its preStop sleep", timeout=30)
