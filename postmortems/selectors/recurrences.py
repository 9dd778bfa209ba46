"""Reads of recurrences: earlier incidents whose fixes a later incident suggests did not work
(candidates), and the incident page's recurrence section."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import F, Max, Window, prefetch_related_objects
from django.db.models.functions import DenseRank

from metrics_link.models import Service

from ..models import ActionItem, Incident, Recurrence, WhyNode
from .actions import incident_progress

Candidate = tuple[Incident, Service, str]
MAX_CANDIDATES = 50


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
    earlier = list(earlier_qs[:MAX_CANDIDATES])
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


def recurrence_candidates_many(incidents: Sequence[Incident]) -> dict[int, list[Candidate]]:
    """`recurrence_candidates` for many incidents at once (the weekly review's), in a fixed
    number of queries: {incident_id: candidates}, the same lists as one call per incident.

    Earlier incidents come per (service, category) pair: the newest MAX_CANDIDATES before the
    earliest of `incidents` (a window function), plus every one from then on. That holds each
    incident's newest MAX_CANDIDATES: an older one is preceded by MAX_CANDIDATES newer ones of
    the same pair, all of which share a service and a category with that incident too."""
    if not incidents:
        return {}
    prefetch_related_objects(list(incidents), "services")
    ids = [i.pk for i in incidents]
    categories: dict[int, set[str]] = defaultdict(set)
    for incident_id, category in (
        WhyNode.objects.alive()
        .filter(incident_id__in=ids)
        .exclude(category="")
        .values_list("incident_id", "category")
    ):
        categories[incident_id].add(category)
    wanted = [i for i in incidents if categories[i.pk] and i.services.all()]
    if not wanted:
        return {i.pk: [] for i in incidents}
    all_services = {s.pk for i in wanted for s in i.services.all()}
    all_categories = set().union(*(categories[i.pk] for i in wanted))
    first = min(i.started_at for i in wanted)
    last = max(i.started_at for i in wanted)
    pairs = (
        WhyNode.objects.alive()
        .filter(
            category__in=all_categories,
            incident__is_deleted=False,  # a join condition: `alive()` is the why node's
            incident__services__in=all_services,
        )
        .order_by()
        .values("incident_id", "category")
        .annotate(service_id=F("incident__services"), started_at=F("incident__started_at"))
    )
    before = pairs.filter(incident__started_at__lt=first).annotate(
        rank=Window(
            DenseRank(),
            partition_by=[F("incident__services"), F("category")],
            order_by=[F("incident__started_at").desc(), F("incident_id").desc()],
        )
    )
    rows = list(before.filter(rank__lte=MAX_CANDIDATES)) + list(
        pairs.filter(incident__started_at__gte=first, incident__started_at__lt=last)
    )
    pool_services: dict[int, set[int]] = defaultdict(set)
    pool_categories: dict[int, set[str]] = defaultdict(set)
    by_pair: dict[tuple[int, str], set[int]] = defaultdict(set)
    started: dict[int, datetime] = {}
    for row in rows:
        pool_services[row["incident_id"]].add(row["service_id"])
        pool_categories[row["incident_id"]].add(row["category"])
        by_pair[(row["service_id"], row["category"])].add(row["incident_id"])
        started[row["incident_id"]] = row["started_at"]
    chosen: dict[int, list[int]] = {}
    for incident in wanted:
        pool: set[int] = set()
        for service in incident.services.all():
            for category in categories[incident.pk]:
                pool |= by_pair.get((service.pk, category), set())
        chosen[incident.pk] = sorted(
            (pk for pk in pool if started[pk] < incident.started_at and pk != incident.pk),
            key=lambda pk: (started[pk], pk),
            reverse=True,
        )[:MAX_CANDIDATES]
    earlier_ids = {pk for pks in chosen.values() for pk in pks}
    done = _corrective_actions_all_done(earlier_ids)
    last_closed = dict(
        ActionItem.objects.alive()
        .filter(incident_id__in=earlier_ids, closed_at__isnull=False)
        .values("incident_id")
        .annotate(last=Max("closed_at"))
        .values_list("incident_id", "last")
        .order_by()
    )
    earlier = Incident.objects.only("id", "title", "started_at", "visibility").in_bulk(earlier_ids)
    out: dict[int, list[Candidate]] = {i.pk: [] for i in incidents}
    for incident in wanted:
        for pk in chosen[incident.pk]:
            closed = last_closed.get(pk)
            if not done.get(pk) or (closed is not None and closed > incident.started_at):
                continue
            service = next(s for s in incident.services.all() if s.pk in pool_services[pk])
            category = sorted(pool_categories[pk] & categories[incident.pk])[0]
            out[incident.pk].append((earlier[pk], service, category))
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
