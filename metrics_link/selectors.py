"""Reads of the production layer shared by pages, the API, the admin and the learning layer.

Service page sections: each feature adds a function (service, user) → {"template", ...} or None.
The learning layer adds the "incidents" section through `SERVICE_PAGE_SECTIONS` at app ready,
since this layer cannot import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Prefetch, Q, QuerySet

from . import charts
from .models import (
    Alert,
    Deploy,
    DeployCommit,
    DeployWatch,
    MetricPoint,
    MetricSeries,
    Service,
    Team,
    WebhookDelivery,
)
from .prometheus import reads_from_prometheus, series_points

Section = Callable[..., dict[str, Any] | None]

# A registry (filled at app ready): keeps metrics_link ignorant of postmortems.
SERVICE_PAGE_SECTIONS: list[Section] = []
# The deploy page, the same way: (deploy, user) → {"template", ...} or None. The learning layer adds
# "judged a culprit of incident #N" (only for incidents the reader may see).
# A registry (filled at app ready): keeps metrics_link ignorant of postmortems.
DEPLOY_PAGE_SECTIONS: list[Section] = []


def deploy_page_sections(
    deploy: Deploy, user: AbstractBaseUser | AnonymousUser
) -> list[dict[str, Any]]:
    return [ctx for section in DEPLOY_PAGE_SECTIONS if (ctx := section(deploy, user)) is not None]


def service_page_sections(
    service: Service, user: AbstractBaseUser | AnonymousUser
) -> list[dict[str, Any]]:
    sections = []
    for section in SERVICE_PAGE_SECTIONS:
        ctx = section(service, user)
        if ctx is not None:
            sections.append(ctx)
    return sections


# --- catalog ------------------------------------------------------------------------------------


def unclaimed_services() -> list[Service]:
    """Services with no team yet, the ones already claimed once (then orphaned) first."""
    return list(Service.objects.filter(team__isnull=True).order_by("-claimed", "slug"))


def team_by_slug(slug: str) -> Team | None:
    return Team.objects.filter(slug=slug).first() if slug else None


# --- deploys ------------------------------------------------------------------------------------


def with_commits(qs: QuerySet[Deploy]) -> QuerySet[Deploy]:
    """Deploys with their service and ordered commits, in a constant number of queries."""
    return qs.select_related("service__team").prefetch_related(
        Prefetch(
            "deploy_commits",
            queryset=DeployCommit.objects.select_related("commit").order_by("position"),
        )
    )


def deploy_list(
    *,
    service: str | None = None,
    environment: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Deploy]:
    """Recent deploys first, filtered; for the /deploys/ page and `GET /api/deploys/`."""
    qs = Deploy.objects.all()
    if service:
        qs = qs.filter(service__slug=service)
    if environment:
        qs = qs.filter(environment=environment)
    if status:
        qs = qs.filter(status=status)
    if since:
        qs = qs.filter(finished_at__gte=since)
    if until:
        qs = qs.filter(finished_at__lt=until)
    return with_commits(qs).select_related("watch").order_by("-finished_at", "-pk")


def deploys_in_window(
    *,
    start: datetime,
    end: datetime,
    environments: Iterable[str] | None = None,
    services: Iterable[Service] | None = None,
) -> QuerySet[Deploy]:
    """Deploys that finished in [start, end] in the given environments (default: production),
    optionally only for some services. Served by the (environment, finished_at) index."""
    envs = list(environments or settings.PRODUCTION_ENVIRONMENTS)
    qs = Deploy.objects.filter(environment__in=envs, finished_at__gte=start, finished_at__lte=end)
    if services is not None:
        qs = qs.filter(service__in=services)
    return with_commits(qs).order_by("-finished_at", "-pk")


def service_deploy_summary(service: Service, *, now: datetime, days: int = 30) -> dict | None:
    """The service page's deploy figures: production deploys of the last `days` (total, failed,
    rolled back, per week) and the latest production deploy; None when it never deployed."""
    since = now - timedelta(days=days)
    prod = Deploy.objects.filter(service=service, environment__in=settings.PRODUCTION_ENVIRONMENTS)
    figures = prod.filter(finished_at__gte=since).aggregate(
        total=Count("pk"),
        failed=Count("pk", filter=Q(status=Deploy.Status.FAILED)),
        rolled_back=Count("pk", filter=Q(status=Deploy.Status.ROLLED_BACK)),
    )
    last = deploy_list(service=service.slug).filter(pk__in=prod.values("pk")[:1]).first()
    if last is None and not Deploy.objects.filter(service=service).exists():
        return None
    return {"figures": figures, "per_week": round(figures["total"] / (days / 7), 1), "last": last}


# --- alerts ---
AlertLinks = dict[int, list[tuple[str, str]]]
# The learning layer adds a function (alert_ids, user) -> {alert_id: [(label, url), ...]} that
# names the incidents each alert belongs to, filtered by what `user` may see (this layer cannot
# import the visibility rule, and must not write a second one).
# A registry (filled at app ready): keeps metrics_link ignorant of postmortems.
ALERT_INCIDENT_LINKS: list[Callable[[list[int], AbstractBaseUser | AnonymousUser], AlertLinks]] = []


def incident_links_for_alerts(
    alert_ids: list[int], user: AbstractBaseUser | AnonymousUser
) -> AlertLinks:
    links: AlertLinks = {}
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
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Alert]:
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


def firing_alert_count(*, service: Service | None = None) -> int:
    qs = Alert.objects.filter(status=Alert.Status.FIRING)
    if service is not None:
        qs = qs.filter(service=service)
    return qs.count()


def recent_alerts_of_service(service: Service, *, limit: int) -> list[Alert]:
    return list(Alert.objects.filter(service=service).order_by("-starts_at", "-pk")[:limit])


def alerts_of_delivery(delivery: WebhookDelivery) -> QuerySet[Alert]:
    """The alerts a webhook delivery carried, in the order they were stored."""
    return Alert.objects.filter(delivery=delivery).select_related("service").order_by("pk")


WATCH_BADGES = {
    "watching": "badge-muted",
    "healthy": "badge-ok",
    "marginal": "badge-warn",
    "regressed": "badge-danger",
    "no_data": "badge-muted",
}


def _points(series: MetricSeries, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """A series' points over [start, end]: from Prometheus for a PromQL series (the same reader
    the verdict uses; [] when it fails), else the points pushed to the API."""
    if reads_from_prometheus(series):
        return series_points(series, start, end)
    return list(
        MetricPoint.objects.filter(series=series, ts__gte=start, ts__lte=end)
        .order_by("ts")
        .values_list("ts", "value")
    )


def deploy_watch_section(deploy: Deploy) -> dict[str, Any] | None:
    """The deploy page's verdict: status, notes, and per metric its result and a before/after
    chart (the window after shaded, the same span a week earlier dashed)."""
    watch = DeployWatch.objects.filter(deploy=deploy).first()
    if watch is None:
        return None
    span = timedelta(seconds=settings.DEPLOY_WATCH_SECONDS)
    start, end = deploy.finished_at - 2 * span, deploy.finished_at + span
    week = timedelta(days=7)
    names = [r.get("name") for r in watch.results]
    series_by_name = {s.name: s for s in MetricSeries.objects.filter(name__in=names)}
    metrics = []
    for result in watch.results:
        series = series_by_name.get(result.get("name"))
        chart = None
        if series is not None:
            points = _points(series, start, end)
            earlier = [
                (ts + week, value) for ts, value in _points(series, start - week, end - week)
            ]
            chart = charts.line_chart(
                charts.Series(str(series), points),
                comparison=charts.Series("a week earlier", earlier) if earlier else None,
                window=(deploy.finished_at, end),
                window_label="after the deploy",
                title=f"{series} around the deploy",
                unit=series.unit,
                height=160,
            )
        metrics.append({"result": result, "chart": chart})
    return {
        "watch": watch,
        "badge": WATCH_BADGES.get(watch.status, "badge-muted"),
        "notes": [line for line in watch.notes.splitlines() if line],
        "metrics": metrics,
    }
