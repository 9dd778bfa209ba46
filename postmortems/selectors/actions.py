"""Reads of the action-items feature, and THE visibility accessor for action items.

Every page, API view, CSV export, email and calendar feed that shows action items goes through
`visible_action_items(user)` / `get_action_item_for(user, pk)` and reads `item.incident_visible`
(annotated by `with_incident_visibility`) before showing anything of the item's incident.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from metrics_link.links import absolute_url
from metrics_link.models import Team

from ..display import display_name
from ..models import ActionItem, Incident, ReminderSent

OPEN_STATUSES = (ActionItem.Status.OPEN, ActionItem.Status.IN_PROGRESS)


# --- visibility ------------------------------------------------------------------------------


def visible_action_items(
    user: User | AnonymousUser, *, team: Team | None = None, mine: bool = False
) -> QuerySet[ActionItem]:
    """Items `user` may see (ARCHITECTURE, "Visibility"); built on Incident.objects.visible_to.

    No incident, or an incident the user can see: yes. A restricted incident the user cannot see:
    only the item's owner and its team's manager (who then see it without the incident's details).
    Soft-deleted items: nobody. `team`: only that team's items; `mine`: only the user's own
    items. Its manager, or the owner, sees them all: no per-row test, which PostgreSQL would
    answer by reading every incident (issue 15).
    """
    qs = ActionItem.objects.alive()
    if user is None or not user.is_authenticated or not user.is_active:
        return qs.none()
    if team is not None:
        qs = qs.filter(team=team)
    if mine:
        qs = qs.filter(owner=user)
    if user.is_superuser or mine or (team is not None and team.manager_id == user.pk):
        return qs
    # A correlated EXISTS per candidate row (issue 15): `incident__in=visible_to(...)` made
    # PostgreSQL read every incident for every list, count and page.
    return qs.filter(
        Q(incident__isnull=True)
        | Incident.objects.visible_exists(user)
        | Q(owner=user)
        | Q(team__manager=user)
    )


def with_incident_visibility(
    qs: QuerySet[ActionItem], user: User | AnonymousUser
) -> QuerySet[ActionItem]:
    """Annotate `incident_visible`: may this reader see the item's incident (title, services,
    people, why node)? Templates, serializers, emails and feeds show incident details only if so."""
    return qs.annotate(
        incident_visible=Exists(
            Incident.objects.visible_to(user).filter(pk=OuterRef("incident_id"))
        )
    )


def mark_incident_visibility(
    items: list[ActionItem], user: User | AnonymousUser
) -> list[ActionItem]:
    """`with_incident_visibility` for a page already fetched: one primary-key query for the shown
    rows' incidents (an annotation on a big list makes PostgreSQL read every incident)."""
    ids = [item.incident_id for item in items if item.incident_id is not None]
    # `or [0]` (no incident has pk 0): the query runs for a page without incidents too, so a
    # page's number of queries does not depend on its rows.
    visible = Incident.objects.visible_to(user).filter(pk__in=ids or [0])
    seen = set(visible.values_list("pk", flat=True))
    for item in items:
        item.incident_visible = item.incident_id in seen  # type: ignore[attr-defined]
    return items


def incident_visible_to(item: ActionItem, user: User | AnonymousUser) -> bool:
    """The same answer for one item already loaded (e.g. an email's recipient)."""
    if item.incident_id is None:
        return False
    return Incident.objects.visible_to(user).filter(pk=item.incident_id).exists()


def get_action_item_for(user: User | AnonymousUser, pk: int | str) -> ActionItem:
    """The item if `user` may see it (annotated with `incident_visible`), else Http404."""
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such action item.") from None
    qs = with_incident_visibility(visible_action_items(user), user)
    item = (
        qs.select_related(
            "owner", "team__manager", "incident", "why_node", "closed_by", "created_by"
        )
        .filter(pk=number)
        .first()
    )
    if item is None:
        raise Http404("No such action item.")
    return item


# --- lists -----------------------------------------------------------------------------------

