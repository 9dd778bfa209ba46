"""Alerts open, join and mitigate incidents ("Noise is not an incident", ARCHITECTURE).

The production layer sends `alert_received(alert_id, created)` on commit; `react_to_alert` decides:

- the incident an alert joins is `Incident.objects.joinable_for(service, at)`: one of its service
  that is investigating, or mitigated less than `ALERT_REJOIN_MINUTES` before the alert started;
- a firing alert that joins a mitigated incident moves it back to investigating when it is the same
  alert firing again (flapping) or is at the threshold; a timeline entry says so;
- with nothing to join, a firing alert at or above `ALERT_INCIDENT_THRESHOLD` opens an incident for
  its service (severity from `ALERT_SEVERITY_TO_INCIDENT`); anything else is only stored, and the
  alert keeps why it opened nothing (`Alert.outcome`, shown on the alerts page and its delivery);
- when every alert of an investigating incident has resolved, the incident becomes mitigated with
  `mitigated_at` from the last alert (provenance "alert") unless a person set it; a timeline entry
  says so. Nothing ever resolves an incident automatically.

Every linked alert adds a machine timeline entry (`alert:<id>`, and `alert:<id>:resolved`), and the
incident's start and detection come from its earliest alert (provenance "alert") unless a person
set them. Safe to run again for the same alert: links and entries are unique, a status moves once.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from metrics_link.models import Alert, Service
from metrics_link.selectors import ALERT_INCIDENT_LINKS
from metrics_link.services.alerts import set_alert_outcome
from metrics_link.signals import alert_received

from ..models import Incident, IncidentAlert, TimelineEntry
from ..models.incidents import Provenance
from ..selectors.alerts import incident_links_for_alerts
from . import incidents as incident_services
from .errors import ServiceError

logger = logging.getLogger(__name__)

SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}

BELOW_THRESHOLD = "severity {severity} is below the threshold '{threshold}'"
NOTHING_TO_JOIN = "no incident of {service} was open to join"
ARRIVED_RESOLVED = "it arrived already resolved"
FLAPPED = (
    "Alert **{name}** fired again {minutes} min after the mitigation (rejoin window {window} min)."
)
ALL_RESOLVED = "All {count} alert{s} of this incident resolved."
MITIGATED_BY_ALERTS = (
    " Mitigation time taken from the last alert. Resolve the incident when users are no longer "
    "affected: nothing resolves it automatically."
)
MITIGATION_KEPT = " The mitigation time a person set is kept."


def is_at_threshold(severity: str) -> bool:
    threshold = SEVERITY_ORDER.get(settings.ALERT_INCIDENT_THRESHOLD, 2)
    return SEVERITY_ORDER.get(severity, 0) >= threshold


def incident_severity_for(alert_severity: str) -> str:
    return settings.ALERT_SEVERITY_TO_INCIDENT.get(alert_severity, "sev3")


def _severity_words(alert: Alert) -> str:
    """'warning', or 'minor' (warning) when the source used another known word for it."""
    sent = alert.sent_severity
    if alert.severity_note or not sent or sent.lower() == alert.severity:
        return f"'{alert.severity}'"
    return f"'{sent}' ({alert.severity})"


def below_threshold_reason(alert: Alert) -> str:
    """'Opened no incident: severity 'warning' is below the threshold 'critical' and ...'."""
    below = BELOW_THRESHOLD.format(
        severity=_severity_words(alert), threshold=settings.ALERT_INCIDENT_THRESHOLD
    )
    return f"Opened no incident: {below} and {NOTHING_TO_JOIN.format(service=alert.service.slug)}."


def why_nothing_opened(alert: Alert) -> str:
    """The sentence an alert keeps when it opens no incident; "" when it should open one."""
    if alert.status != Alert.Status.FIRING:
        nothing = NOTHING_TO_JOIN.format(service=alert.service.slug)
        return f"Opened no incident: {ARRIVED_RESOLVED} and {nothing}."
    if not is_at_threshold(alert.severity):
        return below_threshold_reason(alert)
    return ""


def _firing_body(alert: Alert) -> str:
    body = f"Alert **{alert.name}** firing ({alert.severity}, {alert.get_source_display()})"
    if alert.summary and alert.summary != alert.name:
        body += f": {alert.summary}"
    if alert.url:
        body += f" — [source]({alert.url})"
    return body


def _resolved_body(alert: Alert) -> str:
    return f"Alert **{alert.name}** resolved."


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
            incident_services.announce_start_changed(incident.pk)


def _reopen_on_flap(incident: Incident, alert: Alert) -> Incident:
    """A firing alert joined a mitigated incident: when it is the same alert again (flapping) or
    one at the threshold, the problem is back and the incident is investigated again."""
    same_alert = (
        IncidentAlert.objects.filter(incident=incident, alert__name=alert.name)
        .exclude(alert=alert)
        .exists()
    )
    if not (same_alert or is_at_threshold(alert.severity)):
        return incident  # a minor alert joins quietly; the mitigation stands
    mitigated_at = incident.mitigated_at or alert.starts_at
    minutes = max(0, int((alert.starts_at - mitigated_at).total_seconds() // 60))
    incident = incident_services.change_status(
        incident=incident,
        to=Incident.Status.INVESTIGATING,
        by=None,
        at=min(max(alert.starts_at, mitigated_at), timezone.now()),
        note=FLAPPED.format(name=alert.name, minutes=minutes, window=settings.ALERT_REJOIN_MINUTES),
    )
    if incident.mitigated_at_source == Provenance.ALERT:
        # The alerts' mitigation did not hold; the next "all resolved" sets a new one.
        incident.mitigated_at = None
        incident.save(update_fields=["mitigated_at", "updated_at"])
    return incident


def mitigate_when_all_resolved(incident: Incident) -> Incident:
    """Investigating, with alerts, every one resolved → mitigated, its time from the last alert
    (provenance "alert") unless a person set one. Never resolves. A second run changes nothing."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.is_deleted or incident.status != Incident.Status.INVESTIGATING:
        return incident
    alerts = list(Alert.objects.filter(incident_links__incident=incident))
    if not alerts or any(a.status != Alert.Status.RESOLVED for a in alerts):
        return incident
    now = timezone.now()
    note = ALL_RESOLVED.format(count=len(alerts), s="" if len(alerts) == 1 else "s")
    person_set = incident.mitigated_at is not None and (
        incident.mitigated_at_source != Provenance.ALERT
    )
    try:
        with transaction.atomic():
            if person_set:
                note += MITIGATION_KEPT
            else:
                last = max(a.ends_at or now for a in alerts)
                incident.mitigated_at = min(max(last, incident.started_at), now)
                incident.mitigated_at_source = Provenance.ALERT
                incident.save(update_fields=["mitigated_at", "mitigated_at_source", "updated_at"])
                note += MITIGATED_BY_ALERTS
            return incident_services.change_status(
                incident=incident,
                to=Incident.Status.MITIGATED,
                by=None,
                at=incident.mitigated_at if not person_set else now,
                note=note,
            )
    except ServiceError as exc:  # e.g. a resolution time a person set before the last alert
        logger.warning("incident %s not mitigated by its alerts: %s", incident.pk, exc)
        return Incident.objects.get(pk=incident.pk)


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
        .filter(alert=alert, incident__in=Incident.objects.alive())
        .order_by("pk")
    )
    if linked:
        for link in linked:
            _record_on_timeline(link.incident, alert)
            if alert.status == Alert.Status.RESOLVED:
                mitigate_when_all_resolved(link.incident)
        return linked[0].incident

    incident = Incident.objects.joinable_for(alert.service, alert.starts_at).first()
    if incident is not None:
        IncidentAlert.objects.get_or_create(incident=incident, alert=alert)
        set_alert_outcome(alert_id=alert.pk, outcome="")
        _move_start_earlier(incident, alert)
        _record_on_timeline(incident, alert)
        if alert.status == Alert.Status.RESOLVED:
            return mitigate_when_all_resolved(incident)
        if incident.status == Incident.Status.MITIGATED:
            return _reopen_on_flap(incident, alert)
        return incident

    reason = why_nothing_opened(alert)
    if reason:
        # A stored warning that now resolves keeps the reason it gave when it fired.
        if not (alert.status == Alert.Status.RESOLVED and alert.outcome):
            set_alert_outcome(alert_id=alert.pk, outcome=reason)
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
    set_alert_outcome(alert_id=alert.pk, outcome="")
    _record_on_timeline(incident, alert)
    return incident


def _on_alert_received(sender: object, alert_id: int, created: bool = False, **kwargs: Any) -> None:
    react_to_alert(alert_id=alert_id)


def connect() -> None:
    """Register this feature's hooks (signal receivers, close gates, home panels...). Called once at app ready."""
    alert_received.connect(_on_alert_received, dispatch_uid="postmortems.alerts.react")
    if incident_links_for_alerts not in ALERT_INCIDENT_LINKS:
        ALERT_INCIDENT_LINKS.append(incident_links_for_alerts)


__all__ = ["connect", "mitigate_when_all_resolved", "react_to_alert", "why_nothing_opened"]
