"""The structured audit record: who did what to which object, when, from what to what, and why.

One record per governance action (a stage change, an approval, a halt, a rollback). The keys
are fixed so that a log pipeline can index them without guessing; the object is named by uid
and resourceVersion as well as by name, because a name can be reused after a delete.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from modelwarden.decide.stamps import iso


def audit_record(
    *,
    action: str,
    actor: str,
    obj_kind: str,
    obj_name: str,
    namespace: str,
    uid: str,
    resource_version: str,
    from_: str,
    to: str,
    reason: str,
    now: datetime,
) -> dict[str, Any]:
    """A JSON-serialisable audit record with the stable keys who, what, when, from, to, reason,
    object.

    >>> from datetime import UTC, datetime
    >>> record = audit_record(action="transition", actor="alice", obj_kind="ModelVersion",
    ...     obj_name="fraud-3-2-1", namespace="risk", uid="u-1", resource_version="42",
    ...     from_="Staging", to="Production", reason="gates passed",
    ...     now=datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    >>> list(record)
    ['who', 'what', 'when', 'from', 'to', 'reason', 'object']
    >>> record["when"], record["object"]["resourceVersion"]
    ('2026-11-23T12:00:00Z', '42')
    """
    return {
        "who": actor,
        "what": action,
        "when": iso(now),
        "from": from_,
        "to": to,
        "reason": reason,
        "object": {
            "kind": obj_kind,
            "name": obj_name,
            "namespace": namespace,
            "uid": uid,
            "resourceVersion": resource_version,
        },
    }


def format_audit_line(record: dict[str, Any]) -> str:
    """One line of compact JSON, keys in record order, non-ASCII kept readable.

    >>> format_audit_line({"who": "zoë", "what": "approve"})
    '{"who":"zoë","what":"approve"}'
    """
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
