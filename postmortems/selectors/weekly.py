"""The weekly review's figures of the week itself: incidents, detect/restore times, the four
keys over production deploys, the immune system, business series and the trend charts.

Every function returns JSON-ready data (the review's snapshot is stored as JSON); templates in
templates/postmortems/reviews/sections/ render it. Lists hold the incidents in `visible` (the
weekly review passes `Incident.objects.visible_to_all_staff()`); counts and durations include
every incident as numbers.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from statistics import median
from typing import Any

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncHour
from django.utils import timezone

from metrics_link.charts import Bar, Series, bar_chart, line_chart
from metrics_link.models import Deploy, DeployCommit, DeployWatch, MetricPoint, MetricSeries

from .. import reviews_metrics as rm
from ..models import Incident, SuspectVerdict
from ..models.incidents import IncidentQuerySet
from .documents import published_postmortem_urls
from .impact import impact_lines_many

TREND_WEEKS = 12
NOT_REAL = (Incident.CloseReason.FALSE_ALARM, Incident.CloseReason.DUPLICATE)

Figures = dict[str, Any]


# --------------------------------------------------------------------------- weeks


def week_bounds(iso_week: str) -> tuple[date, datetime, datetime]:
    """(monday, start, end) of an ISO week, midnight to midnight in TIME_ZONE."""
    monday = rm.parse_iso_week(iso_week)
    start = timezone.make_aware(datetime.combine(monday, time.min))
    return monday, start, start + timedelta(days=7)


def local_week(moment: datetime) -> str:
    return rm.iso_week_of(timezone.localtime(moment).date())


def real_incidents(qs: IncidentQuerySet) -> IncidentQuerySet:
    """Alive incidents that really happened (no false alarms, no duplicates)."""
    return qs.alive().exclude(close_reason__in=NOT_REAL)


# --------------------------------------------------------------------------- incidents


def _duration_text(delta: timedelta | None) -> str:
    return rm.human_duration(delta.total_seconds() if delta is not None else None)


def _resolve_text(incident: Incident) -> str:
    return _duration_text(incident.time_to_resolve) if incident.resolved_at else "ongoing"


def _incident_row(
    incident: Incident, postmortems: dict[int, str], impacts: dict[int, list[str]]
) -> Figures:
    return {
        "id": incident.pk,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "status_label": incident.get_status_display(),
        "close_reason": incident.close_reason,
        "services": [s.slug for s in incident.services.all()],
        "started_at": incident.started_at.isoformat(),
        "ttd": _duration_text(incident.time_to_detect),
        "ttr": _resolve_text(incident),
        "url": incident.get_absolute_url(),
        "postmortem_url": postmortems.get(incident.pk, ""),
        "impact": incident.impact,
        "impact_lines": impacts.get(incident.pk, []),
    }


def restricted_line(incident: Incident) -> str:
    """Counts-only wording for an incident the reader may not see: severity and duration."""
    return f"1 restricted incident ({incident.severity}, {_resolve_text(incident)})"


def incidents_section(visible: IncidentQuerySet, start: datetime, end: datetime) -> Figures:
    every = list(
        Incident.objects.alive()
        .filter(started_at__gte=start, started_at__lt=end)
        .order_by("started_at")
    )
    visible_ids = set(visible.filter(pk__in=[i.pk for i in every]).values_list("pk", flat=True))
    shown = list(
        Incident.objects.filter(pk__in=visible_ids)
        .prefetch_related("services")
        .order_by("started_at")
    )
    postmortems = published_postmortem_urls([i.pk for i in shown])
    impacts = impact_lines_many(shown)
    real = [i for i in every if i.close_reason not in NOT_REAL]
    by_sev = dict.fromkeys(("sev1", "sev2", "sev3", "sev4"), 0)
    for incident in real:
        by_sev[incident.severity] = by_sev.get(incident.severity, 0) + 1
    return {
        "count": len(real),
        "noise": len(every) - len(real),
        "by_severity": by_sev,
        "public": [_incident_row(i, postmortems, impacts) for i in shown],
        "restricted": [restricted_line(i) for i in every if i.pk not in visible_ids],
    }


def durations_section(start: datetime, end: datetime) -> Figures:
    """MTTD/MTTR of the week and of each of the 12 weeks ending with it (all incidents)."""
    first = start - timedelta(weeks=TREND_WEEKS - 1)
    rows = list(
        real_incidents(Incident.objects.filter(started_at__gte=first, started_at__lt=end)).only(
            "started_at", "detected_at", "resolved_at"
        )
    )
    buckets: dict[str, list[Incident]] = defaultdict(list)
    for incident in rows:
        buckets[local_week(incident.started_at)].append(incident)
    trend: list[Figures] = []
    for k in range(TREND_WEEKS):
        week_start = first + timedelta(weeks=k)
        week = local_week(week_start)
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


def dora_section(start: datetime, end: datetime, mttr: float | None) -> Figures:
    """The four keys over production deploys (settings.PRODUCTION_ENVIRONMENTS)."""
    first = start - timedelta(weeks=TREND_WEEKS - 1)
    # Counted in SQL per week of the trend (k = 0..11; the last is this week): no deploy rows.
    bounds = [first + timedelta(weeks=k) for k in range(1, TREND_WEEKS + 1)]
    week_of = Case(
        *[When(finished_at__lt=bound, then=Value(k)) for k, bound in enumerate(bounds)],
        output_field=IntegerField(),
    )
    production = Deploy.objects.filter(
        environment__in=settings.PRODUCTION_ENVIRONMENTS,
        finished_at__gte=first,
        finished_at__lt=end,
    ).annotate(week=week_of)
    per_week: dict[int, dict[str, int]] = defaultdict(
        lambda: {"deploys": 0, "successful": 0, "failed_changes": 0}
    )
    for row in production.values("week", "status").annotate(n=Count("id")).order_by():
        per_week[row["week"]]["deploys"] += row["n"]
        if row["status"] == Deploy.Status.SUCCESS:
            per_week[row["week"]]["successful"] += row["n"]
    # Confirmed culprits among those deploys (few rows), of incidents still alive.
    verdicts = list(
        SuspectVerdict.objects.filter(
            verdict=SuspectVerdict.Verdict.CULPRIT,
            deploy__environment__in=settings.PRODUCTION_ENVIRONMENTS,
            deploy__finished_at__gte=first,
            deploy__finished_at__lt=end,
        ).values_list("deploy_id", "deploy__finished_at", "incident_id")
    )
    alive = set(
        Incident.objects.alive()
        .filter(pk__in={incident_id for _, _, incident_id in verdicts})
        .values_list("pk", flat=True)
    )
    culprits = {
        deploy_id: finished for deploy_id, finished, incident_id in verdicts if incident_id in alive
    }
    for finished in culprits.values():
        per_week[bisect_right(bounds, finished)]["failed_changes"] += 1
    now_week = per_week[TREND_WEEKS - 1]
    # rm.lead_time_seconds' rule (commits with a time, not after their deploy), as durations
    lead_times = [
        d.total_seconds()
        for d in DeployCommit.objects.filter(
            deploy__environment__in=settings.PRODUCTION_ENVIRONMENTS,
            deploy__finished_at__gte=start,
            deploy__finished_at__lt=end,
            deploy__status=Deploy.Status.SUCCESS,
            commit__committed_at__isnull=False,
        )
        .filter(deploy__finished_at__gte=F("commit__committed_at"))
        .values_list(
            ExpressionWrapper(
                F("deploy__finished_at") - F("commit__committed_at"), output_field=DurationField()
            ),
            flat=True,
        )
    ]
    lead = median(lead_times) if lead_times else None
    this_week = now_week["deploys"]
    successful = now_week["successful"]
    failed_this_week = now_week["failed_changes"]
    cfr = rm.change_failure_rate(this_week, failed_this_week)
    trend = [
        {"week": local_week(first + timedelta(weeks=k)), **per_week[k]} for k in range(TREND_WEEKS)
    ]
    return {
        "deploys": this_week,
        "successful_deploys": successful,
        "deploy_frequency": rm.deploy_frequency_per_day(successful, 7),
        "lead_time": lead,
        "lead_time_text": rm.human_duration(lead),
        "confirmed_culprits": failed_this_week,
        "change_failure_rate": cfr,
        "time_to_restore": mttr,
        "time_to_restore_text": rm.human_duration(mttr),
        "environments": list(settings.PRODUCTION_ENVIRONMENTS),
        "trend": trend,
    }


def business_section(start: datetime, end: datetime) -> Figures:
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

        def week_value(hours: list[Figures], series: MetricSeries = series) -> float | None:
            if not hours:
                return None
            total = float(sum(h["total"] for h in hours))
            if series.aggregation == MetricSeries.Aggregation.SUM:
                return total
            count: int = sum(h["n"] for h in hours)
            return total / count

        def point(h: Figures, series: MetricSeries = series) -> tuple[datetime, float]:
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
                Series(f"Week {local_week(start)}", [point(h) for h in this]),
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


def trend_charts(durations: Figures, dora: Figures) -> dict[str, str]:
    """The three 12-week SVG charts (MTTR, MTTD, production deploys)."""
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


def immune_section(visible: IncidentQuerySet, start: datetime, end: datetime) -> Figures:
    """Caught by the immune system: the week's verdicts on production deploys, the median time
    from a deploy's end to its verdict, its regressions, and the incidents it opened before any
    alert fired (counts only for incidents outside `visible`)."""
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
    visible_ids = set(visible.filter(pk__in=[i.pk for i in opened]).values_list("pk", flat=True))
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
