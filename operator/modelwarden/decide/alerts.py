"""Alerts from Alertmanager: which slot they are about, how they are kept, when they roll back.

Label contract (Alertmanager webhook, payload version 4): an alert concerns a slot when it
carries both

* ``modelwarden_io_deployment``: the ModelDeployment's name (Prometheus label names cannot
  hold ``.`` or ``/``, hence the underscores for ``modelwarden.io/deployment``), and
* ``namespace``: its namespace (kube-prometheus rules usually keep it from the series).

``alertname`` names the alert and ``severity`` (``critical``/``warning``) rates it; only
``critical`` counts toward an automatic rollback. Alerts without the two slot labels are not
for the operator and are skipped. Resolved notifications are kept like firing ones: a critical
alert that fired counts even if it has resolved since, and because the two notifications of
one alert share ``startsAt`` and fingerprint, they are recorded once.

Records are :class:`~modelwarden.api.modeldeployment.AlertRecord`: ``at`` is ``startsAt`` in
UTC ``YYYY-MM-DDTHH:MM:SSZ`` (so it compares as a string, like every status timestamp), and
``source`` is ``alertmanager/<fingerprint>``, which keeps two alerts of the same name but
different labels apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from modelwarden.api.modeldeployment import AlertRecord
from modelwarden.decide.stamps import iso, parse_time

SLOT_LABEL = "modelwarden_io_deployment"
NAMESPACE_LABEL = "namespace"
SOURCE = "alertmanager"
_SEVERITIES = {"critical": "Critical", "warning": "Warning"}


class AlertPayloadError(ValueError):
    """The body is not an Alertmanager webhook payload (version 4)."""


class RoutedAlert(NamedTuple):
    namespace: str
    slot: str
    record: AlertRecord


def _record(alert: Mapping[str, Any]) -> AlertRecord | None:
    labels = alert.get("labels")
    if not isinstance(labels, Mapping):
        return None
    severity = str(labels.get("severity", ""))
    starts = parse_time(str(alert.get("startsAt", "")))
    fingerprint = str(alert.get("fingerprint", ""))
    return AlertRecord(
        at=iso(starts) if starts else "",
        source=f"{SOURCE}/{fingerprint}" if fingerprint else SOURCE,
        severity=_SEVERITIES.get(severity.lower(), severity),
        name=str(labels.get("alertname", "")),
    )


def parse_webhook(payload: Any) -> list[RoutedAlert]:
    """The alerts of one webhook call that concern a slot (see the label contract).

    >>> payload = {"version": "4", "alerts": [{"status": "firing", "labels": {
    ...     "alertname": "HighErrorRate", "severity": "critical", "namespace": "risk",
    ...     "modelwarden_io_deployment": "fraud"}, "startsAt": "2026-11-23T10:00:00Z",
    ...     "fingerprint": "3f2a"}]}
    >>> parse_webhook(payload)[0].record.source
    'alertmanager/3f2a'
    """
    if not isinstance(payload, Mapping) or not isinstance(payload.get("alerts"), list):
        raise AlertPayloadError("not an Alertmanager webhook payload: no alerts list")
    if str(payload.get("version", "")) != "4":
        raise AlertPayloadError(f"unsupported webhook version {payload.get('version')!r}, want 4")
    routed = []
    for alert in payload["alerts"]:
        if not isinstance(alert, Mapping):
            continue
        record = _record(alert)
        labels = alert.get("labels") or {}
        slot, namespace = labels.get(SLOT_LABEL), labels.get(NAMESPACE_LABEL)
        if record is not None and slot and namespace:
            routed.append(RoutedAlert(str(namespace), str(slot), record))
    return routed


def _key(record: AlertRecord) -> tuple[str, str, str]:
    return record.source, record.name, record.at


def record_alerts(
    existing: tuple[AlertRecord, ...],
    new: Iterable[AlertRecord],
    now: datetime,
    limit: int = 50,
) -> tuple[AlertRecord, ...]:
    """``existing`` plus the ``new`` alerts not yet recorded, oldest first, at most ``limit``.

    An alert without a readable ``startsAt`` is stamped ``now`` (when it was received).
    The bound keeps the status object small; Events and metrics keep the full history.
    """
    seen = {_key(record) for record in existing}
    merged = list(existing)
    for received in new:
        record = received if received.at else received.model_copy(update={"at": iso(now)})
        if _key(record) not in seen:
            seen.add(_key(record))
            merged.append(record)
    merged.sort(key=lambda record: record.at)
    return tuple(merged[-limit:]) if limit > 0 else ()


def should_roll_back(
    alerts: tuple[AlertRecord, ...], count: int, window_seconds: float, now: datetime
) -> bool:
    """Whether at least ``count`` critical alerts started within the last ``window_seconds``.

    Alerts dated after ``now`` count too: Alertmanager's clock may run ahead of ours, and a
    skew must not hide an alert from the rollback rule.
    """
    since = now - timedelta(seconds=window_seconds)
    recent = 0
    for alert in alerts:
        at = parse_time(alert.at)
        if alert.severity.lower() == "critical" and at is not None and at >= since:
            recent += 1
    return recent >= count
