"""Late labels joined by request id, and shadow agreement between two model versions."""

from __future__ import annotations

import asyncio
import json

from modelwarden.drift.summary import WindowSummary
from modelwarden.evaluator.shadow import compare_rows, values_agree
from modelwarden.examples.fraud import generate_rows, v1_request, v2_request

from .conftest import AUTH, report, settle

V2 = "/v2/models/fraud/infer"
V1 = "/v1/models/fraud:predict"


async def test_feedback_joins_labels_to_predictions(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url)
    rows = generate_rows(2, seed=21)
    async with http.post(
        proxy.url + V2, json=v2_request(rows), headers={"x-request-id": "r1"}
    ) as a:
        scores = next(o for o in (await a.json())["outputs"] if o["name"] == "fraud_score")["data"]
    async with http.post(proxy.url + V1, json=v1_request(rows[:1])) as answer:
        generated_id = answer.headers["x-request-id"]
    await settle(proxy.evaluator)
    feedback = {
        "items": [
            {"request_id": "r1", "labels": [1, 0]},
            {"request_id": generated_id, "label": "1"},
            {"request_id": "never-seen", "label": 0},
        ]
    }
    async with http.post(proxy.url + "/v1/feedback", json=feedback) as refused:
        assert refused.status == 401
    async with http.post(proxy.url + "/v1/feedback", json=feedback, headers=AUTH) as answer:
        assert answer.status == 200
        assert await answer.json() == {"joined": 2, "unmatched": 1, "misaligned": 0}
    current = (await report(http, proxy.url))["current"]
    assert current["feedback"] == {"received": 3, "joined": 2, "unmatched": 1}
    predicted = ["1" if s >= 0.5 else "0" for s in scores]
    overall = {
        (c["prediction"], c["label"]): c["count"] for c in current["confusion"] if not c["group"]
    }
    expected: dict[tuple[str, str], int] = {}
    for key in [(predicted[0], "1"), (predicted[1], "0"), (predicted[0], "1")]:
        expected[key] = expected.get(key, 0) + 1
    assert overall == expected
    by_channel = sum(c["count"] for c in current["confusion"] if c["group_feature"] == "channel")
    assert by_channel == 3
    labelled = WindowSummary.from_dict(current["labelled_summary"])
    assert labelled.n_rows == 3
    assert labelled.features["is_fraud"].valid == 3
    # A label is joined once: the same id again is unmatched.
    again = {"request_id": "r1", "labels": [1, 0]}
    async with http.post(proxy.url + "/v1/feedback", json=again, headers=AUTH) as answer:
        assert (await answer.json())["unmatched"] == 1


async def test_bad_feedback_is_a_400(model, start_evaluator, http):
    proxy = await start_evaluator(upstream=model.url)
    for body in (b"{nope", b'{"label": 1}', b'{"request_id": 5, "label": 1}'):
        async with http.post(proxy.url + "/v1/feedback", data=body, headers=AUTH) as answer:
            assert answer.status == 400


def test_values_agree_exact_for_classes_tolerant_for_scores():
    assert values_agree(1, 1, 0.0)
    assert not values_agree(1, 0, 0.5)
    assert values_agree(0.5, 0.5000001, 1e-3)
    assert not values_agree(0.5, 0.6, 1e-3)
    assert not values_agree(float("nan"), float("nan"), 1.0)
    assert values_agree("fraud", "fraud", 0.0)
    assert not values_agree(True, 1.0, 1.0)
    assert compare_rows([{"a": 1}, {"a": 2}], [{"a": 1}], 0.0) == (1, 1)


async def shadow_counts(proxy, http, turns: int = 500) -> dict[str, int]:
    """Wait (bounded) until the detached shadow copies have all been compared."""
    shadow: dict[str, int] = {}
    for _ in range(turns):
        shadow = (await report(http, proxy.url))["current"]["signals"]["shadow"]
        done = shadow["compared"] + shadow["errors"] + shadow["dropped"]
        if shadow["mirrored"] and done >= shadow["mirrored"] and not proxy.app.shadow._tasks:
            break
        await asyncio.sleep(0.02)
    return shadow


async def test_identical_shadow_agrees(start_model, start_evaluator, http):
    primary, shadow = await start_model(), await start_model(version="v2")
    proxy = await start_evaluator(
        upstream=primary.url, shadow_upstream=shadow.url, shadow_percent=100.0
    )
    for seed in range(5):
        async with http.post(proxy.url + V2, json=v2_request(generate_rows(2, seed=seed))) as a:
            assert a.headers["x-model-version"] == "v1"
    counts = await shadow_counts(proxy, http)
    assert counts["mirrored"] == 5
    assert (counts["compared"], counts["agreed"], counts["disagreed"]) == (10, 10, 0)
    assert shadow.server.requests_seen == 5


async def test_shifted_shadow_disagrees_and_caller_sees_primary(start_model, start_evaluator, http):
    primary, shadow = await start_model(), await start_model(version="v2", shift=3.0)
    proxy = await start_evaluator(
        upstream=primary.url, shadow_upstream=shadow.url, shadow_percent=100.0
    )
    body = v2_request(generate_rows(3, seed=8))
    async with http.post(primary.url + V2, json=body) as direct:
        expected = await direct.read()
    async with http.post(proxy.url + V2, json=body) as answer:
        assert await answer.read() == expected
    counts = await shadow_counts(proxy, http)
    assert counts["compared"] == 3
    assert counts["disagreed"] == 3


async def test_failing_shadow_counts_errors(start_model, start_evaluator, http):
    primary, shadow = await start_model(), await start_model(error_rate=1.0)
    proxy = await start_evaluator(
        upstream=primary.url, shadow_upstream=shadow.url, shadow_percent=100.0
    )
    async with http.post(proxy.url + V2, json=v2_request(generate_rows(1))) as answer:
        assert answer.status == 200
    counts = await shadow_counts(proxy, http)
    assert (counts["errors"], counts["compared"]) == (1, 0)


async def test_shadow_file_turns_mirroring_on_and_off(start_model, start_evaluator, http, tmp_path):
    primary, shadow = await start_model(), await start_model(version="v2")
    switch = tmp_path / "shadow"
    switch.write_text("")
    proxy = await start_evaluator(upstream=primary.url, shadow_file=str(switch))

    async def send(n: int) -> None:
        for seed in range(n):
            body = v2_request(generate_rows(1, seed=seed))
            async with http.post(proxy.url + V2, json=body) as answer:
                assert answer.headers["x-model-version"] == "v1"

    # Given an empty shadow file, nothing is mirrored
    await send(3)
    assert shadow.server.requests_seen == 0
    # When the operator writes a target, copies go there (after the next poll)
    switch.write_text(json.dumps({"targets": [shadow.url], "percent": 100}))
    for _ in range(100):
        proxy.app.shadow.poll()
        await send(1)
        if shadow.server.requests_seen:
            break
    counts = await shadow_counts(proxy, http)
    assert counts["mirrored"] >= 1
    assert counts["agreed"] >= 1
    # When the file is emptied again, mirroring stops
    switch.write_text("")
    proxy.app.shadow.poll()
    seen = shadow.server.requests_seen
    await send(3)
    assert shadow.server.requests_seen == seen
