"""Reads of incidents and their timelines, always through `Incident.objects.visible_to(user)`."""

from __future__ import annotations

from dataclasses import dataclass
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


# --- the incident list's pages (issue 15: 100k incidents) -----------------------------------------
# Page numbers walk an OFFSET, which reads every row before the page: they serve the first
# PAGE_NUMBERS_UP_TO pages (old links); "Older"/"Newer" continue from the last/first row shown by
# (sort value, id) — keyset pagination, the same cost at any depth. The count is exact up to
# COUNT_CAP ("1,000+" beyond): it never reads every visible incident.

LIST_PAGE_SIZE = 25
COUNT_CAP = 1_000
PAGE_NUMBERS_UP_TO = COUNT_CAP // LIST_PAGE_SIZE


@dataclass
class IncidentPage:
    incidents: list[Incident]
    count: int  # exact up to COUNT_CAP
    count_capped: bool
    number: int | None  # the page number when reached by number (or the first page)
    newer: str = ""  # `before` cursor of the page before this one ("" when this is the first)
    older: str = ""  # `after` cursor of the page after this one ("" when this is the last)
    newer_page: int | None = None  # page-number mode: link "Newer" as ?page=N
    is_last: bool = False


def _sort_field(sort: str) -> tuple[str, bool]:
    """The list's first order column and whether it runs descending (the tie-break is -id)."""
    ordering = SORTS.get(sort, "-started_at")
    return ordering.lstrip("-"), ordering.startswith("-")


def _cursor(incident: Incident, field: str) -> str:
    value = getattr(incident, field)
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return f"{text}~{incident.pk}"


def _parse_cursor(raw: str, field: str) -> tuple[Any, int] | None:
    value, sep, pk = raw.rpartition("~")
    if not sep or not pk.isascii() or not pk.isdigit() or len(pk) > 18 or not value:
        return None
    if field == "started_at":
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
        if when.tzinfo is None:
            return None
        return when, int(pk)
    return value[:32], int(pk)


def _beyond(field: str, descending: bool, value: Any, pk: int, *, forward: bool) -> Q:
    """Rows after (forward) or before the row (value, pk) in the list's order (field, -id)."""
    later_value = "lt" if descending == forward else "gt"
    # The bound alone first (`started_at <= t`): PostgreSQL uses it as the index condition, so
    # the scan starts at the cursor instead of filtering every row before it.
    bound = Q(**{f"{field}__{later_value}e": value})
    return bound & (
        Q(**{f"{field}__{later_value}": value})
        | Q(**{field: value, "pk__lt" if forward else "pk__gt": pk})
    )


def incident_page(
    qs: QuerySet[Incident],
    *,
    sort: str = "-started",
    page: str | None = None,
    after: str | None = None,
    before: str | None = None,
    last: bool = False,
) -> IncidentPage:
    """One page of `incident_list(...)` (ordered by `sort`, then -id): by `after`/`before`
    cursor, the oldest page (`last`), or by page number up to PAGE_NUMBERS_UP_TO (a deeper or
    malformed number: an OFFSET read once, as old links had it; past the end, the last page)."""
    field, descending = _sort_field(sort)
    size = LIST_PAGE_SIZE
    seen = qs[: COUNT_CAP + 1].count()  # kept in the list's order: an index walk that stops
    count, capped = min(seen, COUNT_CAP), seen > COUNT_CAP
    reverse = [f"{'' if descending else '-'}{field}", "id"]
    after_key = _parse_cursor(after, field) if after else None
    before_key = _parse_cursor(before, field) if before else None
    number: int | None = None
    if after_key:
        rows = list(qs.filter(_beyond(field, descending, *after_key, forward=True))[: size + 1])
        more_older, more_newer = len(rows) > size, True
        rows = rows[:size]
    elif before_key or last:
        back = qs.order_by(*reverse)
        if before_key:
            back = back.filter(_beyond(field, descending, *before_key, forward=False))
        rows = list(back[: size + 1])
        more_newer, more_older = len(rows) > size, bool(before_key)
        rows = rows[:size][::-1]
    else:
        text = (page or "1").strip()
        number = int(text) if text.isascii() and text.isdigit() and len(text) < 9 else 1
        number = max(1, number)
        offset = (number - 1) * size
        rows = list(qs[offset : offset + size + 1])
        if not rows and number > 1:
            return incident_page(qs, sort=sort, last=True)
        more_older, more_newer = len(rows) > size, number > 1
        rows = rows[:size]
    result = IncidentPage(
        incidents=rows, count=count, count_capped=capped, number=number, is_last=not more_older
    )
    if rows and more_older:
        result.older = _cursor(rows[-1], field)
    if rows and more_newer:
        if number is not None and number <= PAGE_NUMBERS_UP_TO:
            result.newer_page = number - 1
        else:
            result.newer = _cursor(rows[0], field)
    return result


def timeline_for(incident: Incident) -> QuerySet[TimelineEntry]:
    return (
        TimelineEntry.objects.alive()
        .filter(incident=incident)
        .select_related("author", "deploy")
        .prefetch_related("alert")  # by pk: a join made PostgreSQL hash all 150k alerts
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
    "IncidentPage",
    "get_incident_for",
    "incident_list",
    "incident_page",
    "open_incidents_for",
    "recent_timeline_for",
    "timeline_for",
    "visible_incidents",
]


def timeline_section(incident: Incident, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    """The timeline's entries (the page adds the note form)."""
    return {"incident": incident, "entries": list(timeline_for(incident))}
