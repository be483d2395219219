"""The real CLI processes: `modelwarden evaluator proxy` before the sample model server,
hammered with fuzzed payloads; the proxy must keep answering with the model's answers."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelwarden.cli.main import cli
from modelwarden.examples.fraud import generate_rows, v2_request

from .conftest import AUTH, TOKEN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def request(port: int, method: str, path: str, body: bytes = b"", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def wait_ready(port: int, process: subprocess.Popen[bytes], path: str) -> None:
    for _ in range(1200):  # up to a minute: the CLI imports every command first
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        try:
            if request(port, "GET", path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"port {port} never became ready")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, profile) -> Iterator[tuple[int, int]]:
    folder: Path = tmp_path_factory.mktemp("stack")
    (folder / "profile.json").write_text(profile.to_json())
    (folder / "token").write_text(TOKEN)
    model_port, proxy_port = free_port(), free_port()
    model = subprocess.Popen(
        [sys.executable, "-m", "modelwarden.examples.model_server", "--port", str(model_port)]
    )
    proxy = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelwarden.cli.main",
            "evaluator",
            "proxy",
            "--host",
            "127.0.0.1",
            "--port",
            str(proxy_port),
            "--upstream",
            f"http://127.0.0.1:{model_port}",
            "--profile",
            str(folder / "profile.json"),
            "--token-file",
            str(folder / "token"),
            "--max-body-bytes",
            "65536",
        ]
    )
    try:
        wait_ready(model_port, model, "/v2/health/ready")
        wait_ready(proxy_port, proxy, "/readyz")
        yield model_port, proxy_port
    finally:
        for process in (proxy, model):
            process.terminate()
            process.wait(timeout=10)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)
payloads = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"inputs": st.lists(json_values, max_size=3)}).map(
        lambda v: json.dumps(v).encode()
    ),
    st.just(b"[" * 5000 + b"]" * 5000),
    st.just(b'{"inputs": [{"name": "amount", "shape": [1], "datatype": "FP64", "data": [NaN]}]}'),
    st.just(b"x" * 70_000),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=payloads)
def test_fuzzed_payloads_get_the_models_answer(stack, body):
    model_port, proxy_port = stack
    direct = request(model_port, "POST", "/v2/models/fraud/infer", body)
    proxied = request(proxy_port, "POST", "/v2/models/fraud/infer", body)
    assert proxied == direct


def test_stack_still_serves_and_reports_after_fuzzing(stack):
    _, proxy_port = stack
    body = json.dumps(v2_request(generate_rows(2))).encode()
    assert request(proxy_port, "POST", "/v2/models/fraud/infer", body)[0] == 200
    status, raw = request(proxy_port, "GET", "/v1/report", headers=AUTH)
    assert status == 200
    signals = json.loads(raw)["current"]["signals"]
    assert signals["requests"] >= 1
    assert request(proxy_port, "GET", "/healthz")[0] == 200


def test_cli_help_lists_the_commands():
    result = CliRunner().invoke(cli, ["evaluator", "--help"])
    assert result.exit_code == 0
    assert "proxy" in result.output
    assert "collect" in result.output
    proxy_help = CliRunner().invoke(cli, ["evaluator", "proxy", "--help"])
    assert "--shadow-percent" in proxy_help.output
    assert "--halt-file" in proxy_help.output


def test_sigterm_closes_idle_keep_alive_connections_at_once(tmp_path: Path) -> None:
    # Given a proxy with an idle keep-alive connection (as the operator's report pulls keep)
    port = free_port()
    proxy = subprocess.Popen(
        [sys.executable, "-m", "modelwarden.cli.main", "evaluator", "proxy",
         "--host", "127.0.0.1", "--port", str(port), "--upstream", f"http://127.0.0.1:{free_port()}"]
    )  # fmt: skip
    try:
        wait_ready(port, proxy, "/healthz")
        idle = socket.create_connection(("127.0.0.1", port), timeout=10)
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: proxy\r\n\r\n")
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")
        # When it is told to stop
        proxy.terminate()
        # Then the idle connection is closed without waiting out the in-flight grace (5 s)
        # meant for requests still being answered, and the process exits cleanly
        idle.settimeout(4.0)
        assert idle.recv(1) == b""
        assert proxy.wait(timeout=4.0) == 0
    finally:
        proxy.kill()
        proxy.wait()
