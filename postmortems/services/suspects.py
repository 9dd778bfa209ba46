"""Writes of the suspects feature: verdicts, "no deploy involved", deploys on the timeline, and the
deploy that mitigated an incident. `connect()` connects the receivers and page sections at app ready."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from metrics_link.models import Deploy
from metrics_link.selectors import (
    DEPLOY_PAGE_SECTIONS,
    SERVICE_PAGE_SECTIONS,
    deploys_in_window,
    with_commits,
)
from metrics_link.signals import deploy_recorded

from .. import permissions as perms
from ..display import display_name
from ..models import Incident, SuspectVerdict, TimelineEntry
from ..models.incidents import Provenance
from ..selectors.suspects import deploy_verdicts_section, service_timeline_section, suspect_window
from . import incidents as incident_services
from .errors import ServiceError
from .incidents import add_timeline_entry

logger = logging.getLogger(__name__)

UNKNOWN_VERDICT = "Choose culprit, contributing or ruled out."
NOT_A_SUSPECT = "This deploy is not among the incident's suspects (production, in its window)."
CULPRIT_STANDS = (
    "A deploy is marked as {verdict}: rule it out before saying no deploy was involved."
)
NOT_THE_INCIDENTS_SERVICE = "Only a deploy of the incident's own services can be its mitigation."
BEFORE_START = "A deploy that finished before the incident started cannot have mitigated it."

VERDICT_WORDS = {
    "culprit": "the culprit",
    "contributing": "contributing",
    "ruled_out": "ruled out",
}


def _label(deploy: Deploy) -> str:
    return f"{deploy.service.slug} {deploy.version or deploy.short_sha}"


@transaction.atomic
def set_verdict(
    *,
    incident: Incident,
    deploy: Deploy,
    verdict: str,
    by: User,
    note: str = "",
    at: datetime | None = None,
) -> SuspectVerdict:
    """Record a responder's verdict on one suspect deploy (one per deploy; a new one replaces it)."""
    perms.require(perms.can_judge_suspects(by, incident), perms.incident_refusal(incident))
    if verdict not in SuspectVerdict.Verdict.values:
        raise ServiceError({"verdict": [UNKNOWN_VERDICT]})
    if not isinstance(note, str) or len(note) > 5000:
        raise ServiceError({"note": ["Keep the note under 5000 characters."]})
    start, end = suspect_window(incident)
    if not (
        deploy.environment in settings.PRODUCTION_ENVIRONMENTS
        and start <= deploy.finished_at <= end
    ):
        raise ServiceError({"deploy": [NOT_A_SUSPECT]})
    now = at or timezone.now()
    note = (note or "").strip()
    existing = (
        SuspectVerdict.objects.select_for_update().filter(incident=incident, deploy=deploy).first()
    )
    if existing and existing.verdict == verdict and existing.note == note:
        return existing
    obj, _ = SuspectVerdict.objects.update_or_create(
        incident=incident,
        deploy=deploy,
        defaults={"verdict": verdict, "note": note, "by": by, "at": now},
    )
    body = f"{display_name(by, 'Someone')} marked deploy **{_label(deploy)}** as {VERDICT_WORDS[verdict]}."
    if note:
        body += f" {note}"
    add_timeline_entry(
        incident=incident,
        kind=TimelineEntry.Kind.VERDICT,
        body=body,
        author=by,
        at=now,
        deploy=deploy,
    )
    if verdict != SuspectVerdict.Verdict.RULED_OUT and incident.no_deploy_involved:
        Incident.objects.filter(pk=incident.pk).update(no_deploy_involved=False)
        incident.no_deploy_involved = False
    return obj


