"""The weekly review's follow-up figures: action items by team, whether fixes prevented
recurrence, running experiments and the same week in past years.

JSON-ready data like selectors/weekly.py; titles and links only for incidents in `visible` (the
weekly review passes `Incident.objects.visible_to_all_staff()`), counts for the others.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from .. import reviews_metrics as rm
from ..display import display_name
from ..models import ActionItem, Experiment, Incident, Recurrence, ReminderSent
from ..models.incidents import IncidentQuerySet
from .documents import published_postmortem_urls
from .weekly import TREND_WEEKS, Figures, real_incidents, week_bounds

PAST_YEARS = 3
OPEN_ACTION = (ActionItem.Status.OPEN, ActionItem.Status.IN_PROGRESS)
EMPTY_TEAM = {"opened": 0, "closed": 0, "overdue": 0, "flagged": 0}
FLAGGED_SHOWN = 100  # flagged items listed in the snapshot; the rest are counted


def actions_section(visible: IncidentQuerySet, start: datetime, end: datetime) -> Figures:
    """Opened, closed, overdue and flagged (+14 days) action items by team, as of the week's end.

    An item counts as flagged when the reminders sent it to the review (ReminderSent "flagged")
    or when it is 14 days past due at the week's end, so the review does not depend on the beat
    having run. Items of incidents outside `visible` are listed without their title/owner."""
    last_day = (end - timedelta(days=1)).date()
    alive = ActionItem.objects.alive()
    teams: dict[str, dict[str, int]] = {}

    def bump(qs: QuerySet[ActionItem], key: str) -> None:
        for row in qs.values("team__name").annotate(n=Count("id")):
            teams.setdefault(row["team__name"], dict(EMPTY_TEAM))[key] = row["n"]

    flagged_q = Q(due_on__lte=last_day - timedelta(days=14)) | Q(
        Exists(
            ReminderSent.objects.filter(
                action_item=OuterRef("pk"), kind=ReminderSent.Kind.FLAGGED, created_at__lt=end
            )
        )
    )
    open_then = alive.filter(status__in=OPEN_ACTION, created_at__lt=end)
    bump(alive.filter(created_at__gte=start, created_at__lt=end), "opened")
    bump(
        alive.filter(status=ActionItem.Status.DONE, closed_at__gte=start, closed_at__lt=end),
        "closed",
    )
    bump(open_then.filter(due_on__lt=last_day), "overdue")
    flagged_qs = open_then.filter(flagged_q)
    bump(flagged_qs, "flagged")
    # The snapshot keeps the oldest FLAGGED_SHOWN (every reader gets the same page); the totals
    # count them all and the page links to the tracker for the rest.
    flagged_items = list(
        flagged_qs.select_related("team", "owner").order_by("due_on", "id")[:FLAGGED_SHOWN]
    )
    visible_incidents = set(
        visible.filter(pk__in={i.incident_id for i in flagged_items if i.incident_id}).values_list(
            "pk", flat=True
        )
    )
    flagged = []
    for item in flagged_items:
        days = (last_day - item.due_on).days if item.due_on else None
        if item.incident_id and item.incident_id not in visible_incidents:
            flagged.append({"restricted": True, "team": item.team.name, "days_overdue": days})
            continue
        flagged.append(
            {
                "restricted": False,
                "id": item.pk,
                "title": item.title,
                "url": item.get_absolute_url(),
                "team": item.team.name,
                "owner": display_name(item.owner, ""),
                "due_on": item.due_on.isoformat() if item.due_on else "",
                "days_overdue": days,
                "incident_id": item.incident_id,
            }
        )
    by_team: list[Figures] = [{"team": name, **figures} for name, figures in sorted(teams.items())]
    totals = {key: sum(figures[key] for figures in teams.values()) for key in EMPTY_TEAM}
    return {
        "by_team": by_team,
        "totals": totals,
        "flagged": flagged,
        "flagged_total": totals["flagged"],
    }


def fixes_section(visible: IncidentQuerySet, start: datetime, end: datetime) -> Figures:
    """Confirmed recurrences of the week and the effective-fix rate per team over 12 weeks.

    A fix is an action item done in the 12 weeks; it did not prevent recurrence when a person
    confirmed that a later incident repeated its incident's cause."""
    first = start - timedelta(weeks=TREND_WEEKS - 1)
    confirmed = Recurrence.objects.filter(status=Recurrence.Status.CONFIRMED)
    failed_earlier = set(confirmed.values_list("earlier_id", flat=True))
    done = (
        ActionItem.objects.alive()
        .filter(
            status=ActionItem.Status.DONE,
            closed_at__gte=first,
            closed_at__lt=end,
            incident__isnull=False,
        )
        .values("team__name", "incident_id")
        .order_by()
    )
    per_team: dict[str, dict] = defaultdict(lambda: {"fixes": 0, "failed": 0})
    for row in done:
        per_team[row["team__name"]]["fixes"] += 1
        if row["incident_id"] in failed_earlier:
            per_team[row["team__name"]]["failed"] += 1
    by_team: list[Figures] = [
        {
            "team": name,
            **figures,
            "rate": (figures["fixes"] - figures["failed"]) / figures["fixes"],
        }
        for name, figures in sorted(per_team.items())
    ]
    week_rows = list(
        confirmed.filter(decided_at__gte=start, decided_at__lt=end)
        .select_related("incident", "earlier", "service")
        .order_by("decided_at")
    )
    shown = set(
        visible.filter(
            pk__in={r.incident_id for r in week_rows} | {r.earlier_id for r in week_rows}
        ).values_list("pk", flat=True)
    )
    fixes_of = defaultdict(list)
    for item in (
        ActionItem.objects.alive()
        .filter(incident_id__in=[r.earlier_id for r in week_rows])
        .order_by("id")
    ):
        fixes_of[item.incident_id].append(item.title)
    listed, hidden = [], 0
    for r in week_rows:
        if r.incident_id in shown and r.earlier_id in shown:
            listed.append(
                {
                    "incident_id": r.incident_id,
                    "incident_title": r.incident.title,
                    "incident_url": r.incident.get_absolute_url(),
                    "earlier_id": r.earlier_id,
                    "earlier_title": r.earlier.title,
                    "earlier_url": r.earlier.get_absolute_url(),
                    "service": r.service.slug,
                    "category": r.category,
                    "reason": r.reason,
                    "fixes": fixes_of[r.earlier_id],
                }
            )
        else:
            hidden += 1
    total_fixes = sum(t["fixes"] for t in by_team)
    total_failed = sum(t["failed"] for t in by_team)
    return {
        "confirmed": listed,
        "restricted_confirmed": hidden,
        "by_team": by_team,
        "fixes": total_fixes,
        "failed": total_failed,
        "rate": (total_fixes - total_failed) / total_fixes if total_fixes else None,
    }


