"""Collector mode: KServe payload-logger CloudEvents (binary and structured) and NDJSON."""

from __future__ import annotations

import base64
import json

import numpy as np

from modelwarden.evaluator.cloudevents import Event, JoinTable
from modelwarden.examples.fraud import generate_rows, score_rows, v1_request, v2_request

from .conftest import report, settle

REQUEST = "org.kubeflow.serving.inference.request"
RESPONSE = "org.kubeflow.serving.inference.response"


def v2_response(rows):
    scores = score_rows(rows)
    return {
        "outputs": [
            {"name": "fraud_score", "shape": [len(rows)], "datatype": "FP64", "data": list(scores)},
            {
                "name": "fraud_class",
                "shape": [len(rows)],
                "datatype": "INT64",
                "data": (np.asarray(scores) >= 0.5).astype(int).tolist(),
            },
        ]
    }


def binary_headers(event_id: str, event_type: str) -> dict[str, str]:
    return {
        "ce-id": event_id,
        "ce-type": event_type,
        "ce-source": "http://localhost:9081/",
        "ce-specversion": "1.0",
        "ce-inferenceservicename": "fraud",
        "content-type": "application/json",
    }


async def test_binary_events_are_joined_by_id(start_evaluator, http):
    collector = await start_evaluator("collector")
    rows = generate_rows(3, seed=31)
    response_first = [("b", RESPONSE, v2_response(rows)), ("b", REQUEST, v2_request(rows))]
    request_first = [("a", REQUEST, v2_request(rows)), ("a", RESPONSE, v2_response(rows))]
    for event_id, event_type, body in request_first + response_first:
        async with http.post(
            collector.url + "/",
            data=json.dumps(body),
            headers=binary_headers(event_id, event_type),
        ) as answer:
            assert answer.status == 202
    await settle(collector.evaluator)
    current = (await report(http, collector.url))["current"]
    assert current["signals"]["requests"] == 2
    assert current["summary"]["rows"] == 6
    assert current["signals"]["rejected"] == {}


async def test_structured_events_with_data_and_base64(start_evaluator, http):
    collector = await start_evaluator("collector")
    rows = generate_rows(2, seed=32)
    request_event = {
        "specversion": "1.0",
        "id": "s1",
        "type": REQUEST,
        "source": "kserve",
        "datacontenttype": "application/json",
        "data": v1_request(rows),
    }
    response_data = json.dumps({"predictions": [{"fraud_score": 0.1, "fraud_class": 0}] * 2})
    response_event = {
        "specversion": "1.0",
        "id": "s1",
        "type": RESPONSE,
        "source": "kserve",
        "data_base64": base64.b64encode(response_data.encode()).decode(),
    }
    headers = {"content-type": "application/cloudevents+json; charset=utf-8"}
    for event in (request_event, response_event):
        async with http.post(
            collector.url + "/v1/events", data=json.dumps(event), headers=headers
        ) as answer:
            assert answer.status == 202
    await settle(collector.evaluator)
    summary = (await report(http, collector.url))["current"]["summary"]
    assert summary["rows"] == 2


async def test_bad_events_are_rejected_and_counted(start_evaluator, http):
    collector = await start_evaluator("collector")
    async with http.post(collector.url + "/", data=b"{}") as no_headers:
        assert no_headers.status == 400
    structured = {"content-type": "application/cloudevents+json"}
    async with http.post(collector.url + "/", data=b"[", headers=structured) as bad_json:
        assert bad_json.status == 400
    async with http.post(
        collector.url + "/", data=b"{}", headers=binary_headers("x", "com.example.other")
    ) as bad_type:
        assert bad_type.status == 400
    rejected = (await report(http, collector.url))["current"]["signals"]["rejected"]
    assert rejected == {"cloudevent": 2, "json": 1}


async def test_ndjson_batches_of_rows_and_exchanges(start_evaluator, http):
    collector = await start_evaluator("collector")
    rows = generate_rows(3, seed=33)
    lines = [json.dumps({**row, "fraud_score": 0.2, "fraud_class": 0}) for row in rows]
    lines.append(json.dumps({"request": v2_request(rows[:2]), "response": v2_response(rows[:2])}))
    lines.append("not json")
    lines.append("[1, 2]")
    async with http.post(collector.url + "/v1/ingest", data="\n".join(lines)) as answer:
        assert answer.status == 200
        assert await answer.json() == {"accepted": 4, "rejected": 2}
    await settle(collector.evaluator)
    current = (await report(http, collector.url))["current"]
    assert current["summary"]["rows"] == 5
    assert current["signals"]["requests"] == 4


async def test_collector_is_ready_and_refuses_other_paths(start_evaluator, http):
    collector = await start_evaluator("collector")
    async with http.get(collector.url + "/readyz") as ready:
        assert ready.status == 200
    async with http.get(collector.url + "/v2/models/fraud/infer") as other:
        assert other.status == 404


async def test_oversized_event_is_413(start_evaluator, http):
    collector = await start_evaluator("collector", max_body_bytes=100)
    async with http.post(
        collector.url + "/", data=b"x" * 500, headers=binary_headers("big", REQUEST)
    ) as answer:
        assert answer.status == 413


def test_join_table_is_bounded_in_size_and_age():
    now = [0.0]
    dropped: list[str] = []
    table = JoinTable(capacity=2, ttl=10.0, on_drop=dropped.append, clock=lambda: now[0])
    for event_id in ("a", "b", "c"):
        assert table.add(Event(event_id, REQUEST, "request", b"{}")) is None
    assert len(table) == 2
    assert dropped == ["unjoined_evicted"]
    now[0] = 11.0
    assert table.add(Event("b", RESPONSE, "response", b"{}")) is None  # "b" expired first
    assert dropped == ["unjoined_evicted", "unjoined_expired", "unjoined_expired"]
    joined = table.add(Event("b", REQUEST, "request", b"[1]"))
    assert joined is not None
    assert (joined.request, joined.response, joined.request_id) == (b"[1]", b"{}", "b")
    assert len(table) == 0