@transaction.atomic
def mark_no_deploy_involved(*, incident: Incident, by: User, value: bool = True) -> Incident:
    """Responders conclude no deploy contributed (or take that back)."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    perms.require(perms.can_judge_suspects(by, incident), perms.incident_refusal(incident))
    if incident.no_deploy_involved == value:
        return incident
    if value:
        standing = (
            SuspectVerdict.objects.filter(incident=incident)
            .exclude(verdict=SuspectVerdict.Verdict.RULED_OUT)
            .values_list("verdict", flat=True)
            .first()
        )
        if standing:
            raise ServiceError(CULPRIT_STANDS.format(verdict=VERDICT_WORDS[standing]))
    incident.no_deploy_involved = value
    incident.save(update_fields=["no_deploy_involved", "updated_at"])
    add_timeline_entry(
        incident=incident,
        kind=TimelineEntry.Kind.VERDICT,
        body=f"{display_name(by, 'Someone')} marked this incident as {'having no deploy involved' if value else 'possibly deploy-related again'}.",
        author=by,
    )
    return incident


@transaction.atomic
def mark_mitigating_deploy(*, incident: Incident, deploy: Deploy, by: User) -> Incident:
    """This deploy (a fix or a rollback) mitigated the incident: `mitigated_at` comes from it."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    perms.require(perms.can_judge_suspects(by, incident), perms.incident_refusal(incident))
    if not incident.services.filter(pk=deploy.service_id).exists():
        raise ServiceError({"deploy": [NOT_THE_INCIDENTS_SERVICE]})
    if deploy.finished_at < incident.started_at:
        raise ServiceError({"deploy": [BEFORE_START]})
    times = {
        "started_at": incident.started_at,
        "detected_at": incident.detected_at,
        "mitigated_at": deploy.finished_at,
        "resolved_at": incident.resolved_at,
    }
    incident_services.validate_times(times)
    incident.mitigated_at = deploy.finished_at
    incident.mitigated_at_source = Provenance.DEPLOY
    incident.mitigated_by_deploy = deploy
    if incident.status == Incident.Status.INVESTIGATING:
        incident.status = Incident.Status.MITIGATED
    incident.save()
    add_timeline_entry(
        incident=incident,
        kind=TimelineEntry.Kind.STATUS,
        body=f"Mitigated by deploy **{_label(deploy)}** ({display_name(by, 'Someone')}).",
        author=by,
        at=deploy.finished_at,
        deploy=deploy,
    )
    return incident


def _deploy_entry(incident: Incident, deploy: Deploy) -> TimelineEntry:
    status = (
        ""
        if deploy.status == Deploy.Status.SUCCESS
        else f" ({deploy.get_status_display().lower()})"
    )
    who = f" by {deploy.deployer}" if deploy.deployer else ""
    n = len(deploy.deploy_commits.all())
    return add_timeline_entry(
        incident=incident,
        kind=TimelineEntry.Kind.DEPLOY,
        body=(
            f"Deploy [{_label(deploy)}]({deploy.get_absolute_url()}) to {deploy.environment}"
            f"{status}{who}: {n} commit{'s' if n != 1 else ''}."
        ),
        at=deploy.finished_at,
        source=TimelineEntry.Source.MACHINE,
        deploy=deploy,
        dedupe_key=f"deploy:{deploy.pk}",
    )


@transaction.atomic
def add_window_deploys_to_timeline(incident_id: int) -> int:
    """The incident's own services' deploys in its window become machine timeline entries, once
    each however often this runs (on opening and when its start moves)."""
    incident = Incident.objects.alive().filter(pk=incident_id).first()
    if incident is None:
        return 0
    start, end = suspect_window(incident)
    deploys = deploys_in_window(start=start, end=end, services=incident.services.all())
    for deploy in deploys:
        _deploy_entry(incident, deploy)
    return len(deploys)


def on_incident_window_changed(sender: object, incident_id: int, **kwargs: Any) -> None:
    add_window_deploys_to_timeline(incident_id)


def on_deploy_recorded(sender: object, deploy_id: int, **kwargs: Any) -> None:
    """A deploy landed: each open incident of its service gets a timeline entry (often the fix)."""
    deploy = with_commits(Deploy.objects.filter(pk=deploy_id)).first()
    if deploy is None or deploy.environment not in settings.PRODUCTION_ENVIRONMENTS:
        return
    with transaction.atomic():
        for incident in Incident.objects.alive().open().filter(services=deploy.service_id):
            _deploy_entry(incident, deploy)


def connect() -> None:
    """Connect this feature's receivers and the service/deploy page sections. Called once at app
    ready (the sections are metrics_link's registries: that layer never imports this one)."""
    deploy_recorded.connect(on_deploy_recorded, dispatch_uid="postmortems.suspects.deploy_recorded")
    incident_services.incident_opened.connect(
        on_incident_window_changed, dispatch_uid="postmortems.suspects.incident_opened"
    )
    incident_services.incident_start_changed.connect(
        on_incident_window_changed, dispatch_uid="postmortems.suspects.incident_start_changed"
    )
    if service_timeline_section not in SERVICE_PAGE_SECTIONS:
        SERVICE_PAGE_SECTIONS.append(service_timeline_section)
    if deploy_verdicts_section not in DEPLOY_PAGE_SECTIONS:
        DEPLOY_PAGE_SECTIONS.append(deploy_verdicts_section)
