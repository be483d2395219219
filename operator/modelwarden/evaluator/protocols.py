"""Read feature rows and predictions out of inference request/response bodies.

Three wire formats are understood: KServe v1 (`instances` / `predictions`), KServe v2 /
Open Inference Protocol (`inputs` / `outputs` named tensors with shape, datatype and
data) and plain JSON located with small JSON paths.  Every function takes untrusted,
already-decoded JSON and either returns rows or raises `PayloadError` with a short
reason that becomes a label of the `rejected payloads` counter; nothing else escapes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Protocol = Literal["kserve-v1", "kserve-v2", "json", "auto"]
PROTOCOLS: tuple[str, ...] = ("kserve-v1", "kserve-v2", "json", "auto")
Row = dict[str, Any]

#: Largest number of rows one payload may contribute; bigger batches are rejected.
MAX_ROWS_PER_PAYLOAD = 10_000
#: Largest tensor element count decoded from one v2 payload.
MAX_TENSOR_ELEMENTS = 1_000_000

_V2_TYPES = {
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
}


class PayloadError(ValueError):
    """A payload the evaluator cannot read; `reason` is a short metric label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class FeatureLayout:
    """What the evaluator knows about the model's columns, from the reference profile.

    `inputs` orders the input features so positional rows (lists) and `[N, F]` tensors
    can be named; `prediction` names a bare prediction value.  Without a profile the
    layout is empty and only named inputs can be read.
    """

    inputs: tuple[str, ...] = ()
    prediction: str = "prediction"
    embeddings: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Extracted:
    """Rows of one payload: input features and predictions, aligned by position."""

    features: list[Row]
    predictions: list[Row]

    def rows(self) -> list[Row]:
        """Feature and prediction columns of each row in one dict."""
        if not self.predictions:
            return [dict(row) for row in self.features]
        if not self.features:
            return [dict(row) for row in self.predictions]
        return [{**f, **p} for f, p in zip(self.features, self.predictions, strict=False)]


def _check_rows(count: int) -> None:
    if count > MAX_ROWS_PER_PAYLOAD:
        raise PayloadError("too_many_rows", f"{count} rows")


def _named_row(item: Any, layout: FeatureLayout) -> Row:
    """A v1 instance: a mapping, a positional list named by the layout, or a scalar."""
    if isinstance(item, dict):
        return {str(k): v for k, v in item.items()}
    if isinstance(item, list):
        if not layout.inputs or len(item) != len(layout.inputs):
            raise PayloadError("shape", f"positional row of {len(item)} values")
        return dict(zip(layout.inputs, item, strict=True))
    if len(layout.inputs) == 1:
        return {layout.inputs[0]: item}
    raise PayloadError("shape", "scalar instance with several input features")


def _prediction_row(item: Any, layout: FeatureLayout) -> Row:
    """A v1 prediction: a mapping of outputs, a class-score list (argmax), or a scalar."""
    if isinstance(item, dict):
        return {str(k): v for k, v in item.items()}
    if isinstance(item, list):
        numbers = [x for x in item if isinstance(x, int | float) and not isinstance(x, bool)]
        if not numbers or len(numbers) != len(item):
            raise PayloadError("prediction", "list prediction that is not class scores")
        finite = [x if math.isfinite(x) else -math.inf for x in numbers]
        return {layout.prediction: max(range(len(finite)), key=finite.__getitem__)}
    return {layout.prediction: item}


def extract_v1(request: Any, response: Any, layout: FeatureLayout) -> Extracted:
    """KServe v1: `{"instances": [...]}` in, `{"predictions": [...]}` out.

    Either side may be None (a request without a response yet, or vice versa).
    """
    features: list[Row] = []
    predictions: list[Row] = []
    if request is not None:
        instances = request.get("instances") if isinstance(request, dict) else None
        if instances is None and isinstance(request, dict):
            instances = request.get("inputs")
        if not isinstance(instances, list):
            raise PayloadError("schema", "v1 request without an 'instances' list")
        _check_rows(len(instances))
        features = [_named_row(item, layout) for item in instances]
    if response is not None:
        raw = response.get("predictions") if isinstance(response, dict) else None
        if not isinstance(raw, list):
            raise PayloadError("schema", "v1 response without a 'predictions' list")
        _check_rows(len(raw))
        predictions = [_prediction_row(item, layout) for item in raw]
    if features and predictions and len(features) != len(predictions):
        raise PayloadError("shape", "instances and predictions differ in length")
    return Extracted(features, predictions)


