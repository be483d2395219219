"""Shared building blocks of the typed API: the base model, CEL rules and common field types.

The pydantic models are the single source of truth for the CRDs. A cross-field rule is written
once, as a :class:`CelRule`, and serves twice: its CEL expression goes into the CRD's
``x-kubernetes-validations`` (so the API server rejects bad manifests at admission), and its
Python predicate runs in pydantic (so the CLI, the tests and the operator reject the same
manifests with the same message before anything reaches a cluster).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

GROUP = "modelwarden.io"
VERSION = "v1alpha1"
API_VERSION: Final = "modelwarden.io/v1alpha1"

DURATION_PATTERN = r"^([0-9]+(ms|s|m|h|d))+$"
DIGEST_PATTERN = r"^sha256:[a-f0-9]{64}$"
SEMVER_PATTERN = (
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
)
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

# Strings are bounded so that the API server can estimate the cost of every CEL rule.
Name = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)]
ObjectName = Annotated[
    str, StringConstraints(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)
]
ShortText = Annotated[str, StringConstraints(max_length=256)]
LongText = Annotated[str, StringConstraints(max_length=8192)]
Digest = Annotated[str, StringConstraints(max_length=71, pattern=DIGEST_PATTERN)]
Duration = Annotated[str, StringConstraints(max_length=32, pattern=DURATION_PATTERN)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Percent = Annotated[int, Field(ge=0, le=100)]
Severity = Literal["Warning", "Critical"]

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"([0-9]+)(ms|s|m|h|d)")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``90s``, ``15m``, ``1h30m`` or ``7d``.

    >>> parse_duration("1h30m")
    5400.0
    >>> parse_duration("250ms")
    0.25
    """
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"{text!r} is not a duration such as 90s, 15m, 1h30m or 7d")
    return sum(int(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART.findall(text))


@dataclass(frozen=True)
class CelRule:
    """A cross-field rule, enforced by the API server (CEL) and by pydantic (``check``).

    ``field`` is the path, relative to the object that carries the rule, of the field the
    message is about; it becomes the CEL ``fieldPath`` so the API server's error names it.
    ``check`` is ``None`` only for transition rules (they need the old object, which only the
    API server has).
    """

    rule: str
    message: str
    field: str = ""
    check: Callable[[Any], bool] | None = None

    def to_crd(self) -> dict[str, str]:
        """The ``x-kubernetes-validations`` entry for this rule."""
        entry = {"rule": self.rule, "message": self.message}
        if self.field:
            entry["fieldPath"] = self.field
        return entry


class ApiModel(BaseModel):
    """Base of every API object: camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_attribute_docstrings=True,
    )

    cel_rules: ClassVar[tuple[CelRule, ...]] = ()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Attach this class's CEL rules to its schema, for the CRD generator."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        if cls.cel_rules:
            schema["x-kubernetes-validations"] = [rule.to_crd() for rule in cls.cel_rules]
        return schema

    @model_validator(mode="after")
    def _check_cel_rules(self) -> ApiModel:
        for rule in type(self).cel_rules:
            if rule.check is not None and not rule.check(self):
                where = rule.field.lstrip(".")
                raise ValueError(f"{where}: {rule.message}" if where else rule.message)
        return self


class StatusModel(BaseModel):
    """Base of status objects: camelCase, lenient on read so an older operator never chokes."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        use_attribute_docstrings=True,
    )


class Condition(StatusModel):
    """A standard Kubernetes condition, usable with ``kubectl wait --for=condition=…``."""

    type: Annotated[str, StringConstraints(max_length=64)]
    status: Literal["True", "False", "Unknown"]
    reason: Annotated[str, StringConstraints(max_length=128)] = ""
    message: Annotated[str, StringConstraints(max_length=1024)] = ""
    last_transition_time: Annotated[str, StringConstraints(max_length=64)] = ""
    observed_generation: int | None = None


class Resource(BaseModel):
    """Envelope shared by the three custom resources."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    api_version: Literal["modelwarden.io/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    metadata: dict[str, Any] = Field(default_factory=dict)
