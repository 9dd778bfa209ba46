"""Reads of the production layer shared by pages, the API and the learning layer.

Service page sections: each feature adds a function (service, user) → {"template", ...} or None.
The learning layer adds the "incidents" section through `SERVICE_PAGE_SECTIONS` at app ready,
since this layer cannot import it.
"""

from __future__ import annotations

from collections.abc import Callable

SERVICE_PAGE_SECTIONS: list[Callable] = []


def service_page_sections(service, user) -> list[dict]:
    sections = []
    for section in SERVICE_PAGE_SECTIONS:
        ctx = section(service, user)
        if ctx is not None:
            sections.append(ctx)
    return sections


# --- alerts ---
# The learning layer adds a function (alert_ids, user) -> {alert_id: [(label, url), ...]} that
# names the incidents each alert belongs to, filtered by what `user` may see (this layer cannot
# import the visibility rule, and must not write a second one).
ALERT_INCIDENT_LINKS: list[Callable] = []


def incident_links_for_alerts(alert_ids, user) -> dict[int, list[tuple[str, str]]]:
    links: dict[int, list[tuple[str, str]]] = {}
    for provider in ALERT_INCIDENT_LINKS:
        for alert_id, items in provider(alert_ids, user).items():
            links.setdefault(alert_id, []).extend(items)
    return links


def alert_list(
    *,
    service: str | None = None,
    source: str | None = None,
    status: str | None = None,
    severity: str | None = None,
    since=None,
    until=None,
):
    from .models import Alert

    qs = Alert.objects.select_related("service").order_by("-starts_at", "-pk")
    if service:
        qs = qs.filter(service__slug=service)
    if source:
        qs = qs.filter(source=source)
    if status:
        qs = qs.filter(status=status)
    if severity:
        qs = qs.filter(severity=severity)
    if since:
        qs = qs.filter(starts_at__gte=since)
    if until:
        qs = qs.filter(starts_at__lt=until)
    return qs