def _flatten(data: Any, limit: int) -> list[Any]:
    """Flatten nested lists (row-major) with an element budget."""
    if not isinstance(data, list):
        return [data]
    out: list[Any] = []
    stack: list[Any] = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
            if len(out) > limit:
                raise PayloadError("too_large", "tensor has too many elements")
        else:
            stack.pop()
    return out


def _tensor_columns(tensor: Any, layout: FeatureLayout) -> tuple[int, dict[str, list[Any]]]:
    """Decode one v2 tensor into named columns of equal length (the batch size)."""
    if not isinstance(tensor, dict):
        raise PayloadError("schema", "tensor is not an object")
    name, shape, datatype = tensor.get("name"), tensor.get("shape"), tensor.get("datatype")
    if not isinstance(name, str) or not isinstance(shape, list) or datatype not in _V2_TYPES:
        raise PayloadError("schema", "tensor needs name, shape and a known datatype")
    if not shape or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
        raise PayloadError("shape", f"tensor {name!r} has shape {shape!r}")
    if any(d < 0 for d in shape):
        raise PayloadError("shape", f"tensor {name!r} has a negative dimension")
    total = math.prod(shape)
    if total > MAX_TENSOR_ELEMENTS:
        raise PayloadError("too_large", f"tensor {name!r} has {total} elements")
    values = _flatten(tensor.get("data"), MAX_TENSOR_ELEMENTS)
    if len(values) != total:
        raise PayloadError("shape", f"tensor {name!r}: {len(values)} values for shape {shape}")
    batch = shape[0]
    _check_rows(batch)
    width = total // batch if batch else 0
    if width <= 1:
        return batch, {name: values}
    rows = [values[i * width : (i + 1) * width] for i in range(batch)]
    if name in layout.embeddings:
        return batch, {name: rows}
    if len(layout.inputs) == width:
        return batch, {col: [row[j] for row in rows] for j, col in enumerate(layout.inputs)}
    raise PayloadError("shape", f"tensor {name!r} of width {width} matches no feature layout")


def _v2_side(body: Any, key: str, layout: FeatureLayout) -> list[Row]:
    tensors = body.get(key) if isinstance(body, dict) else None
    if not isinstance(tensors, list) or not tensors:
        raise PayloadError("schema", f"v2 body without an '{key}' tensor list")
    batch: int | None = None
    columns: dict[str, list[Any]] = {}
    for tensor in tensors:
        size, decoded = _tensor_columns(tensor, layout)
        if batch is not None and size != batch:
            raise PayloadError("shape", "tensors differ in batch size")
        batch = size
        columns.update(decoded)
    names = list(columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def extract_v2(request: Any, response: Any, layout: FeatureLayout) -> Extracted:
    """Open Inference Protocol: named `inputs` tensors in, named `outputs` tensors out.

    Each `[N]` or `[N, 1]` tensor is one column; an `[N, F]` tensor is an embedding
    when its name is an embedding feature, otherwise it is split into the layout's
    F input columns.  A single unnamed-looking output is kept under its own name.
    """
    features = _v2_side(request, "inputs", layout) if request is not None else []
    predictions = _v2_side(response, "outputs", layout) if response is not None else []
    if features and predictions and len(features) != len(predictions):
        raise PayloadError("shape", "inputs and outputs differ in batch size")
    return Extracted(features, predictions)


_PATH_TOKEN = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\*|\d+)\]|\[\"([^\"]+)\"\]")


