"""The kill switch: file format, file watching and the authenticated control calls."""

from __future__ import annotations

import asyncio
import json

import pytest

from modelwarden.evaluator.halt import HaltSwitch, parse_halt_file
from modelwarden.examples.fraud import generate_rows, v2_request

from .conftest import AUTH, report

V2 = "/v2/models/fraud/infer"


@pytest.mark.parametrize(
    ("content", "halted"),
    [
        ("", False),
        ("false", False),
        ("  true\n", True),
        ('{"halted": true, "reason": "drift", "by": "policy/fraud"}', True),
        ('{"halted": false}', False),
        ('{"halted": "yes"}', False),
        ("[1, 2]", False),
        ("garbage", False),
    ],
)
def test_halt_file_format(content, halted):
    assert parse_halt_file(content, now=5.0).halted is halted


def test_halt_file_json_fields_are_reported():
    status = parse_halt_file(
        '{"halted": true, "reason": "drift", "by": "policy/fraud", "since": 12}', now=99.0
    )
    assert (status.reason, status.by, status.since, status.source) == (
        "drift",
        "policy/fraud",
        12.0,
        "file",
    )


def test_switch_follows_the_file_and_api(tmp_path):
    path = tmp_path / "halt"
    switch = HaltSwitch(str(path))
    assert not switch.halted
    path.write_text("true")
    switch.poll()
    assert switch.halted
    assert switch.status.source == "file"
    assert switch.resume().halted  # resume lifts only an API halt
    path.write_text("false")
    switch.poll()
    assert not switch.halted
    switch.halt(reason="manual", by="alice")
    assert switch.status.by == "alice"
    assert not switch.resume().halted


async def wait_for(predicate, turns: int = 200) -> bool:
    """Poll a condition every 50 ms, a bounded number of times."""
    for _ in range(turns):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def test_halt_file_stops_traffic_before_the_model(tmp_path, model, start_evaluator, http):
    halt = tmp_path / "halt"
    proxy = await start_evaluator(upstream=model.url, halt_file=str(halt))
    body = v2_request(generate_rows(1))
    async with http.post(proxy.url + V2, json=body) as answer:
        assert answer.status == 200
    seen = model.server.requests_seen
    halt.write_text(json.dumps({"halted": True, "reason": "drift detected", "by": "modelwarden"}))
    assert await wait_for(lambda: proxy.evaluator.halt.halted)
    async with http.post(proxy.url + V2, json=body) as answer:
        assert answer.status == 503
        document = await answer.json()
    assert document["reason"] == "drift detected"
    assert document["by"] == "modelwarden"
    assert document["since"] is not None
    assert model.server.requests_seen == seen
    halt.write_text("false")
    assert await wait_for(lambda: not proxy.evaluator.halt.halted)
    async with http.post(proxy.url + V2, json=body) as answer:
        assert answer.status == 200
    signals = (await report(http, proxy.url))["current"]["signals"]
    assert (signals["requests"], signals["halted"]) == (2, 1)


async def test_halt_and_resume_calls_need_the_token(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url)
    async with http.post(proxy.url + "/v1/halt", json={"reason": "x"}) as refused:
        assert refused.status == 401
    async with http.post(
        proxy.url + "/v1/halt", json={"reason": "bad canary", "by": "bob"}, headers=AUTH
    ) as accepted:
        assert accepted.status == 200
        assert (await accepted.json())["halted"] is True
    seen = model.server.requests_seen
    async with http.post(proxy.url + V2, json=v2_request(generate_rows(1))) as answer:
        assert answer.status == 503
        assert (await answer.json())["reason"] == "bad canary"
    assert model.server.requests_seen == seen
    assert (await report(http, proxy.url))["halt"]["by"] == "bob"
    async with http.post(proxy.url + "/v1/resume") as refused:
        assert refused.status == 401
    async with http.post(proxy.url + "/v1/resume", headers=AUTH) as resumed:
        assert resumed.status == 200
    async with http.post(proxy.url + V2, json=v2_request(generate_rows(1))) as answer:
        assert answer.status == 200


async def test_resume_cannot_override_a_file_halt(tmp_path, model, start_evaluator, http):
    halt = tmp_path / "halt"
    halt.write_text("true")
    proxy = await start_evaluator(upstream=model.url, halt_file=str(halt))
    async with http.post(proxy.url + "/v1/resume", headers=AUTH) as answer:
        assert answer.status == 409
        assert (await answer.json())["source"] == "file"
