"""Reads of the reviews feature: the weekly review's figures (computed as the all-staff view),
retrospectives, recurrence candidates and the incident page's recurrence section.

Visibility: lists go through `Incident.objects.visible_to(reader)`; the weekly review is computed
for `all_staff_reader()`, an employee with no special role, so lists hold public incidents only
while counts and durations include every incident as numbers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import NoReverseMatch
from django.utils import timezone

from metrics_link.charts import Bar, Series, bar_chart, line_chart
from metrics_link.models import Deploy, DeployCommit, MetricPoint, MetricSeries, Team

from .. import permissions
from .. import reviews_metrics as rm
from ..display import display_name
from ..models import (
    ActionItem,
    Experiment,
    Incident,
    Recurrence,
    ReminderSent,
    RetroItem,
    Retrospective,
    SuspectVerdict,
    WeeklyReview,
    WhyNode,
)
from .actions import incident_progress
from .documents import published_postmortem_urls
from .impact import impact_lines

TREND_WEEKS = 12
PAST_YEARS = 3
NOT_REAL = (Incident.CloseReason.FALSE_ALARM, Incident.CloseReason.DUPLICATE)
OPEN_ACTION = (ActionItem.Status.OPEN, ActionItem.Status.IN_PROGRESS)
SECTIONS = (
    "incidents",
    "durations",
    "dora",
    "immune",
    "business",
    "actions",
    "fixes",
    "experiments",
    "past_years",
)


def all_staff_reader():
    """An active employee with no role in any incident: what every member of staff may read.

    Never saved (id 0 matches nobody), so `visible_to` keeps the one visibility rule."""
    user = get_user_model()(id=0, username="all-staff", is_active=True)
    return user


# --------------------------------------------------------------------------- weeks


def week_bounds(iso_week: str) -> tuple[date, datetime, datetime]:
    """(monday, start, end) of an ISO week, midnight to midnight in TIME_ZONE."""
    monday = rm.parse_iso_week(iso_week)
    start = timezone.make_aware(datetime.combine(monday, time.min))
    return monday, start, start + timedelta(days=7)


def _local_week(moment: datetime) -> str:
    return rm.iso_week_of(timezone.localtime(moment).date())


# --------------------------------------------------------------------------- incidents


def _real(qs: QuerySet[Incident]) -> QuerySet[Incident]:
    return qs.alive().exclude(close_reason__in=NOT_REAL)


def _incident_row(incident: Incident, postmortems: dict[int, str]) -> dict:
    return {
        "id": incident.pk,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "status_label": incident.get_status_display(),
        "close_reason": incident.close_reason,
        "services": [s.slug for s in incident.services.all()],
        "started_at": incident.started_at.isoformat(),
        "ttd": rm.human_duration(rm._seconds(incident.time_to_detect)),
        "ttr": rm.human_duration(rm._seconds(incident.time_to_resolve))
        if incident.resolved_at
        else "ongoing",
        "url": incident.get_absolute_url(),
        "postmortem_url": postmortems.get(incident.pk, ""),
        "impact": incident.impact,
        "impact_lines": list(impact_lines(incident)),
    }


def restricted_line(incident: Incident) -> str:
    """Counts-only wording for an incident the reader may not see: severity and duration."""
    if incident.resolved_at:
        took = rm.human_duration(rm._seconds(incident.time_to_resolve))
    else:
        took = "ongoing"
    return f"1 restricted incident ({incident.severity}, {took})"


def incidents_section(reader, start: datetime, end: datetime) -> dict:
    every = list(
        Incident.objects.alive()
        .filter(started_at__gte=start, started_at__lt=end)
        .order_by("started_at")
    )
    visible_ids = set(
        Incident.objects.visible_to(reader)
        .filter(pk__in=[i.pk for i in every])
        .values_list("pk", flat=True)
    )
    visible = list(
        Incident.objects.filter(pk__in=visible_ids)
        .prefetch_related("services")
        .order_by("started_at")
    )
    postmortems = published_postmortem_urls([i.pk for i in visible])
    real = [i for i in every if i.close_reason not in NOT_REAL]
    by_sev = dict.fromkeys(("sev1", "sev2", "sev3", "sev4"), 0)
    for incident in real:
        by_sev[incident.severity] = by_sev.get(incident.severity, 0) + 1
    return {
        "count": len(real),
        "noise": len(every) - len(real),
        "by_severity": by_sev,
        "public": [_incident_row(i, postmortems) for i in visible],
        "restricted": [restricted_line(i) for i in every if i.pk not in visible_ids],
    }


def durations_section(start: datetime, end: datetime) -> dict:
    """MTTD/MTTR of the week and of each of the 12 weeks ending with it (all incidents)."""
    first = start - timedelta(weeks=TREND_WEEKS - 1)
    rows = list(
        _real(Incident.objects.filter(started_at__gte=first, started_at__lt=end)).only(
            "started_at", "detected_at", "resolved_at"
        )
    )
    buckets: dict[str, list] = defaultdict(list)
    for incident in rows:
        buckets[_local_week(incident.started_at)].append(incident)
    trend = []
    for k in range(TREND_WEEKS):
        week_start = first + timedelta(weeks=k)
        week = _local_week(week_start)
        items = buckets.get(week, [])
        trend.append(
            {
                "week": week,
                "week_start": week_start.isoformat(),
                "count": len(items),
                "mttd": rm.mttd_seconds(items),
                "mttr": rm.mttr_seconds(items),
            }
        )
    current = trend[-1]
    previous = trend[-2]
    return {
        "mttd": current["mttd"],
        "mttr": current["mttr"],
        "mttd_text": rm.human_duration(current["mttd"]),
        "mttr_text": rm.human_duration(current["mttr"]),
        "mttd_previous_text": rm.human_duration(previous["mttd"]),
        "mttr_previous_text": rm.human_duration(previous["mttr"]),
        "trend": trend,
    }


def dora_section(start: datetime, end: datetime, mttr: float | None) -> dict:
    """The four keys over production deploys (settings.PRODUCTION_ENVIRONMENTS)."""
    first = start - timedelta(weeks=TREND_WEEKS - 1)
    deploys = list(
        Deploy.objects.filter(
            environment__in=settings.PRODUCTION_ENVIRONMENTS,
            finished_at__gte=first,
            finished_at__lt=end,
        ).values("id", "status", "finished_at")
    )
    culprits = set(
        SuspectVerdict.objects.filter(
            verdict=SuspectVerdict.Verdict.CULPRIT,
            deploy_id__in=[d["id"] for d in deploys],
            incident__is_deleted=False,
        ).values_list("deploy_id", flat=True)
    )
    this_week = [d for d in deploys if d["finished_at"] >= start]
    successful_ids = [d["id"] for d in this_week if d["status"] == Deploy.Status.SUCCESS]
    pairs = DeployCommit.objects.filter(deploy_id__in=successful_ids).values_list(
        "commit__committed_at", "deploy__finished_at"
    )
    lead = rm.lead_time_seconds(pairs)
    failed_this_week = sum(1 for d in this_week if d["id"] in culprits)
    cfr = rm.change_failure_rate(len(this_week), failed_this_week)
    trend = []
    for k in range(TREND_WEEKS):
        week_start = first + timedelta(weeks=k)
        week_end = week_start + timedelta(weeks=1)
        in_week = [d for d in deploys if week_start <= d["finished_at"] < week_end]
        trend.append(
            {
                "week": _local_week(week_start),
                "deploys": len(in_week),
                "successful": sum(1 for d in in_week if d["status"] == Deploy.Status.SUCCESS),
                "failed_changes": sum(1 for d in in_week if d["id"] in culprits),
            }
        )
    return {
        "deploys": len(this_week),
        "successful_deploys": len(successful_ids),
        "deploy_frequency": rm.deploy_frequency_per_day(len(successful_ids), 7),
        "lead_time": lead,
        "lead_time_text": rm.human_duration(lead),
        "confirmed_culprits": failed_this_week,
        "change_failure_rate": cfr,
        "time_to_restore": mttr,
        "time_to_restore_text": rm.human_duration(mttr),
        "environments": list(settings.PRODUCTION_ENVIRONMENTS),
        "trend": trend,
    }


def business_section(start: datetime, end: datetime) -> dict:
    """Every business series: this week against the week before, hourly buckets for the chart."""
    rows = []
    charts = {}
    prev_start = start - timedelta(weeks=1)
    for series in MetricSeries.objects.filter(kind=MetricSeries.Kind.BUSINESS).order_by("name"):
        hourly = list(
            MetricPoint.objects.filter(series=series, ts__gte=prev_start, ts__lt=end)
            .annotate(hour=TruncHour("ts"))
            .values("hour")
            .annotate(total=Sum("value"), n=Count("id"))
            .order_by("hour")
        )
        this = [h for h in hourly if h["hour"] >= start]
        last = [h for h in hourly if h["hour"] < start]

        def week_value(hours, series=series):
            if not hours:
                return None
            total = sum(h["total"] for h in hours)
            if series.aggregation == MetricSeries.Aggregation.SUM:
                return total
            return total / sum(h["n"] for h in hours)

        def point(h, series=series):
            value = h["total"] if series.aggregation == "sum" else h["total"] / h["n"]
            return (h["hour"], value)

        current, previous = week_value(this), week_value(last)
        label = series.label or series.name
        rows.append(
            {
                "name": series.name,
                "label": label,
                "unit": series.unit,
                "aggregation": series.aggregation,
                "current": current,
                "previous": previous,
                "change": rm.change_ratio(current, previous),
            }
        )
        charts[series.name] = str(
            line_chart(
                Series(f"Week {_local_week(start)}", [point(h) for h in this]),
                comparison=Series(
                    "Week before",
                    [(h["hour"] + timedelta(weeks=1), point(h)[1]) for h in last],
                ),
                title=f"{label}, per hour" + (" (mean)" if series.aggregation == "mean" else ""),
                unit=series.unit,
                width=560,
                height=190,
                tz=timezone.get_current_timezone(),
            )
        )
    return {"series": rows, "charts": charts}


def _action_url(item: ActionItem) -> str:
    """The item's page once the action tracker provides it; the tracker list until then."""
    try:
        return item.get_absolute_url()
    except NoReverseMatch:
        return "/actions/"


