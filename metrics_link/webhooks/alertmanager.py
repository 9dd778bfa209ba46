"""Prometheus Alertmanager webhooks (payload ``version: "4"``).

Alertmanager does not sign its requests; the receiver is protected with a bearer token set in
Alertmanager's ``http_config`` (``authorization: {credentials: ...}``), checked by :func:`verify`.

One notification carries a group of alerts. Each alert is read on its own: its own ``status``
decides firing/resolved (a resolved alert may still carry the zero ``endsAt``), and it is keyed
on its ``fingerprint`` when present, else on a hash of its label set (old versions send no
fingerprint). ``groupKey`` is opaque and never parsed.

``dedupe_key`` = sha256 hex of ``f"{fingerprint or labels_hash}|{starts_at}|{status}"`` where
``labels_hash`` is the sha256 hex of the labels as compact JSON with sorted keys and
``starts_at`` is the parsed ``startsAt`` in UTC, ``datetime.isoformat()`` (microseconds). A
repeated notification of the same firing alert is therefore a no-op, its resolution is a second
row, and the same alert firing again later (new ``startsAt``) is a new occurrence.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from .types import (
    AlertData,
    PayloadError,
    body_digest,
    get_dict,
    get_list,
    get_str,
    parse_timestamp,
    require_dict,
    require_str,
    sha256_hex,
)

SOURCE = "alertmanager"
SUPPORTED_VERSION = "4"
ZERO_TIME_PREFIX = "0001-01-01"  # Go's zero time.Time, sent as endsAt while an alert fires

_STATUSES = frozenset({"firing", "resolved"})
_SERVICE_LABELS = ("service", "job", "app")


def verify(authorization_header: str | None, token: str) -> bool:
    """True when ``Authorization`` is ``Bearer <token>`` (scheme case-insensitive, constant time).

    An empty configured token never verifies.
    """
    if not token or not authorization_header or not isinstance(authorization_header, str):
        return False
    scheme, _, credentials = authorization_header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials:
        return False
    return hmac.compare_digest(credentials.encode("utf-8"), token.encode("utf-8"))


def delivery_key(body: bytes) -> str:
    """``"sha256:" + hex`` of the raw body: Alertmanager sends no delivery id."""
    return body_digest(body)


def parse(payload: Any) -> list[AlertData]:
    """Every alert of a version 4 notification, in payload order."""
    payload = require_dict(payload, "payload")
    version = payload.get("version")
    if version != SUPPORTED_VERSION:
        raise PayloadError(
            f'version: only Alertmanager webhook version "{SUPPORTED_VERSION}" is supported, '
            f"got {version!r}"
        )
    alerts = get_list(payload, "alerts", "alerts", required=True)
    return [_alert(raw, f"alerts[{index}]") for index, raw in enumerate(alerts)]


def labels_hash(labels: Mapping[str, str]) -> str:
    """sha256 hex of the label set as compact JSON with sorted keys (order-independent)."""
    return sha256_hex(
        json.dumps(dict(labels), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    )


def _alert(raw: Any, field: str) -> AlertData:
    alert = require_dict(raw, field)
    status = require_str(alert, "status", f"{field}.status").strip().lower()
    if status not in _STATUSES:
        raise PayloadError(f"{field}.status: expected firing or resolved, got {status!r}")

    labels = _labels(alert, field)
    name = labels.get("alertname", "").strip()
    if not name:
        raise PayloadError(f"{field}.labels.alertname: missing required label")
    annotations = get_dict(alert, "annotations", f"{field}.annotations", required=False)

    starts_raw = alert.get("startsAt")
    if starts_raw is None:
        raise PayloadError(f"{field}.startsAt: missing required timestamp")
    starts_at = parse_timestamp(starts_raw, f"{field}.startsAt")
    ends_at = None
    ends_raw = alert.get("endsAt")
    if status == "resolved" and ends_raw and not _is_zero_time(ends_raw):
        ends_at = parse_timestamp(ends_raw, f"{field}.endsAt")

    fingerprint = get_str(alert, "fingerprint", f"{field}.fingerprint").strip()
    identity = fingerprint or labels_hash(labels)
    return AlertData(
        source=SOURCE,
        dedupe_key=sha256_hex(f"{identity}|{starts_at.isoformat()}|{status}"),
        service=next((labels[k] for k in _SERVICE_LABELS if labels.get(k, "").strip()), "unknown"),
        name=name,
        # As sent: the store maps it with ALERT_SEVERITY_MAP and says when it did not know it.
        severity=labels.get("severity", "").strip(),
        status=status,
        labels=labels,
        summary=_summary(annotations) or name,
        starts_at=starts_at,
        ends_at=ends_at,
        url=get_str(alert, "generatorURL", f"{field}.generatorURL"),
    )


def _labels(alert: Mapping[str, Any], field: str) -> dict[str, str]:
    raw = get_dict(alert, "labels", f"{field}.labels")
    labels: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise PayloadError(f"{field}.labels.{key}: label values must be strings")
        labels[str(key)] = value
    return labels


def _summary(annotations: Mapping[str, Any]) -> str:
    for key in ("summary", "description", "message"):
        value = annotations.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _is_zero_time(value: Any) -> bool:
    return isinstance(value, str) and value.strip().startswith(ZERO_TIME_PREFIX)
