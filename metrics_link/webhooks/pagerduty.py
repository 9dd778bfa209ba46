"""PagerDuty Webhooks v3: ``X-PagerDuty-Signature`` check and incident event parsing.

Signature: ``v1=<hex HMAC-SHA256 of the raw body>``, keyed with the subscription's secret. While a
secret is being rotated the header lists several comma-separated ``v1=`` values; the request is
accepted if any of them matches any configured secret.

Two levels of de-duplication:

* ``event.id`` (returned first by :func:`parse`) identifies a delivery; the caller stores it so
  that a redelivered event is a no-op.
* ``AlertData.dedupe_key`` = sha256 hex of ``f"pagerduty|{incident_id}|{status}"`` with status
  ``firing`` or ``resolved``. A redelivery (even under a fresh event id) maps to the same key,
  the triggered and resolved events of one incident are two rows, and ``incident.acknowledged``
  deliberately collapses onto the triggered row: acknowledging does not end the alert and must
  not open a second one. PagerDuty never reuses incident ids, so the incident id alone
  identifies the occurrence (no start time needed, unlike Alertmanager).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .types import (
    AlertData,
    PayloadError,
    get_dict,
    get_str,
    parse_timestamp,
    require_dict,
    require_id,
    require_str,
    sha256_hex,
)

SOURCE = "pagerduty"
SIGNATURE_HEADER = "X-PagerDuty-Signature"

_SIGNATURE_RE = re.compile(r"^v1=([0-9a-fA-F]{64})$")
# event_type -> AlertData.status; every other event type is stored and ignored.
_EVENT_STATUS = {
    "incident.triggered": "firing",
    "incident.acknowledged": "firing",
    "incident.resolved": "resolved",
}
_URGENCY_SEVERITY = {"high": "critical", "low": "warning"}


def verify(body: bytes, signature_header: str | None, secrets: Sequence[str]) -> bool:
    """True when any ``v1=`` signature in the header matches any non-empty secret.

    Malformed entries in the header are skipped; empty secrets never verify. Every comparison
    uses :func:`hmac.compare_digest`.
    """
    if not signature_header or not isinstance(signature_header, str):
        return False
    if isinstance(secrets, str):  # a lone secret is also a Sequence[str], of characters
        secrets = [secrets]
    keys = [secret.encode("utf-8") for secret in secrets if isinstance(secret, str) and secret]
    if not keys:
        return False
    offered = [
        match[1].lower()
        for part in signature_header.split(",")
        if (match := _SIGNATURE_RE.match(part.strip()))
    ]
    if not offered:
        return False
    raw = bytes(body)
    expected = [hmac.new(key, raw, hashlib.sha256).hexdigest() for key in keys]
    matched = False
    for candidate in offered:
        for digest in expected:
            # No early exit: the time taken does not depend on which pair matched.
            matched |= hmac.compare_digest(digest, candidate)
    return matched


def sign(body: bytes, secret: str) -> str:
    """One ``v1=`` signature value as PagerDuty would send it (tests, local tools)."""
    return "v1=" + hmac.new(secret.encode("utf-8"), bytes(body), hashlib.sha256).hexdigest()


def parse(payload: Any) -> tuple[str, AlertData | None]:
    """``(event_id, alert)``; ``alert`` is None for event types that are stored but ignored.

    ``incident.triggered`` and ``incident.acknowledged`` are firing, ``incident.resolved`` is
    resolved (``ends_at`` = ``occurred_at``). ``starts_at`` is ``data.created_at`` when the
    payload has it, else ``occurred_at``. Optional fields (``assignees``, ``priority``,
    ``conference_bridge``, ``resolve_reason``, ``client``) may be empty or null.
    """
    payload = require_dict(payload, "payload")
    event = get_dict(payload, "event", "event")
    event_id = require_id(event, "id", "event.id")
    event_type = require_str(event, "event_type", "event.event_type").strip()
    status = _EVENT_STATUS.get(event_type)
    if status is None:
        return event_id, None

    data = get_dict(event, "data", "event.data")
    occurred_raw = event.get("occurred_at")
    if occurred_raw is None:
        raise PayloadError("event.occurred_at: missing required timestamp")
    occurred_at = parse_timestamp(occurred_raw, "event.occurred_at")
    created_raw = data.get("created_at")
    starts_at = (
        parse_timestamp(created_raw, "event.data.created_at") if created_raw else occurred_at
    )

    incident_id = require_id(data, "id", "event.data.id")
    service = get_dict(data, "service", "event.data.service")
    title = require_str(data, "title", "event.data.title").strip()
    urgency = get_str(data, "urgency", "event.data.urgency").strip().lower()
    alert = AlertData(
        source=SOURCE,
        dedupe_key=sha256_hex(f"pagerduty|{incident_id}|{status}"),
        service=require_str(service, "summary", "event.data.service.summary"),
        name=title,
        severity=_URGENCY_SEVERITY.get(urgency, "warning"),
        status=status,
        labels=_labels(data, service, incident_id, urgency),
        summary=title,
        starts_at=starts_at,
        ends_at=occurred_at if status == "resolved" else None,
        url=get_str(data, "html_url", "event.data.html_url"),
    )
    return event_id, alert


def _labels(
    data: Mapping[str, Any], service: Mapping[str, Any], incident_id: str, urgency: str
) -> dict[str, str]:
    """A few identifiers worth filtering on; absent or null fields are left out."""
    labels = {"incident_id": incident_id}
    number = data.get("number")
    if isinstance(number, int) and not isinstance(number, bool):
        labels["incident_number"] = str(number)
    if isinstance(service.get("id"), str) and service["id"]:
        labels["service_id"] = service["id"]
    if urgency:
        labels["urgency"] = urgency
    priority = data.get("priority")
    if isinstance(priority, dict) and isinstance(priority.get("summary"), str):
        labels["priority"] = priority["summary"]
    return labels