def actions_section(reader, start: datetime, end: datetime) -> dict:
    """Opened, closed, overdue and flagged (+14 days) action items by team, as of the week's end.

    An item counts as flagged when the reminders sent it to the review (ReminderSent "flagged")
    or when it is 14 days past due at the week's end, so the review does not depend on the beat
    having run. Items of incidents the reader cannot see are listed without their title/owner."""
    last_day = (end - timedelta(days=1)).date()
    alive = ActionItem.objects.filter(is_deleted=False)
    teams: dict[str, dict] = {}

    def bump(qs, key):
        for row in qs.values("team__name").annotate(n=Count("id")):
            teams.setdefault(
                row["team__name"], {"opened": 0, "closed": 0, "overdue": 0, "flagged": 0}
            )[key] = row["n"]

    flagged_q = Q(due_on__lte=last_day - timedelta(days=14)) | Q(
        reminders__kind=ReminderSent.Kind.FLAGGED, reminders__created_at__lt=end
    )
    open_then = alive.filter(status__in=OPEN_ACTION, created_at__lt=end)
    bump(alive.filter(created_at__gte=start, created_at__lt=end), "opened")
    bump(
        alive.filter(status=ActionItem.Status.DONE, closed_at__gte=start, closed_at__lt=end),
        "closed",
    )
    bump(open_then.filter(due_on__lt=last_day), "overdue")
    flagged_items = list(
        open_then.filter(flagged_q)
        .distinct()
        .select_related("team", "owner", "incident")
        .order_by("due_on", "id")
    )
    for row in teams.values():
        row["flagged"] = 0
    for item in flagged_items:
        teams.setdefault(item.team.name, {"opened": 0, "closed": 0, "overdue": 0, "flagged": 0})[
            "flagged"
        ] += 1
    visible_incidents = set(
        Incident.objects.visible_to(reader)
        .filter(pk__in={i.incident_id for i in flagged_items if i.incident_id})
        .values_list("pk", flat=True)
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
                "url": _action_url(item),
                "team": item.team.name,
                "owner": display_name(item.owner, ""),
                "due_on": item.due_on.isoformat() if item.due_on else "",
                "days_overdue": days,
                "incident_id": item.incident_id,
            }
        )
    by_team = [{"team": name, **figures} for name, figures in sorted(teams.items())]
    totals = {
        key: sum(t[key] for t in by_team) for key in ("opened", "closed", "overdue", "flagged")
    }
    return {"by_team": by_team, "totals": totals, "flagged": flagged}