SORTS = {
    "due": (F("due_on").asc(nulls_last=True), "id"),
    "-due": (F("due_on").desc(nulls_last=True), "-id"),
    "priority": ("priority", F("due_on").asc(nulls_last=True), "id"),
    "-priority": ("-priority", F("due_on").asc(nulls_last=True), "id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "owner": ("owner__username", "id"),
    "status": ("status", "id"),
}

BUCKETS = {
    "this_week": "Due this week",
    "overdue_lt7": "Overdue < 7 days",
    "overdue_7_14": "Overdue 7-14 days",
    "overdue_gt14": "Overdue > 14 days",
}


def _bucket_q(bucket: str, today: date) -> Q:
    open_q = Q(status__in=OPEN_STATUSES)
    if bucket == "this_week":
        end = today + timedelta(days=6 - today.weekday())
        return open_q & Q(due_on__gte=today, due_on__lte=end)
    if bucket == "overdue_lt7":
        return open_q & Q(due_on__lt=today, due_on__gt=today - timedelta(days=7))
    if bucket == "overdue_7_14":
        return open_q & Q(
            due_on__lte=today - timedelta(days=7), due_on__gte=today - timedelta(days=14)
        )
    if bucket == "overdue_gt14":
        return open_q & Q(due_on__lt=today - timedelta(days=14))
    return Q()


@dataclass
class ActionFilters:
    scope: str = "mine"  # mine | teams | all
    team: Team | None = None
    owner: User | None = None
    status: str = "open"  # open | closed | any | one status value
    type: str = ""
    incident: int | None = None
    overdue: bool = False
    due_from: date | None = None
    due_to: date | None = None
    bucket: str = ""
    text: str = ""
    sort: str = "due"
    # By name, as the API takes them: an unknown team or an inactive owner matches nothing.
    team_slug: str = ""
    owner_username: str = ""


def action_item_list(
    user: User,
    filters: ActionFilters,
    *,
    today: date | None = None,
    annotate: bool = True,
) -> tuple[QuerySet[ActionItem], QuerySet[ActionItem]]:
    """The filtered list (without the aging bucket) and the same list narrowed to the bucket.
    `annotate=False`: no `incident_visible` (pages mark their rows with mark_incident_visibility)."""
    today = today or timezone.localdate()
    qs = visible_action_items(user, team=filters.team, mine=filters.scope == "mine")
    if filters.scope == "teams":
        qs = qs.filter(Q(team__manager=user) | Q(team__members=user)).distinct()
    if filters.owner is not None:
        qs = qs.filter(owner=filters.owner)
    if filters.team_slug:
        qs = qs.filter(team__slug=filters.team_slug)
    if filters.owner_username:
        qs = qs.filter(owner__username=filters.owner_username, owner__is_active=True)
    if filters.status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif filters.status == "closed":
        qs = qs.filter(status__in=ActionItem.CLOSED_STATUSES)
    elif filters.status in ActionItem.Status.values:
        qs = qs.filter(status=filters.status)
    if filters.type:
        qs = qs.filter(type=filters.type)
    if filters.incident:
        qs = qs.filter(incident_id=filters.incident)
    if filters.overdue:
        qs = qs.filter(status__in=OPEN_STATUSES, due_on__lt=today)
    if filters.due_from:
        qs = qs.filter(due_on__gte=filters.due_from)
    if filters.due_to:
        qs = qs.filter(due_on__lte=filters.due_to)
    if filters.text:
        for word in filters.text.split()[:8]:
            qs = qs.filter(Q(title__icontains=word) | Q(description__icontains=word))
    base = qs
    if filters.bucket in BUCKETS:
        qs = qs.filter(_bucket_q(filters.bucket, today))
    if annotate:
        qs = with_incident_visibility(qs, user)
    qs = qs.select_related("owner", "team", "incident", "closed_by").order_by(
        *SORTS.get(filters.sort, SORTS["due"])
    )
    return base, qs


def aging_buckets(base: QuerySet[ActionItem], *, today: date | None = None) -> list[dict[str, Any]]:
    """Counts of the current filter's open items per aging bucket, in one query."""
    today = today or timezone.localdate()
    counts = base.order_by().aggregate(
        **{key: Count("pk", filter=_bucket_q(key, today)) for key in BUCKETS}
    )
    return [{"key": k, "label": label, "count": counts[k]} for k, label in BUCKETS.items()]


def days_overdue(item: ActionItem, today: date | None = None) -> int:
    today = today or timezone.localdate()
    if item.is_closed or item.due_on is None or item.due_on >= today:
        return 0
    return (today - item.due_on).days


CSV_HEADER = [
    "id",
    "title",
    "status",
    "priority",
    "type",
    "owner",
    "team",
    "due_on",
    "days_overdue",
    "incident",
    "estimated_hours",
    "actual_hours",
    "created_at",
    "closed_at",
    "url",
]


def csv_rows(items: Iterable[ActionItem], *, today: date | None = None) -> Iterator[list[Any]]:
    """Rows of the CSV export. The incident column names the incident only if the reader may
    see it (`incident_visible`); otherwise it says "restricted incident"."""
    yield CSV_HEADER
    for item in items:
        if item.incident_id is None:
            incident = ""
        elif item.incident is not None and getattr(item, "incident_visible", False):
            incident = f"#{item.incident_id} {item.incident.title}"
        else:
            incident = "restricted incident"
        yield [
            item.pk,
            item.title,
            item.status,
            item.priority,
            item.type,
            item.owner.get_username() if item.owner else "",
            item.team.slug,
            item.due_on.isoformat() if item.due_on else "",
            days_overdue(item, today),
            incident,
            item.estimated_hours if item.estimated_hours is not None else "",
            item.actual_hours if item.actual_hours is not None else "",
            timezone.localtime(item.created_at).isoformat(timespec="seconds"),
            timezone.localtime(item.closed_at).isoformat(timespec="seconds")
            if item.closed_at
            else "",
            absolute_url(item.get_absolute_url()),
        ]


def item_history(item: ActionItem) -> list[dict[str, Any]]:
    records = list(item.history.select_related("history_user").order_by("-history_date")[:200])
    changes = []
    for record in records:
        prev = record.prev_record
        diff = record.diff_against(prev).changes if prev else []
        changes.append({"record": record, "changes": diff, "created": prev is None})
    return changes


# --- incident page section, home panel -------------------------------------------------------


def actions_section(incident: Incident, user: User | AnonymousUser) -> dict[str, Any] | None:
    """Context of the incident page's section: its items and a progress summary."""
    items = list(
        with_incident_visibility(visible_action_items(user).filter(incident=incident), user)
        .select_related("owner", "team")
        .order_by(F("due_on").asc(nulls_last=True), "id")
    )
    total = len(items)
    done = sum(1 for i in items if i.status == ActionItem.Status.DONE)
    wont = sum(1 for i in items if i.status == ActionItem.Status.WONT_DO)
    today = timezone.localdate()
    for item in items:
        item.days_overdue = days_overdue(item, today)  # type: ignore[attr-defined]
    estimated = sum((i.estimated_hours or Decimal(0)) for i in items)
    estimated_done = sum(
        (i.estimated_hours or Decimal(0)) for i in items if i.status == ActionItem.Status.DONE
    )
    return {
        "incident": incident,
        "items": items,
        "total": total,
        "done": done,
        "wont_do": wont,
        "open": total - done - wont,
        "overdue": sum(1 for i in items if days_overdue(i, today)),
        "percent": round(100 * done / (total - wont)) if total - wont else 0,
        "estimated_hours": estimated,
        "estimated_done_hours": estimated_done,
        "actual_hours": sum((i.actual_hours or Decimal(0)) for i in items),
    }


def my_open_items(
    user: User, limit: int | None = None, *, annotate: bool = True
) -> QuerySet[ActionItem]:
    """The user's open items, due soonest first (`annotate=False`: no `incident_visible`)."""
    qs = visible_action_items(user, mine=True).filter(status__in=OPEN_STATUSES)
    if annotate:
        qs = with_incident_visibility(qs, user)
    qs = qs.select_related("team", "incident").order_by(
        F("due_on").asc(nulls_last=True), "priority", "id"
    )
    return qs[:limit] if limit else qs


PANEL_COUNT_CAP = 99


def my_actions_panel(user: User | AnonymousUser) -> dict[str, Any] | None:
    """Home page panel: my open items, due soonest first, overdue marked."""
    if not isinstance(user, User):  # signed out
        return None
    items = mark_incident_visibility(list(my_open_items(user, limit=8, annotate=False)), user)
    today = timezone.localdate()
    for item in items:
        item.days_overdue = days_overdue(item, today)  # type: ignore[attr-defined]
    # Counted up to PANEL_COUNT_CAP + 1 only ("99+"): an owner index scan that stops there.
    mine = visible_action_items(user, mine=True).filter(status__in=OPEN_STATUSES)
    total = mine.order_by()[: PANEL_COUNT_CAP + 1].count()
    return {
        "template": "postmortems/actions/_home_panel.html",
        "column": "main",
        "title": "My action items",
        "items": items,
        "total": min(total, PANEL_COUNT_CAP),
        "total_capped": total > PANEL_COUNT_CAP,
        "today": today,
    }


# --- manager dashboard -----------------------------------------------------------------------


def managed_teams(user: User) -> list[Team]:
    """The teams `user` manages (the tracker's bulk reassign acts on their items)."""
    return list(Team.objects.filter(manager=user).order_by("name"))


def home_team(user: User) -> Team | None:
    """The team whose dashboard "Teams" opens: the first the user manages, else the first they
    belong to, else the first team."""
    return (
        Team.objects.filter(manager=user).order_by("name").first()
        or Team.objects.filter(members=user).order_by("name").first()
        or Team.objects.order_by("name").first()
    )


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


OVERDUE_SHOWN = 50
_NAME_FIELDS = ("username", "first_name", "last_name")


def _weekly_counts(items: QuerySet[ActionItem], week_starts: list[date]) -> dict[str, list[int]]:
    """Opened / closed per week and open at each week's end (local days), in one aggregate."""
    tz = timezone.get_current_timezone()
    bounds = [datetime.combine(w, time.min, tzinfo=tz) for w in week_starts]
    bounds.append(bounds[-1] + timedelta(weeks=1))
    counts = items.order_by().aggregate(
        **{
            f"{kind}{i}": Count("pk", filter=Q(**{f"{field}__gte": lo, f"{field}__lt": hi}))
            for kind, field in (("opened", "created_at"), ("closed", "closed_at"))
            for i, (lo, hi) in enumerate(pairwise(bounds))
        },
        **{
            f"open{i}": Count(
                "pk",
                filter=Q(created_at__lt=hi) & (Q(closed_at__isnull=True) | Q(closed_at__gte=hi)),
            )
            for i, hi in enumerate(bounds[1:])
        },
    )
    weeks = range(len(week_starts))
    return {k: [counts[f"{k}{i}"] for i in weeks] for k in ("opened", "closed", "open")}


def team_dashboard(
    team: Team,
    user: User | AnonymousUser,
    *,
    today: date | None = None,
    weeks: int = 12,
) -> dict[str, Any]:
    """Numbers for the manager view. Aggregates count every item of the team (numbers only, as
    ARCHITECTURE allows for restricted incidents); the overdue list goes through the accessor and
    shows the first OVERDUE_SHOWN by due date, with the exact total the reader may see.

    A constant number of queries whatever the number of items: the weekly aggregate, the cohort
    aggregate, the open items' dates, the overdue page (+ its incidents' visibility), the counts
    per owner (whose sum is the total) and those owners.
    """
    today = today or timezone.localdate()
    tz = timezone.get_current_timezone()
    first_week = _week_start(today) - timedelta(weeks=weeks - 1)
    horizon = datetime.combine(first_week - timedelta(days=180), time.min, tzinfo=tz)
    team_items = ActionItem.objects.alive().filter(team=team)
    week_starts = [first_week + timedelta(weeks=i) for i in range(weeks)]
    weekly = _weekly_counts(
        team_items.filter(
            Q(status__in=OPEN_STATUSES) | Q(closed_at__gte=horizon) | Q(created_at__gte=horizon)
        ),
        week_starts,
    )

    # Closure within 30 days: of the items created 30 to 210 days ago, the share done within 30 days.
    cohort_end = timezone.now() - timedelta(days=30)
    cohort = team_items.filter(
        created_at__lte=cohort_end, created_at__gte=cohort_end - timedelta(days=180)
    ).aggregate(
        size=Count("pk"),
        done=Count(
            "pk",
            filter=Q(
                status=ActionItem.Status.DONE,
                closed_at__isnull=False,
                closed_at__lte=F("created_at") + timedelta(days=30),
            ),
        ),
    )
    closure_rate = round(100 * cohort["done"] / cohort["size"]) if cohort["size"] else None

    now = timezone.now()
    open_rows = list(
        team_items.filter(status__in=OPEN_STATUSES).values_list("created_at", "due_on")
    )
    ages = [(now - created).days for created, _ in open_rows]
    overdue_count = sum(1 for _, due in open_rows if due and due < today)

    visible_overdue = visible_action_items(user, team=team).filter(
        status__in=OPEN_STATUSES, due_on__lt=today
    )
    overdue = mark_incident_visibility(
        list(
            visible_overdue.select_related("owner", "incident").order_by("due_on", "id")[
                :OVERDUE_SHOWN
            ]
        ),
        user,
    )
    for item in overdue:
        item.days_overdue = days_overdue(item, today)  # type: ignore[attr-defined]
        item.age_days = (now - item.created_at).days  # type: ignore[attr-defined]
    names = [f"owner__{f}" for f in _NAME_FIELDS]
    per_owner = list(visible_overdue.order_by().values("owner", *names).annotate(n=Count("pk")))
    by_owner: dict[str, int] = {}
    for row in per_owner:
        owner = row["owner"] and User(**{f: row[f"owner__{f}"] for f in _NAME_FIELDS})
        name = display_name(owner or None, "—")
        by_owner[name] = by_owner.get(name, 0) + row["n"]
    return {
        "weeks": week_starts,
        "opened": weekly["opened"],
        "closed": weekly["closed"],
        "open_at_end": weekly["open"],
        "open_count": len(open_rows),
        "overdue_count": overdue_count,
        "closure_rate": closure_rate,
        "cohort_size": cohort["size"],
        "median_age_days": round(statistics.median(ages)) if ages else None,
        "overdue": overdue,
        "overdue_total": sum(row["n"] for row in per_owner),
        "overdue_by_owner": sorted(by_owner.items(), key=lambda kv: (-kv[1], kv[0])),
    }


def flagged_for_review(user: User | AnonymousUser) -> QuerySet[ActionItem]:
    """Open items overdue 14+ days that the scan flagged (a `flagged` ReminderSent for their
    current due date): what the weekly business review lists. Through the accessor."""
    flagged = ReminderSent.objects.filter(
        action_item=OuterRef("pk"), kind=ReminderSent.Kind.FLAGGED
    )
    return (
        with_incident_visibility(visible_action_items(user), user)
        .filter(status__in=OPEN_STATUSES)
        .filter(Exists(flagged))
        .select_related("owner", "team", "incident")
        .order_by("due_on", "id")
    )


def incident_progress(incident_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Counts per incident (numbers only), for lists that show progress badges."""
    rows = (
        ActionItem.objects.alive()
        .filter(incident_id__in=incident_ids)
        .values("incident_id")
        .annotate(
            total=Count("pk"),
            done=Count("pk", filter=Q(status=ActionItem.Status.DONE)),
            hours=Sum("estimated_hours"),
        )
    )
    return {r["incident_id"]: r for r in rows}
