"""Parse a manifest into its typed resource, with errors that name the field and the rule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from modelwarden.api.base import (
    DIGEST_PATTERN,
    DNS_LABEL_PATTERN,
    DNS_SUBDOMAIN_PATTERN,
    DURATION_PATTERN,
    SEMVER_PATTERN,
)
from modelwarden.api.driftpolicy import DriftPolicy
from modelwarden.api.modeldeployment import ModelDeployment
from modelwarden.api.modelversion import ModelVersion

AnyResource = ModelVersion | ModelDeployment | DriftPolicy
KIND_MODELS: dict[str, type[AnyResource]] = {
    "ModelVersion": ModelVersion,
    "ModelDeployment": ModelDeployment,
    "DriftPolicy": DriftPolicy,
}
# What each pattern means, in words, so that errors say the rule rather than a regex.
_PATTERN_WORDS = {
    SEMVER_PATTERN: "a semantic version MAJOR.MINOR.PATCH, e.g. 3.2.1",
    DIGEST_PATTERN: "a digest sha256:<64 lowercase hex>",
    DURATION_PATTERN: "a duration such as 90s, 15m, 1h30m or 7d",
    DNS_LABEL_PATTERN: "a DNS label: lowercase letters, digits and '-'",
    DNS_SUBDOMAIN_PATTERN: "a Kubernetes object name: lowercase letters, digits, '-' and '.'",
}
_RULE_PREFIX = re.compile(r"^Value error, (?:(?P<field>[A-Za-z0-9_.\[\]]+): )?")


class ManifestError(ValueError):
    """A manifest that breaks the API; ``problems`` holds one ``field: rule`` line each."""

    def __init__(self, name: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{name} is invalid:\n  " + "\n  ".join(problems))


def field_path(loc: tuple[int | str, ...]) -> str:
    """``('spec', 'steps', 1, 'setWeight')`` → ``spec.steps[1].setWeight``.

    >>> field_path(("spec", "strategy", "canary", "steps", 1, "setWeight"))
    'spec.strategy.canary.steps[1].setWeight'
    """
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def describe(error: ValidationError) -> list[str]:
    """One ``field: message`` line per problem, with the rule's own field folded into the path."""
    lines = []
    for problem in error.errors():
        path = field_path(tuple(problem["loc"]))
        message = problem["msg"]
        pattern = (problem.get("ctx") or {}).get("pattern")
        if problem["type"] == "string_pattern_mismatch" and pattern in _PATTERN_WORDS:
            message = f"must be {_PATTERN_WORDS[pattern]} (got {problem['input']!r})"
        match = _RULE_PREFIX.match(message)
        if match:
            if match.group("field"):
                path = f"{path}.{match.group('field')}" if path else match.group("field")
            message = message[match.end() :]
        lines.append(f"{path}: {message}" if path else message)
    return lines


def parse_manifest(doc: Mapping[str, Any]) -> AnyResource:
    """The typed resource for ``doc``; raises :class:`ManifestError` naming every bad field."""
    kind = doc.get("kind")
    name = f"{kind}/{doc.get('metadata', {}).get('name', '?')}"
    model = KIND_MODELS.get(str(kind))
    if model is None:
        raise ManifestError(name, [f"kind: must be one of {', '.join(KIND_MODELS)}"])
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise ManifestError(name, describe(exc)) from exc