def fixes_section(reader, start: datetime, end: datetime) -> dict:
    """Confirmed recurrences of the week and the effective-fix rate per team over 12 weeks.

    A fix is an action item done in the 12 weeks; it did not prevent recurrence when a person
    confirmed that a later incident repeated its incident's cause."""
    first = start - timedelta(weeks=TREND_WEEKS - 1)
    confirmed = Recurrence.objects.filter(status=Recurrence.Status.CONFIRMED)
    failed_earlier = set(confirmed.values_list("earlier_id", flat=True))
    done = (
        ActionItem.objects.filter(
            is_deleted=False,
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
    by_team = [
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
    visible = set(
        Incident.objects.visible_to(reader)
        .filter(pk__in={r.incident_id for r in week_rows} | {r.earlier_id for r in week_rows})
        .values_list("pk", flat=True)
    )
    fixes_of = defaultdict(list)
    for item in ActionItem.objects.filter(
        incident_id__in=[r.earlier_id for r in week_rows], is_deleted=False
    ).order_by("id"):
        fixes_of[item.incident_id].append(item.title)
    listed, hidden = [], 0
    for r in week_rows:
        if r.incident_id in visible and r.earlier_id in visible:
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


def experiment_figures(experiment: Experiment) -> dict:
    verdict = rm.significance(
        split=experiment.split,
        control_trials=experiment.control_trials,
        control_conversions=experiment.control_conversions,
        experiment_trials=experiment.experiment_trials,
        experiment_conversions=experiment.experiment_conversions,
    )

    def rate(conv, trials):
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


def experiments_section(monday: date) -> dict:
    sunday = monday + timedelta(days=6)
    running = (
        Experiment.objects.filter(Q(started_on__lte=sunday) | Q(started_on__isnull=True))
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=monday))
        .select_related("owner")
        .order_by("name")
    )
    return {"experiments": [experiment_figures(e) for e in running]}


def past_years_section(reader, monday: date) -> dict:
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
            _real(Incident.objects.filter(started_at__gte=start, started_at__lt=end)).values_list(
                "pk", flat=True
            )
        )
        if not every:
            continue
        visible = list(
            Incident.objects.visible_to(reader)
            .filter(pk__in=every)
            .annotate(
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
        urls = published_postmortem_urls([i.pk for i in visible])
        years.append(
            {
                "iso_week": iso,
                "year": year - back,
                "count": len(every),
                "restricted": len(every) - len(visible),
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
                    for i in visible
                ],
            }
        )
    return {"years": years}


# --------------------------------------------------------------------------- the snapshot


def _trend_charts(durations: dict, dora: dict) -> dict:
    tz = timezone.get_current_timezone()
    points = [(datetime.fromisoformat(t["week_start"]), t) for t in durations["trend"]]
    mttr = [(m, t["mttr"] / 60) for m, t in points if t["mttr"] is not None]
    mttd = [(m, t["mttd"] / 60) for m, t in points if t["mttd"] is not None]
    return {
        "mttr": str(
            line_chart(
                Series("MTTR (minutes)", mttr, color="#dc2626"),
                title="Mean time to restore, last 12 weeks",
                unit="min",
                width=560,
                height=190,
                tz=tz,
            )
        ),
        "mttd": str(
            line_chart(
                Series("MTTD (minutes)", mttd),
                title="Mean time to detect, last 12 weeks",
                unit="min",
                width=560,
                height=190,
                tz=tz,
            )
        ),
        "deploys": str(
            bar_chart(
                [
                    Bar(t["week"].split("-")[1], [t["successful"], t["failed_changes"]])
                    for t in dora["trend"]
                ],
                series_labels=["Successful production deploys", "Confirmed culprits"],
                colors=["#2563eb", "#dc2626"],
                title="Production deploys per week",
                width=560,
                height=190,
            )
        ),
    }


def immune_section(reader, start: datetime, end: datetime) -> dict:
    """Caught by the immune system: the week's verdicts on production deploys, the median time
    from a deploy's end to its verdict, its regressions, and the incidents it opened before any
    alert fired (counts only for incidents the reader may not see)."""
    from statistics import median

    from metrics_link.models import DeployWatch

    watches = list(
        DeployWatch.objects.filter(decided_at__gte=start, decided_at__lt=end)
        .exclude(status=DeployWatch.Status.WATCHING)
        .select_related("deploy__service")
    )
    counts = {status: 0 for status in DeployWatch.Status.values if status != "watching"}
    for watch in watches:
        counts[watch.status] = counts.get(watch.status, 0) + 1
    delays = [
        (w.decided_at - w.deploy.finished_at).total_seconds()
        for w in watches
        if w.decided_at and w.status != DeployWatch.Status.NO_DATA
    ]
    median_minutes = round(median(delays) / 60, 1) if delays else None
    regressions = [
        {
            "deploy": f"{w.deploy.service.slug} {w.deploy.version or w.deploy.short_sha}",
            "url": w.deploy.get_absolute_url(),
            "failed": [
                r.get("label") or r.get("name") for r in w.results if r.get("passed") is False
            ],
        }
        for w in watches
        if w.status == DeployWatch.Status.REGRESSED
    ]
    opened = list(
        Incident.objects.alive()
        .filter(origin=Incident.Origin.IMMUNE, started_at__gte=start, started_at__lt=end)
        .prefetch_related("alert_links__alert")
    )
    visible_ids = set(
        Incident.objects.visible_to(reader)
        .filter(pk__in=[i.pk for i in opened])
        .values_list("pk", flat=True)
    )
    before_alert = []
    restricted = 0
    for incident in opened:
        alerts = [link.alert.starts_at for link in incident.alert_links.all()]
        if alerts and min(alerts) <= (incident.detected_at or incident.started_at):
            continue
        if incident.pk not in visible_ids:
            restricted += 1
            continue
        first_alert = min(alerts) if alerts else None
        before_alert.append(
            {
                "title": incident.title,
                "url": incident.get_absolute_url(),
                "ahead_minutes": round((first_alert - incident.detected_at).total_seconds() / 60)
                if first_alert and incident.detected_at
                else None,
            }
        )
    return {
        "judged": len(watches),
        "counts": counts,
        "median_minutes": median_minutes,
        "regressions": regressions,
        "before_alert": before_alert,
        "restricted_before_alert": restricted,
    }


def compute_weekly_review(iso_week: str, *, reader=None) -> dict:
    """Every figure of the week as JSON-ready data, plus each section rendered to HTML.

    `reader` defaults to the all-staff reader: the snapshot is read by everyone."""
    reader = reader or all_staff_reader()
    monday, start, end = week_bounds(iso_week)
    durations = durations_section(start, end)
    dora = dora_section(start, end, durations["mttr"])
    data = {
        "iso_week": rm.iso_week_of(monday),
        "week_start": monday.isoformat(),
        "week_end": (monday + timedelta(days=6)).isoformat(),
        "generated_at": timezone.now().isoformat(),
        "incidents": incidents_section(reader, start, end),
        "durations": durations,
        "dora": dora,
        "immune": immune_section(reader, start, end),
        "business": business_section(start, end),
        "actions": actions_section(reader, start, end),
        "fixes": fixes_section(reader, start, end),
        "experiments": experiments_section(monday),
        "past_years": past_years_section(reader, monday),
        "charts": _trend_charts(durations, dora),
    }
    data["html"] = {
        key: render_to_string(f"postmortems/reviews/sections/_{key}.html", {"s": data})
        for key in SECTIONS
    }
    data["summary"] = summary_lines(data)
    return data


def summary_lines(data: dict) -> list[str]:
    """A few plain sentences: the feed entry, the email's text part, the list page."""
    inc = data["incidents"]
    dora = data["dora"]
    lines = [
        f"{inc['count']} incident{'s' if inc['count'] != 1 else ''}"
        f" ({', '.join(f'{n} {sev}' for sev, n in inc['by_severity'].items() if n) or 'none'}).",
        f"MTTD {data['durations']['mttd_text']}, MTTR {data['durations']['mttr_text']}.",
        f"{dora['deploys']} production deploys ({dora['deploy_frequency']:.1f}/day), "
        + (
            f"change failure rate {dora['change_failure_rate']:.0%}, "
            if dora["change_failure_rate"] is not None
            else "no change failure rate, "
        )
        + f"lead time {dora['lead_time_text']}.",
        f"Action items: {data['actions']['totals']['opened']} opened, "
        f"{data['actions']['totals']['closed']} closed, "
        f"{data['actions']['totals']['overdue']} overdue, "
        f"{data['actions']['totals']['flagged']} flagged at +14 days.",
    ]
    if data["fixes"]["confirmed"] or data["fixes"]["restricted_confirmed"]:
        n = len(data["fixes"]["confirmed"]) + data["fixes"]["restricted_confirmed"]
        lines.append(f"{n} confirmed recurrence{'s' if n != 1 else ''}: fixes that did not work.")
    return lines


# --------------------------------------------------------------------------- review pages


def review_list() -> QuerySet[WeeklyReview]:
    return WeeklyReview.objects.filter(published=True).order_by("-week_start")


def get_review(iso_week: str) -> WeeklyReview:
    review = WeeklyReview.objects.filter(iso_week=iso_week.upper(), published=True).first()
    if review is None:
        raise Http404("No review for that week.")
    return review


# --------------------------------------------------------------------------- retrospectives


def can_edit_retro(user, retro: Retrospective | None = None, team: Team | None = None) -> bool:
    """The write rule lives in postmortems.permissions; kept here for templates and views."""
    return permissions.can_edit_retro(user, retro=retro, team=team)


def retros_visible_to(user) -> QuerySet[Retrospective]:
    """Published retros are for all staff; drafts for their team (members, manager) only."""
    qs = Retrospective.objects.filter(is_deleted=False)
    if user.is_superuser:
        return qs
    mine = Q(team__members=user) | Q(team__manager=user)
    return qs.filter(Q(published=True) | mine).distinct()


def retro_list(user) -> QuerySet[Retrospective]:
    return (
        retros_visible_to(user)
        .select_related("team", "facilitator")
        .annotate(
            item_count=Count("items", filter=Q(items__is_deleted=False), distinct=True),
            action_count=Count(
                "action_items", filter=Q(action_items__is_deleted=False), distinct=True
            ),
        )
        .order_by("team__name", "-sprint_start")
    )


def get_retro_for(user, pk) -> Retrospective:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such retrospective.") from None
    retro = retros_visible_to(user).select_related("team", "facilitator").filter(pk=pk).first()
    if retro is None:
        raise Http404("No such retrospective.")
    return retro


def retro_board(retro: Retrospective, user) -> list[dict]:
    """The four columns with their items (most votes first) and whether `user` voted."""
    items = (
        RetroItem.objects.filter(retrospective=retro, is_deleted=False)
        .select_related("author")
        .annotate(vote_count=Count("votes"))
        .order_by("-vote_count", "id")
    )
    mine = set()
    if user.is_authenticated:
        mine = set(
            RetroItem.objects.filter(retrospective=retro, votes__user=user).values_list(
                "pk", flat=True
            )
        )
    columns = {c: [] for c in RetroItem.Column.values}
    for item in items:
        item.voted = item.pk in mine
        columns[item.column].append(item)
    return [
        {"key": key, "label": RetroItem.Column(key).label, "items": columns[key]}
        for key in RetroItem.Column.values
    ]


def retro_action_items(retro: Retrospective) -> QuerySet[ActionItem]:
    return (
        ActionItem.objects.filter(retrospective=retro, is_deleted=False)
        .select_related("owner", "team")
        .order_by("status", "due_on", "id")
    )


# --------------------------------------------------------------------------- recurrences


def _corrective_actions_all_done(incident_ids) -> dict[int, bool]:
    """{incident_id: True} when it has action items and every one is done (wont_do is not)."""
    return {
        incident_id: p["total"] > 0 and p["total"] == p["done"]
        for incident_id, p in incident_progress(incident_ids).items()
    }


def recurrence_candidates(incident: Incident) -> list[tuple[Incident, object, str]]:
    """Earlier incidents whose cause this one repeats: a shared service AND a shared why-node
    category, where every corrective action of the earlier incident was done (before this one
    started). Returns (earlier, service, category), newest earlier incident first."""
    categories = set(
        WhyNode.objects.filter(incident=incident, is_deleted=False)
        .exclude(category="")
        .values_list("category", flat=True)
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
            why_nodes__is_deleted=False,
        )
        .exclude(pk=incident.pk)
        .distinct()
        .prefetch_related(
            "services",
            Prefetch(
                "why_nodes",
                queryset=WhyNode.objects.filter(is_deleted=False),
                to_attr="live_whys",
            ),
        )
        .order_by("-started_at")
    )
    earlier = list(earlier_qs[:50])
    done = _corrective_actions_all_done([e.pk for e in earlier])
    late = set(
        ActionItem.objects.filter(
            incident_id__in=[e.pk for e in earlier],
            is_deleted=False,
            closed_at__gt=incident.started_at,
        ).values_list("incident_id", flat=True)
    )
    out = []
    for e in earlier:
        if not done.get(e.pk) or e.pk in late:
            continue
        shared_services = [s for s in e.services.all() if s in services]
        shared_categories = sorted({w.category for w in e.live_whys} & categories)
        if shared_services and shared_categories:
            out.append((e, shared_services[0], shared_categories[0]))
    return out


