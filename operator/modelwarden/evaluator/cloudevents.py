"""KServe payload-logger CloudEvents: parse both content modes and join request/response.

The KServe logger posts the request and the response of one inference as two events
sharing `ce-id`, with types ending in `.request` and `.response`
(`org.kubeflow.serving.inference.request` / `...response`).  Binary mode carries the
attributes as `ce-*` headers and the payload as the body; structured mode posts an
`application/cloudevents+json` envelope with `data` (or `data_base64`).  Halves wait
in a join table bounded in size and age; whatever never finds its partner is dropped
and counted.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from modelwarden.evaluator.engine import Payload
from modelwarden.evaluator.protocols import PayloadError

STRUCTURED = "application/cloudevents+json"
Half = Literal["request", "response"]


@dataclass(frozen=True)
class Event:
    """The parts of a CloudEvent the evaluator uses; `data` is raw JSON bytes or a value."""

    id: str
    type: str
    half: Half
    data: bytes | Any


def _half(event_type: str) -> Half:
    lowered = event_type.lower()
    if lowered.endswith("request"):
        return "request"
    if lowered.endswith("response"):
        return "response"
    raise PayloadError("cloudevent", f"type {event_type!r} is neither request nor response")


def parse_binary(headers: Mapping[str, str], body: bytes) -> Event:
    """Binary mode: attributes in `ce-id`, `ce-type`, ...; the body is the payload."""
    event_id, event_type = headers.get("ce-id"), headers.get("ce-type")
    if not event_id or not event_type:
        raise PayloadError("cloudevent", "binary event without ce-id and ce-type")
    return Event(event_id, event_type, _half(event_type), body)


def parse_structured(body: bytes) -> Event:
    """Structured mode: a JSON envelope with `id`, `type` and `data` or `data_base64`."""
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("json", "structured CloudEvent is not JSON") from exc
    if not isinstance(envelope, dict):
        raise PayloadError("cloudevent", "structured CloudEvent is not an object")
    event_id, event_type = envelope.get("id"), envelope.get("type")
    if not isinstance(event_id, str) or not isinstance(event_type, str):
        raise PayloadError("cloudevent", "structured event without string id and type")
    data: bytes | Any
    if "data_base64" in envelope:
        try:
            data = base64.b64decode(str(envelope["data_base64"]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise PayloadError("cloudevent", "data_base64 is not base64") from exc
    else:
        data = envelope.get("data")
        if isinstance(data, str):
            data = data.encode()
    return Event(event_id, event_type, _half(event_type), data)


def parse_event(headers: Mapping[str, str], body: bytes) -> Event:
    """Either mode, chosen by the content type."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == STRUCTURED:
        return parse_structured(body)
    return parse_binary(headers, body)


class JoinTable:
    """Pending halves by event id; at most `capacity` entries, none older than `ttl`."""

    def __init__(
        self,
        capacity: int,
        ttl: float,
        on_drop: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._on_drop = on_drop
        self._clock = clock
        self._pending: OrderedDict[str, tuple[float, Event]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def expire(self) -> None:
        """Drop halves older than the ttl (oldest first, so stop at the first young one)."""
        cutoff = self._clock() - self.ttl
        while self._pending:
            _, (added, _) = next(iter(self._pending.items()))
            if added > cutoff:
                break
            self._pending.popitem(last=False)
            self._on_drop("unjoined_expired")

    def add(self, event: Event) -> Payload | None:
        """Store a half, or return the joined payload when its partner is waiting."""
        self.expire()
        waiting = self._pending.get(event.id)
        if waiting is not None and waiting[1].half != event.half:
            del self._pending[event.id]
            other = waiting[1]
            request, response = (event, other) if event.half == "request" else (other, event)
            return Payload(request.data, response.data, event.id)
        self._pending[event.id] = (self._clock(), event)
        self._pending.move_to_end(event.id)
        while len(self._pending) > self.capacity:
            self._pending.popitem(last=False)
            self._on_drop("unjoined_evicted")
        return None
