"""The real proxy in front of the real sample model server: pass-through and evaluation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from modelwarden.drift.summary import WindowSummary
from modelwarden.evaluator.protocols import JsonPath, JsonPaths
from modelwarden.examples.fraud import generate_rows, v1_request, v2_request

from .conftest import AUTH, report, settle

V2 = "/v2/models/fraud/infer"
V1 = "/v1/models/fraud:predict"


async def test_v2_is_forwarded_unchanged_and_summarised(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url, protocol="kserve-v2")
    body = v2_request(generate_rows(4, seed=1))
    async with http.post(model.url + V2, json=body) as direct:
        direct_body = await direct.read()
    async with http.post(proxy.url + V2, json=body, headers={"x-request-id": "abc"}) as answer:
        assert answer.status == 200
        assert await answer.read() == direct_body
        assert answer.headers["x-model-version"] == "v1"
        assert answer.headers["x-request-id"] == "abc"
        assert answer.headers["Content-Type"] == direct.headers["Content-Type"]
    await settle(proxy.evaluator)
    current = (await report(http, proxy.url))["current"]
    assert current["signals"]["requests"] == 1
    assert current["signals"]["status"] == {"2xx": 1}
    assert current["signals"]["samples"] == 4
    assert current["summary"]["rows"] == 4
    assert current["summary"]["unknown"] == 0
    assert sum(current["signals"]["latency_counts"]) == 1


async def test_v1_rows_and_predictions_are_read(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url, protocol="kserve-v1")
    async with http.post(proxy.url + V1, json=v1_request(generate_rows(3, seed=2))) as answer:
        assert answer.status == 200
        assert len((await answer.json())["predictions"]) == 3
    await settle(proxy.evaluator)
    summary = WindowSummary.from_dict((await report(http, proxy.url))["current"]["summary"])
    assert summary.n_rows == 3
    for name in ("fraud_score", "fraud_class", "amount", "channel"):
        assert summary.features[name].valid == 3, name


async def test_json_protocol_uses_configured_paths(model, start_evaluator, http):
    paths = JsonPaths(JsonPath.parse("$.instances[*]"), JsonPath.parse("$.predictions[*]"))
    proxy = await start_evaluator(upstream=model.url, protocol="json", json_paths=paths)
    async with http.post(proxy.url + V1, json=v1_request(generate_rows(2, seed=3))) as answer:
        assert answer.status == 200
    await settle(proxy.evaluator)
    current = (await report(http, proxy.url))["current"]
    assert current["summary"]["rows"] == 2
    assert current["signals"]["rejected"] == {}


async def test_upstream_errors_are_counted_and_passed_through(start_model, start_evaluator, http):
    broken = await start_model(error_rate=1.0)
    proxy = await start_evaluator(upstream=broken.url)
    async with http.post(proxy.url + V2, json=v2_request(generate_rows(1))) as answer:
        assert answer.status == 500
        assert (await answer.json()) == {"error": "injected failure"}
    signals = (await report(http, proxy.url))["current"]["signals"]
    assert signals["errors"] == 1
    assert signals["status"] == {"5xx": 1}


async def test_dead_upstream_gives_502_and_not_ready(start_evaluator, http):
    proxy = await start_evaluator(upstream="http://127.0.0.1:9")
    async with http.post(proxy.url + V2, json={}) as answer:
        assert answer.status == 502
    async with http.get(proxy.url + "/readyz") as ready:
        assert ready.status == 503
    async with http.get(proxy.url + "/healthz") as healthy:
        assert healthy.status == 200
    signals = (await report(http, proxy.url))["current"]["signals"]
    assert signals["errors"] == 1


async def test_head_keeps_the_upstream_content_length(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url)
    async with http.head(model.url + "/v2/health/ready") as direct:
        expected = direct.headers["Content-Length"]
    async with http.head(proxy.url + "/v2/health/ready") as answer:
        assert answer.status == 200
        assert answer.headers["Content-Length"] == expected != "0"


async def test_ready_when_upstream_answers(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url)
    async with http.get(proxy.url + "/readyz") as ready:
        assert ready.status == 200


async def test_malformed_request_is_counted_not_fatal(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url)
    async with http.post(proxy.url + V2, data=b"{not json") as answer:
        assert answer.status == 400  # the model server's own answer
    async with http.post(proxy.url + V2, json=v2_request(generate_rows(1))) as answer:
        assert answer.status == 200
    await settle(proxy.evaluator)
    signals = (await report(http, proxy.url))["current"]["signals"]
    assert signals["requests"] == 2
    assert signals["samples"] == 1


async def test_large_bodies_stream_through_without_evaluation(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url, max_body_bytes=300)
    body = v1_request(generate_rows(20, seed=4))
    async with http.post(model.url + V1, json=body) as direct:
        expected = await direct.read()
    async with http.post(proxy.url + V1, json=body) as answer:
        assert answer.status == 200
        assert await answer.read() == expected
    await settle(proxy.evaluator)
    signals = (await report(http, proxy.url))["current"]["signals"]
    assert signals["rejected"] == {"too_large": 1}
    assert signals["samples"] == 0


async def test_chunked_request_body_is_buffered_and_evaluated(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url)
    payload = aiohttp.JsonPayload(v2_request(generate_rows(2, seed=5)))
    raw = payload._value

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 50):
            yield raw[start : start + 50]

    async with http.post(proxy.url + V2, data=chunks()) as answer:
        assert answer.status == 200
    await settle(proxy.evaluator)
    assert (await report(http, proxy.url))["current"]["signals"]["samples"] == 2


async def test_streamed_response_passes_through(start_evaluator, http):
    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for index in range(5):
            await response.write(f"data: {index}\n\n".encode())
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/stream", stream)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        upstream = f"http://127.0.0.1:{runner.addresses[0][1]}"
        proxy = await start_evaluator(upstream=upstream)
        async with http.get(proxy.url + "/stream") as answer:
            assert answer.status == 200
            assert answer.headers["Content-Type"] == "text/event-stream"
            assert await answer.text() == "".join(f"data: {i}\n\n" for i in range(5))
    finally:
        await runner.cleanup()


async def test_full_queue_drops_and_counts(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url, queue_size=1)
    await proxy.evaluator.stop()  # no worker: the queue stays full
    for seed in range(3):
        async with http.post(proxy.url + V2, json=v2_request(generate_rows(1, seed=seed))) as a:
            assert a.status == 200
    signals = (await report(http, proxy.url))["current"]["signals"]
    assert signals["dropped"] == 2


async def test_sample_rate_zero_evaluates_nothing(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url, sample_rate=0.0)
    async with http.post(proxy.url + V2, json=v2_request(generate_rows(3))) as answer:
        assert answer.status == 200
    await settle(proxy.evaluator)
    signals = (await report(http, proxy.url))["current"]["signals"]
    assert (signals["requests"], signals["samples"]) == (1, 0)


async def test_metrics_endpoint_exports_prometheus_text(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url)
    async with http.post(proxy.url + V2, json=v2_request(generate_rows(1))) as answer:
        assert answer.status == 200
    async with http.get(proxy.url + "/metrics") as metrics:
        text = await metrics.text()
    assert 'modelwarden_evaluator_requests_total{code="2xx"} 1.0' in text
    assert "modelwarden_evaluator_request_latency_seconds_bucket" in text


async def test_report_requires_the_bearer_token(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url)
    async with http.get(proxy.url + "/v1/report") as missing:
        assert missing.status == 401
    wrong = {"Authorization": "Bearer nope"}
    async with http.get(proxy.url + "/v1/report", headers=wrong) as bad:
        assert bad.status == 401
    async with http.get(proxy.url + "/v1/report", headers=AUTH) as good:
        assert good.status == 200
        assert (await good.json())["mode"] == "proxy"


async def test_report_is_refused_without_a_token_file(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url, token_file=None)
    async with http.get(proxy.url + "/v1/report", headers=AUTH) as answer:
        assert answer.status == 401