def recurrence_section(incident: Incident, user) -> dict | None:
    """The incident page's card: suggested recurrences to confirm or dismiss, decided ones, and
    on an earlier incident the confirmed recurrences that its fixes did not prevent."""
    visible = Incident.objects.visible_to(user)
    stored = list(
        Recurrence.objects.filter(incident=incident, earlier__in=visible)
        .select_related("earlier", "service", "decided_by")
        .order_by("-earlier__started_at")
    )
    known = {r.earlier_id for r in stored}
    suggestions = [
        {"earlier": e, "service": s, "category": c}
        for e, s, c in recurrence_candidates(incident)
        if e.pk not in known and visible.filter(pk=e.pk).exists()
    ]
    recurred_as = list(
        Recurrence.objects.filter(
            earlier=incident, status=Recurrence.Status.CONFIRMED, incident__in=visible
        ).select_related("incident", "service")
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
            ActionItem.objects.filter(
                incident=incident, is_deleted=False, status=ActionItem.Status.DONE
            ).values_list("title", flat=True)
        )
        if recurred_as
        else [],
        "can_decide": incident.pk
        in set(visible.filter(pk=incident.pk).values_list("pk", flat=True)),
    }


def latest_review_panel(user) -> dict | None:
    """Home page side panel: the latest weekly review's headline (one query)."""
    review = review_list().only("iso_week", "week_start", "snapshot").first()
    if review is None:
        return None
    return {
        "title": "This week's review",
        "template": "postmortems/reviews/_home_panel.html",
        "column": "side",
        "review": review,
    }
