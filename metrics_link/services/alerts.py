"""Alerts: store what Alertmanager and PagerDuty say, one row per alert occurrence.

One row per occurrence (an alert group: Alertmanager fingerprint or label set + startsAt,
PagerDuty incident id). Its first notification's dedupe key is the row's `dedupe_key`; a later
notification of the same occurrence is looked up by `group_key`:

- a repeated notification (same dedupe key, or firing again for a stored occurrence) changes nothing;
- a resolved notification turns the stored firing row into a resolved one (status, ends_at);
- a resolved notification with no firing row before it (we missed the firing one) is stored as a
  resolved row.

`alert_received(alert_id, created)` is sent on commit for each row created or changed, never for
a repeat, so the learning layer reacts once per change.

Severities: the source's word (`critical`, `P1`, `high`...) is read through `ALERT_SEVERITY_MAP`
into critical, warning or info; an unknown word, or none, is stored as a warning and the alert
keeps a `severity_note` saying so, shown on the alerts page, in the admin and on its delivery.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Alert, WebhookDelivery
from ..signals import alert_received
from ..webhooks import alertmanager, pagerduty
from ..webhooks.types import AlertData, sha256_hex
from .catalog import get_or_create_service


def alert_group_key(data: AlertData, fingerprint: str = "") -> str:
    """The identity of an alert occurrence across its firing and resolved notifications.

    PagerDuty: the incident id. Alertmanager: the fingerprint (else the label-set hash, as the
    parser does for its dedupe key) and the start time, so the same alert firing again later is
    a new occurrence.
    """
    if data.source == pagerduty.SOURCE:
        return f"pagerduty|{data.labels.get('incident_id', '')}"
    identity = fingerprint or alertmanager.labels_hash(data.labels)
    return "alertmanager|" + sha256_hex(f"{identity}|{data.starts_at.isoformat()}")


UNKNOWN_SEVERITY = "unknown severity '{sent}' stored as {level}"
NO_SEVERITY = "no severity label: stored as {level}"
DEFAULT_LEVEL = Alert.Severity.WARNING


def read_severity(sent: str) -> tuple[str, str]:
    """(level, note): the sent severity through ALERT_SEVERITY_MAP; note is "" when it was known."""
    sent = (sent or "").strip()
    level = settings.ALERT_SEVERITY_MAP.get(sent.lower())
    if level in Alert.Severity.values:
        return level, ""
    if not sent:
        return DEFAULT_LEVEL, NO_SEVERITY.format(level=DEFAULT_LEVEL)
    return DEFAULT_LEVEL, UNKNOWN_SEVERITY.format(sent=sent[:60], level=DEFAULT_LEVEL)


def set_alert_outcome(*, alert_id: int, outcome: str) -> None:
    """Record why an alert opened no incident ("" once it opened or joined one)."""
    Alert.objects.filter(pk=alert_id).exclude(outcome=outcome[:300]).update(outcome=outcome[:300])


def _send_on_commit(alert_id: int, created: bool) -> None:
    # Robust: a failing receiver is logged and does not turn the stored delivery into a failure
    # (the alert is safely stored; the learning layer's reaction is idempotent and can be re-run).
    transaction.on_commit(
        lambda: alert_received.send(sender=Alert, alert_id=alert_id, created=created),
        robust=True,
    )


@transaction.atomic
def record_alert(
    *, data: AlertData, delivery: WebhookDelivery | None = None, group_key: str = ""
) -> tuple[Alert, str]:
    """Upsert one alert. Returns (alert, what) with what in "created", "resolved", "unchanged"."""
    existing = Alert.objects.filter(dedupe_key=data.dedupe_key).first()
    if existing is not None:
        return existing, "unchanged"
    group_key = group_key or alert_group_key(data)
    # Lock the occurrence's row so a firing and a resolved notification processed side by side
    # do not both decide to write.
    stored = (
        Alert.objects.select_for_update()
        .filter(source=data.source, group_key=group_key)
        .order_by("pk")
        .first()
    )
    if stored is not None:
        if data.status == Alert.Status.RESOLVED and stored.status == Alert.Status.FIRING:
            stored.status = Alert.Status.RESOLVED
            stored.ends_at = data.ends_at or timezone.now()
            stored.save(update_fields=["status", "ends_at"])
            _send_on_commit(stored.pk, False)
            return stored, "resolved"
        return stored, "unchanged"  # firing again for a stored occurrence, or a late firing
    service = get_or_create_service(slug=data.service, name=data.service)
    severity, severity_note = read_severity(data.severity)
    try:
        # Two deliveries carrying the same alert race to this insert; the unique dedupe key lets
        # exactly one win and the other returns the winner's row.
        with transaction.atomic():
            alert = Alert.objects.create(
                source=data.source,
                service=service,
                name=data.name[:300],
                severity=severity,
                severity_note=severity_note,
                status=data.status,
                labels=dict(data.labels),
                summary=data.summary,
                url=data.url[:1000],
                starts_at=data.starts_at,
                ends_at=data.ends_at,
                dedupe_key=data.dedupe_key,
                group_key=group_key,
                delivery=delivery,
            )
    except IntegrityError:
        return Alert.objects.get(dedupe_key=data.dedupe_key), "unchanged"
    _send_on_commit(alert.pk, True)
    return alert, "created"


@transaction.atomic
def record_alerts(
    *,
    alerts: Iterable[AlertData],
    delivery: WebhookDelivery | None = None,
    group_keys: Iterable[str] = (),
) -> list[tuple[Alert, str]]:
    """Upsert several alerts (one Alertmanager notification carries a group of them)."""
    keys = list(group_keys)
    return [
        record_alert(data=data, delivery=delivery, group_key=keys[i] if i < len(keys) else "")
        for i, data in enumerate(alerts)
    ]


def process_alertmanager(delivery: WebhookDelivery) -> str:
    payload = json.loads(bytes(delivery.body))
    alerts = alertmanager.parse(payload)
    # The parser validated the payload; its fingerprints tell apart alerts with equal labels.
    fingerprints = [str(raw.get("fingerprint") or "").strip() for raw in payload["alerts"]]
    keys = [alert_group_key(data, fp) for data, fp in zip(alerts, fingerprints, strict=True)]
    results = record_alerts(alerts=alerts, delivery=delivery, group_keys=keys)
    return WebhookDelivery.Status.PROCESSED if results else WebhookDelivery.Status.IGNORED


def process_pagerduty(delivery: WebhookDelivery) -> str:
    _event_id, data = pagerduty.parse(json.loads(bytes(delivery.body)))
    if data is None:  # pagey.ping, incident.annotated...: stored, nothing to do
        return WebhookDelivery.Status.IGNORED
    record_alerts(alerts=[data], delivery=delivery)
    return WebhookDelivery.Status.PROCESSED
