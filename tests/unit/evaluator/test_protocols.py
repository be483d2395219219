"""Reading rows out of KServe v1, v2 and plain-JSON bodies; fuzzed for robustness."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelwarden.evaluator.config import EvaluatorConfig
from modelwarden.evaluator.engine import Evaluator, Payload
from modelwarden.evaluator.protocols import (
    Extractor,
    FeatureLayout,
    JsonPath,
    JsonPaths,
    PayloadError,
    detect,
    extract_json,
    extract_v1,
    extract_v2,
)

LAYOUT = FeatureLayout(inputs=("a", "b"), prediction="score", embeddings=frozenset({"emb"}))


def test_v1_named_positional_and_prediction_shapes():
    request = {"instances": [{"a": 1, "b": "x"}, [2, "y"]]}
    response = {"predictions": [0.2, [0.1, 0.9]]}
    rows = extract_v1(request, response, LAYOUT).rows()
    assert rows == [{"a": 1, "b": "x", "score": 0.2}, {"a": 2, "b": "y", "score": 1}]


@pytest.mark.parametrize(
    ("request_body", "reason"),
    [
        ({"instances": "nope"}, "schema"),
        ({"instances": [[1, 2, 3]]}, "shape"),
        ([1, 2], "schema"),
    ],
)
def test_v1_errors_have_reasons(request_body, reason):
    with pytest.raises(PayloadError) as error:
        extract_v1(request_body, None, LAYOUT)
    assert error.value.reason == reason


def test_v1_length_mismatch_is_rejected():
    with pytest.raises(PayloadError, match="shape"):
        extract_v1({"instances": [{"a": 1}]}, {"predictions": [1, 2]}, LAYOUT)


def test_v2_named_tensors_matrix_and_embedding():
    request = {
        "inputs": [
            {"name": "m", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3, 4]]},
            {"name": "emb", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6]},
            {"name": "c", "shape": [2, 1], "datatype": "BYTES", "data": ["p", "q"]},
        ]
    }
    response = {"outputs": [{"name": "score", "shape": [2], "datatype": "FP64", "data": [0.1, 1]}]}
    rows = extract_v2(request, response, LAYOUT).rows()
    assert rows == [
        {"a": 1, "b": 2, "emb": [1, 2, 3], "c": "p", "score": 0.1},
        {"a": 3, "b": 4, "emb": [4, 5, 6], "c": "q", "score": 1},
    ]


@pytest.mark.parametrize(
    "tensor",
    [
        {"name": "x", "shape": [3], "datatype": "FP32", "data": [1, 2]},
        {"name": "x", "shape": [2], "datatype": "COMPLEX", "data": [1, 2]},
        {"name": "x", "shape": [-1], "datatype": "FP32", "data": []},
        {"name": "x", "shape": [2, 5], "datatype": "FP32", "data": list(range(10))},
        {"name": "x", "shape": [10**9], "datatype": "FP32", "data": []},
        {"shape": [1], "datatype": "FP32", "data": [1]},
    ],
)
def test_v2_bad_tensors_are_payload_errors(tensor):
    with pytest.raises(PayloadError):
        extract_v2({"inputs": [tensor]}, None, LAYOUT)


def test_json_paths_fan_out_and_index():
    path = JsonPath.parse('$.batch[*].features["x y"]')
    assert path.find({"batch": [{"features": {"x y": 1}}, {"features": {}}, 3]}) == [1]
    assert JsonPath.parse("$.a[1]").find({"a": [5, 6]}) == [6]
    with pytest.raises(ValueError, match="must start"):
        JsonPath.parse("a.b")
    paths = JsonPaths(JsonPath.parse("$.data[*]"), JsonPath.parse("$.result.scores[*]"))
    rows = extract_json({"data": [{"a": 1}]}, {"result": {"scores": [0.5]}}, LAYOUT, paths)
    assert rows.rows() == [{"a": 1, "score": 0.5}]


def test_detect_protocol():
    assert detect({"inputs": [{"name": "x"}]}, None) == "kserve-v2"
    assert detect({"instances": []}, None) == "kserve-v1"
    assert detect(None, {"predictions": []}) == "kserve-v1"
    assert detect({"rows": []}, None) == "json"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)
tensor = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", "b", "emb", "score", "zz"]),
        "shape": st.lists(st.integers(-2, 4), min_size=0, max_size=3),
        "datatype": st.sampled_from(["FP32", "BYTES", "INT64", "BOOL", "NOPE"]),
        "data": json_values,
    }
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"instances": json_values}),
    st.fixed_dictionaries({"inputs": st.lists(tensor, max_size=3)}),
    st.fixed_dictionaries({"outputs": st.lists(tensor, max_size=3)}),
    st.fixed_dictionaries({"predictions": json_values}),
)


@settings(max_examples=300, deadline=None)
@given(request=bodies, response=bodies, protocol=st.sampled_from(["auto", "json"]))
def test_extractors_only_raise_payload_errors(request, response, protocol):
    with contextlib.suppress(PayloadError):
        Extractor(protocol, LAYOUT).extract(request, response)


@settings(max_examples=100, deadline=None)
@given(request=bodies, response=bodies, raw=st.binary(max_size=64))
def test_evaluation_counts_bad_payloads_and_never_raises(profile_path_str, request, response, raw):
    evaluator = Evaluator(EvaluatorConfig(host="127.0.0.1", profile_path=profile_path_str))
    encode = lambda body: json.dumps(body).encode()  # noqa: E731
    payloads = [Payload(encode(request), encode(response)), Payload(raw, raw, "id")]
    evaluator.evaluate(payloads)
    evaluator.flush()
    window = evaluator.windows.current
    assert window.summary is not None
    assert window.summary.n_rows == window.samples
    assert sum(window.rejected.values()) <= len(payloads)


@pytest.fixture(scope="module")
def profile_path_str(tmp_path_factory, profile) -> str:
    path = tmp_path_factory.mktemp("profile") / "profile.json"
    path.write_text(profile.to_json())
    return str(path)
