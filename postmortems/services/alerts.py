"""Alerts open and join incidents ("Noise is not an incident", ARCHITECTURE).

The production layer sends `alert_received(alert_id, created)` on commit; `react_to_alert` decides:

- a firing alert at or above `ALERT_INCIDENT_THRESHOLD` opens an incident for its service (severity
  from `ALERT_SEVERITY_TO_INCIDENT`), unless an open incident of that service exists: it joins it;
- a firing alert below the threshold joins an open incident of its service, or is only stored;
- a resolved alert of a linked alert says so on the timeline; a resolved alert never opens anything.

Every linked alert adds a machine timeline entry (`alert:<id>`, and `alert:<id>:resolved`), and the
incident's start and detection come from its earliest alert (provenance "alert") unless a person
set them. Safe to run again for the same alert: links and entries are unique.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from metrics_link.models import Alert, Service
from metrics_link.signals import alert_received

from ..models import Incident, IncidentAlert, TimelineEntry
from ..models.incidents import Provenance
from . import incidents as incident_services

logger = logging.getLogger(__name__)

SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


def is_at_threshold(severity: str) -> bool:
    threshold = SEVERITY_ORDER.get(settings.ALERT_INCIDENT_THRESHOLD, 2)
    return SEVERITY_ORDER.get(severity, 0) >= threshold


def incident_severity_for(alert_severity: str) -> str:
    return settings.ALERT_SEVERITY_TO_INCIDENT.get(alert_severity, "sev3")


def _firing_body(alert: Alert) -> str:
    body = f"Alert **{alert.name}** firing ({alert.severity}, {alert.get_source_display()})"
    if alert.summary and alert.summary != alert.name:
        body += f": {alert.summary}"
    if alert.url:
        body += f" — [source]({alert.url})"
    return body


def _resolved_body(alert: Alert) -> str:
    return f"Alert **{alert.name}** resolved."


def _open_incident_of(service: Service) -> Incident | None:
    return (
        Incident.objects.alive()
        .open()
        .filter(services=service)
        .order_by("-started_at", "-pk")
        .first()
    )


def _record_on_timeline(incident: Incident, alert: Alert) -> None:
    incident_services.add_timeline_entry(
        incident=incident,
        kind=TimelineEntry.Kind.ALERT,
        body=_firing_body(alert),
        at=alert.starts_at,
        source=TimelineEntry.Source.MACHINE,
        alert=alert,
        dedupe_key=f"alert:{alert.pk}",
    )
    if alert.status == Alert.Status.RESOLVED:
        incident_services.add_timeline_entry(
            incident=incident,
            kind=TimelineEntry.Kind.ALERT,
            body=_resolved_body(alert),
            at=alert.ends_at or timezone.now(),
            source=TimelineEntry.Source.MACHINE,
            alert=alert,
            dedupe_key=f"alert:{alert.pk}:resolved",
        )


def _move_start_earlier(incident: Incident, alert: Alert) -> None:
    """The first alert sets start and detection; a person's values are never overwritten."""
    changed = []
    if incident.started_at_source == Provenance.ALERT and alert.starts_at < incident.started_at:
        incident.started_at = alert.starts_at
        changed.append("started_at")
    if incident.detected_at_source == Provenance.ALERT and (
        incident.detected_at is None or alert.starts_at < incident.detected_at
    ):
        incident.detected_at = alert.starts_at
        changed.append("detected_at")
    if changed:
        incident.save(update_fields=[*changed, "updated_at"])
        if "started_at" in changed:
            transaction.on_commit(
                lambda: [hook(incident.pk) for hook in incident_services.ON_START_CHANGED]
            )


@transaction.atomic
def react_to_alert(*, alert_id: int) -> Incident | None:
    """Open, join or ignore as the rules say. Returns the incident the alert belongs to, if any."""
    alert = Alert.objects.select_related("service").filter(pk=alert_id).first()
    if alert is None:
        return None
    # One alert at a time per service: two critical alerts processed side by side must not open
    # two incidents (the second waits here, then finds the first one's incident open).
    Service.objects.select_for_update().filter(pk=alert.service_id).first()

    linked = list(
        IncidentAlert.objects.select_related("incident")
        .filter(alert=alert, incident__is_deleted=False)
        .order_by("pk")
    )
    if linked:
        for link in linked:
            _record_on_timeline(link.incident, alert)
        return linked[0].incident

    incident = _open_incident_of(alert.service)
    if incident is not None:
        IncidentAlert.objects.get_or_create(incident=incident, alert=alert)
        _move_start_earlier(incident, alert)
        _record_on_timeline(incident, alert)
        return incident

    if alert.status != Alert.Status.FIRING or not is_at_threshold(alert.severity):
        return None  # noise: stored on the service, not an incident

    now = timezone.now()
    started = min(alert.starts_at, now)
    title = f"{alert.name} on {alert.service.slug}"
    incident = incident_services.open_incident(
        title=title[:200],
        severity=incident_severity_for(alert.severity),
        services=[alert.service],
        impact="" if alert.summary == alert.name else alert.summary[:2000],
        started_at=started,
        started_at_source=Provenance.ALERT,
        detected_at=started,
        detected_at_source=Provenance.ALERT,
        origin=Incident.Origin.ALERT,
    )
    IncidentAlert.objects.create(incident=incident, alert=alert, opened=True)
    _record_on_timeline(incident, alert)
    return incident


def all_alerts_resolved(incident: Incident) -> bool:
    """True when the incident has alerts and every one of them has resolved."""
    statuses = set(
        IncidentAlert.objects.filter(incident=incident).values_list("alert__status", flat=True)
    )
    return bool(statuses) and statuses == {Alert.Status.RESOLVED}


def _on_alert_received(sender, alert_id: int, created: bool = False, **kwargs) -> None:
    react_to_alert(alert_id=alert_id)


def connect() -> None:
    """Register this feature's hooks (signal receivers, close gates, home panels...). Called once at app ready."""
    alert_received.connect(_on_alert_received, dispatch_uid="postmortems.alerts.react")
    from metrics_link import selectors

    from ..selectors.alerts import incident_links_for_alerts

    selectors.ALERT_INCIDENT_LINKS.append(incident_links_for_alerts)


__all__ = ["all_alerts_resolved", "connect", "react_to_alert"]