def experiment_figures(experiment: Experiment) -> Figures:
    verdict = rm.significance(
        split=experiment.split,
        control_trials=experiment.control_trials,
        control_conversions=experiment.control_conversions,
        experiment_trials=experiment.experiment_trials,
        experiment_conversions=experiment.experiment_conversions,
    )

    def rate(conv: int, trials: int) -> float | None:
        return conv / trials if trials else None

    return {
        "id": experiment.pk,
        "name": experiment.name,
        "hypothesis": experiment.hypothesis,
        "owner": display_name(experiment.owner, ""),
        "split": experiment.split,
        "control_trials": experiment.control_trials,
        "control_conversions": experiment.control_conversions,
        "experiment_trials": experiment.experiment_trials,
        "experiment_conversions": experiment.experiment_conversions,
        "control_rate": rate(experiment.control_conversions, experiment.control_trials),
        "experiment_rate": rate(experiment.experiment_conversions, experiment.experiment_trials),
        "decision": experiment.decision,
        "started_on": experiment.started_on.isoformat() if experiment.started_on else "",
        "ended_on": experiment.ended_on.isoformat() if experiment.ended_on else "",
        "significance": verdict.as_dict(),
    }


def experiments_section(monday: date) -> Figures:
    sunday = monday + timedelta(days=6)
    running = (
        Experiment.objects.filter(Q(started_on__lte=sunday) | Q(started_on__isnull=True))
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=monday))
        .select_related("owner")
        .order_by("name")
    )
    return {"experiments": [experiment_figures(e) for e in running]}


def past_years_section(visible: IncidentQuerySet, monday: date) -> Figures:
    """Incidents (with their postmortems) from the same ISO week in earlier years, and whether
    their action items are still closed today."""
    year, week, _ = monday.isocalendar()
    years = []
    for back in range(1, PAST_YEARS + 1):
        try:
            iso = f"{year - back}-W{week:02d}"
            _, start, end = week_bounds(iso)
        except ValueError:  # week 53 does not exist every year
            continue
        every = list(
            real_incidents(
                Incident.objects.filter(started_at__gte=start, started_at__lt=end)
            ).values_list("pk", flat=True)
        )
        if not every:
            continue
        shown: list[Any] = list(  # Incidents with actions_total and actions_closed
            visible.filter(pk__in=every)
            .annotate(  # counts of live items: a join condition, which `alive()` cannot express
                actions_total=Count("action_items", filter=Q(action_items__is_deleted=False)),
                actions_closed=Count(
                    "action_items",
                    filter=Q(
                        action_items__is_deleted=False,
                        action_items__status__in=ActionItem.CLOSED_STATUSES,
                    ),
                ),
            )
            .order_by("started_at")
        )
        urls = published_postmortem_urls([i.pk for i in shown])
        years.append(
            {
                "iso_week": iso,
                "year": year - back,
                "count": len(every),
                "restricted": len(every) - len(shown),
                "incidents": [
                    {
                        "id": i.pk,
                        "title": i.title,
                        "severity": i.severity,
                        "url": i.get_absolute_url(),
                        "postmortem_url": urls.get(i.pk, ""),
                        "actions_total": i.actions_total,
                        "actions_closed": i.actions_closed,
                        "still_closed": i.actions_total > 0 and i.actions_closed == i.actions_total,
                    }
                    for i in shown
                ],
            }
        )
    return {"years": years}