@dataclass(frozen=True)
class JsonPath:
    """A tiny JSONPath subset: `$`, `.key`, `["key"]`, `[n]` and `[*]` (fan-out)."""

    text: str
    steps: tuple[str | int | None, ...]

    @classmethod
    def parse(cls, text: str) -> JsonPath:
        if not text.startswith("$"):
            raise ValueError(f"JSON path {text!r} must start with '$'")
        steps: list[str | int | None] = []
        position = 1
        while position < len(text):
            match = _PATH_TOKEN.match(text, position)
            if match is None:
                raise ValueError(f"JSON path {text!r}: cannot read from position {position}")
            key, index, quoted = match.groups()
            if key is not None or quoted is not None:
                steps.append(key if key is not None else quoted)
            else:
                steps.append(None if index == "*" else int(index))
            position = match.end()
        return cls(text, tuple(steps))

    def find(self, document: Any) -> list[Any]:
        """All values the path reaches; missing keys simply reach nothing."""
        current = [document]
        for step in self.steps:
            following: list[Any] = []
            for node in current:
                if step is None and isinstance(node, list):
                    following.extend(node)
                elif isinstance(step, int) and isinstance(node, list) and -len(node) <= step:
                    if step < len(node):
                        following.append(node[step])
                elif isinstance(step, str) and isinstance(node, dict) and step in node:
                    following.append(node[step])
            current = following
            if len(current) > MAX_ROWS_PER_PAYLOAD:
                raise PayloadError("too_many_rows", self.text)
        return current


@dataclass(frozen=True)
class JsonPaths:
    """Where rows live in a plain-JSON API: one path for inputs, one for predictions."""

    features: JsonPath = field(default_factory=lambda: JsonPath.parse("$.instances[*]"))
    predictions: JsonPath = field(default_factory=lambda: JsonPath.parse("$.predictions[*]"))


def extract_json(request: Any, response: Any, layout: FeatureLayout, paths: JsonPaths) -> Extracted:
    """Plain JSON: each value the feature path reaches is one row, likewise predictions."""
    features: list[Row] = []
    predictions: list[Row] = []
    if request is not None:
        items = paths.features.find(request)
        if not items:
            raise PayloadError("schema", f"nothing at {paths.features.text}")
        features = [_named_row(item, layout) for item in items]
    if response is not None:
        items = paths.predictions.find(response)
        if not items:
            raise PayloadError("schema", f"nothing at {paths.predictions.text}")
        predictions = [_prediction_row(item, layout) for item in items]
    if features and predictions and len(features) != len(predictions):
        raise PayloadError("shape", "feature and prediction counts differ")
    return Extracted(features, predictions)


def detect(request: Any, response: Any) -> Protocol:
    """Guess the protocol from the body keys (for `auto` and the collector)."""
    for body, v2_key, v1_key in ((request, "inputs", "instances"), (response, "outputs", "")):
        if isinstance(body, dict):
            if (
                isinstance(body.get(v2_key), list)
                and body[v2_key][:1]
                and isinstance(body[v2_key][0], dict)
            ):
                return "kserve-v2"
            if v1_key and v1_key in body:
                return "kserve-v1"
    if isinstance(response, dict) and "predictions" in response:
        return "kserve-v1"
    return "json"


@dataclass(frozen=True)
class Extractor:
    """A configured protocol reader; `auto` picks one per payload with `detect`."""

    protocol: Protocol = "auto"
    layout: FeatureLayout = field(default_factory=FeatureLayout)
    paths: JsonPaths = field(default_factory=JsonPaths)

    def extract(self, request: Any, response: Any) -> Extracted:
        protocol = self.protocol if self.protocol != "auto" else detect(request, response)
        if protocol == "kserve-v2":
            return extract_v2(request, response, self.layout)
        if protocol == "kserve-v1":
            return extract_v1(request, response, self.layout)
        return extract_json(request, response, self.layout, self.paths)

    def predictions(self, response: Any) -> list[Row]:
        """Only the predictions of a response (shadow comparison)."""
        return self.extract(None, response).predictions
