"""Reads of the alerts feature on the learning side."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from ..models import Incident, IncidentAlert


def incident_links_for_alerts(
    alert_ids: Iterable[int], user: AbstractBaseUser | AnonymousUser
) -> dict[int, list[tuple[str, str]]]:
    """{alert_id: [(label, url), ...]} for the incidents `user` may see; others stay invisible."""
    links: dict[int, list[tuple[str, str]]] = {}
    rows = (
        IncidentAlert.objects.filter(
            alert_id__in=list(alert_ids), incident__in=Incident.objects.visible_to(user)
        )
        .select_related("incident")
        .order_by("incident_id")
    )
    for link in rows:
        links.setdefault(link.alert_id, []).append(
            (f"#{link.incident_id} {link.incident.title}", link.incident.get_absolute_url())
        )
    return links
