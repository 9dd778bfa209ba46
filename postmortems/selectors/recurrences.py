"""Reads of recurrences: earlier incidents whose fixes a later incident suggests did not work
(candidates), and the incident page's recurrence section."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from metrics_link.models import Service

from ..models import ActionItem, Incident, Recurrence, WhyNode
from .actions import incident_progress

Candidate = tuple[Incident, Service, str]


def _corrective_actions_all_done(incident_ids: Iterable[int]) -> dict[int, bool]:
    """{incident_id: True} when it has action items and every one is done (wont_do is not)."""
    return {
        incident_id: p["total"] > 0 and p["total"] == p["done"]
        for incident_id, p in incident_progress(incident_ids).items()
    }


def recurrence_candidates(incident: Incident) -> list[Candidate]:
    """Earlier incidents whose cause this one repeats: a shared service AND a shared why-node
    category, where every corrective action of the earlier incident was done (before this one
    started). Returns (earlier, service, category), newest earlier incident first."""
    categories = set(
        incident.why_nodes.alive().exclude(category="").values_list("category", flat=True)
    )
    services = list(incident.services.all())
    if not categories or not services:
        return []
    earlier_qs = (
        Incident.objects.alive()
        .filter(
            started_at__lt=incident.started_at,
            services__in=services,
            why_nodes__category__in=categories,
            why_nodes__is_deleted=False,  # the same live why-node: one join, `alive()` cannot say it
        )
        .exclude(pk=incident.pk)
        .distinct()
        .prefetch_related("services")
        .order_by("-started_at")
    )
    earlier = list(earlier_qs[:50])
    done = _corrective_actions_all_done([e.pk for e in earlier])
    late = set(
        ActionItem.objects.alive()
        .filter(incident_id__in=[e.pk for e in earlier], closed_at__gt=incident.started_at)
        .values_list("incident_id", flat=True)
    )
    live_categories: dict[int, set[str]] = {}
    for incident_id, category in (
        WhyNode.objects.alive()
        .filter(incident_id__in=[e.pk for e in earlier])
        .values_list("incident_id", "category")
    ):
        live_categories.setdefault(incident_id, set()).add(category)
    out = []
    for e in earlier:
        if not done.get(e.pk) or e.pk in late:
            continue
        shared_services = [s for s in e.services.all() if s in services]
        shared_categories = sorted(live_categories.get(e.pk, set()) & categories)
        if shared_services and shared_categories:
            out.append((e, shared_services[0], shared_categories[0]))
    return out


def recurrence_section(
    incident: Incident, user: AbstractBaseUser | AnonymousUser
) -> dict[str, Any] | None:
    """The incident page's card: suggested recurrences to confirm or dismiss, decided ones, and
    on an earlier incident the confirmed recurrences that its fixes did not prevent."""
    visible = Incident.objects.visible_to(user)
    stored = list(
        Recurrence.objects.filter(incident=incident)
        .filter(Incident.objects.visible_exists(user, ref="earlier_id"))
        .select_related("earlier", "service", "decided_by")
        .order_by("-earlier__started_at")
    )
    known = {r.earlier_id for r in stored}
    candidates = [c for c in recurrence_candidates(incident) if c[0].pk not in known]
    # One visibility query for every candidate (not one per candidate).
    seen = set(
        visible.filter(pk__in=[e.pk for e, _, _ in candidates]).values_list("pk", flat=True)
        if candidates
        else []
    )
    suggestions = [
        {"earlier": e, "service": s, "category": c} for e, s, c in candidates if e.pk in seen
    ]
    recurred_as = list(
        Recurrence.objects.filter(earlier=incident, status=Recurrence.Status.CONFIRMED)
        .filter(Incident.objects.visible_exists(user, ref="incident_id"))
        .select_related("incident", "service")
    )
    if not stored and not suggestions and not recurred_as:
        return None
    return {
        "incident": incident,
        "pending": [r for r in stored if r.status == Recurrence.Status.SUGGESTED],
        "decided": [r for r in stored if r.status != Recurrence.Status.SUGGESTED],
        "suggestions": suggestions,
        "recurred_as": recurred_as,
        "own_fixes": list(
            incident.action_items.alive()
            .filter(status=ActionItem.Status.DONE)
            .values_list("title", flat=True)
        )
        if recurred_as
        else [],
        "can_decide": visible.filter(pk=incident.pk).exists(),
    }
