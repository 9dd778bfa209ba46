"""Reads of incidents and their timelines, always through `Incident.objects.visible_to(user)`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404

from ..models import Incident, TimelineEntry
from ..models.incidents import IncidentQuerySet


def visible_incidents(user: AbstractBaseUser | AnonymousUser) -> IncidentQuerySet:
    return Incident.objects.visible_to(user)


def get_incident_for(
    user: AbstractBaseUser | AnonymousUser, pk: Any, *, for_update: bool = False
) -> Incident:
    """The incident if `user` may see it, else Http404 (the same answer as a missing one)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such incident.") from None
    qs = visible_incidents(user).select_related("commander", "reporter", "duplicate_of")
    qs = qs.prefetch_related("services__team", "responders")
    incident = qs.filter(pk=pk).first()
    if incident is None:
        raise Http404("No such incident.")
    return incident


SORTS = {
    "started": "started_at",
    "-started": "-started_at",
    "severity": "severity",
    "-severity": "-severity",
}


def incident_list(
    user: AbstractBaseUser | AnonymousUser,
    *,
    status: str | list[str] | None = None,
    severity: str | list[str] | None = None,
    service: str | None = None,
    team: str | None = None,
    text: str | None = None,
    since: datetime | None = None,
    sort: str = "-started",
) -> QuerySet[Incident]:
    qs = visible_incidents(user)
    if status:
        qs = qs.filter(status__in=[status] if isinstance(status, str) else status)
    if severity:
        qs = qs.filter(severity__in=[severity] if isinstance(severity, str) else severity)
    if service:
        qs = qs.filter(services__slug=service)
    if team:
        qs = qs.filter(services__team__slug=team)
    if since:
        qs = qs.filter(started_at__gte=since)
    if text:
        for word in text.split()[:8]:
            qs = qs.filter(
                Q(title__icontains=word) | Q(summary__icontains=word) | Q(impact__icontains=word)
            )
    if service or team:
        qs = qs.distinct()
    return (
        qs.select_related("commander")
        .prefetch_related("services")
        .order_by(SORTS.get(sort, "-started_at"), "-id")
    )


def timeline_for(incident: Incident) -> QuerySet[TimelineEntry]:
    return (
        TimelineEntry.objects.alive()
        .filter(incident=incident)
        .select_related("author", "deploy", "alert")
        .order_by("at", "id")
    )


def open_incidents_for(user: AbstractBaseUser | AnonymousUser) -> IncidentQuerySet:
    return (
        visible_incidents(user)
        .open()
        .select_related("commander")
        .prefetch_related("services")
        .order_by("severity", "-started_at")
    )


def recent_timeline_for(
    user: AbstractBaseUser | AnonymousUser, limit: int = 10
) -> QuerySet[TimelineEntry]:
    """The newest entries of incidents the user may see: a backward walk of `timeline_at_id_idx`
    with one incident probe per entry (visible_exists), stopping at `limit`."""
    return (
        TimelineEntry.objects.alive()
        .filter(Incident.objects.visible_exists(user, ref="incident_id"))
        .select_related("incident", "author")
        .order_by("-at", "-id")[:limit]
    )


__all__ = [
    "get_incident_for",
    "incident_list",
    "open_incidents_for",
    "recent_timeline_for",
    "timeline_for",
    "visible_incidents",
]


def timeline_section(incident: Incident, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    """The timeline's entries (the page adds the note form)."""
    return {"incident": incident, "entries": list(timeline_for(incident))}
