"""Demo data step "alerts & metrics" (see seed_demo). Idempotent.

- Business series revenue ($), registrations and logins, company-wide, and a system series
  (db-master connections): 5-minute points over 13 months, one-minute points for the last three
  weeks (the immune system's 10-minute windows need them), with daily and weekly seasonality, a
  slow trend and noise; a visible dip during the login outage, a connection spike on db-master,
  and a small revenue dip after checkout's marginal deploy. The business series are watched.
- Alerts: the login outage's (PostgresTooManyConnections on db-master, then LoginErrorRate on
  accounts, critical, resolved at mitigation) fire after the immune system's verdict opened the
  incident, so they join it; alerts for recent incidents (still firing for those under
  investigation), and warnings that opened nothing, each saying why.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, timedelta

from django.db import connection, transaction

from metrics_link.demo.story import (
    DB_ALERT,
    LOGIN_ALERT,
    LOGIN_OUTAGE_DIP,
    LOGIN_OUTAGE_RECOVERY_BUMP,
    LOGIN_OUTAGE_TITLE,
    LOGIN_SERVICE,
    MARGINAL_DIP,
    MARGINAL_DIP_MINUTES,
    MINUTE_POINTS_DAYS,
    login_alerts_at,
    login_outage_window,
    marginal_deploy_at,
)
from metrics_link.models import Alert, MetricPoint, MetricSeries, Service

from ..models import Incident, IncidentAlert, TimelineEntry
from ..services.alerts import below_threshold_reason

STEP = timedelta(minutes=5)
DAYS = 395
# The recent weeks at one-minute resolution: the immune system judges a deploy on 10-minute
# windows, which five-minute points would give two samples each.
RECENT_STEP = timedelta(minutes=1)
RECENT_DAYS = MINUTE_POINTS_DAYS
# name -> (bad direction, critical): the business series the immune system watches.
WATCHED = {"logins": ("drop", True), "registrations": ("drop", False), "revenue": ("drop", False)}
BATCH = 20_000

# name, label, unit, service slug or None, aggregation, kind, level per 5 minutes at peak
SERIES = [
    ("logins", "Logins", "logins", None, "sum", "business", 620.0),
    ("registrations", "Registrations", "registrations", None, "sum", "business", 38.0),
    ("revenue", "Revenue", "$", None, "sum", "business", 940.0),
    ("db-master-connections", "DB connections", "connections", "db-master", "mean", "system", 0.0),
]


def _shape(moment) -> float:
    """Daily curve (quiet at night, peak mid-afternoon UTC) times a weekly one (quieter weekends)."""
    hour = moment.hour + moment.minute / 60
    daily = 0.28 + 0.72 * math.exp(-(((hour - 15) / 5.0) ** 2))
    weekly = 0.72 if moment.weekday() >= 5 else 1.0
    return daily * weekly


def _metrics(ctx) -> int:
    if MetricSeries.objects.filter(name="logins", points__isnull=False).exists():
        return 0
    rng = random.Random(ctx.seed + 4)
    services = {s.slug: s for s in Service.objects.filter(slug__in=[LOGIN_SERVICE, "db-master"])}
    start, _detected, mitigated, _resolved = login_outage_window(ctx.now)
    marginal = marginal_deploy_at(ctx.now)
    marginal_end = marginal + timedelta(minutes=MARGINAL_DIP_MINUTES)
    first = ctx.now - timedelta(days=DAYS)
    first = first.replace(minute=first.minute - first.minute % 5, second=0, microsecond=0)
    moments = []
    moment = first
    recent = ctx.now - timedelta(days=RECENT_DAYS)
    while moment <= ctx.now:
        moments.append(moment)
        moment += RECENT_STEP if moment >= recent else STEP
    # A sum series' point holds what happened in its step: a minute holds a fifth of 5 minutes.
    scales = [RECENT_STEP / STEP if m >= recent else 1.0 for m in moments]
    shapes = [_shape(m) for m in moments]
    # Timestamps as the backend stores them (SQLite: naive UTC text, like Django writes them).
    if connection.vendor == "sqlite":
        stamps = [m.astimezone(UTC).replace(tzinfo=None).isoformat(" ") for m in moments]
    else:
        stamps = moments
    total = len(moments)
    total_points = 0
    for name, label, unit, service_slug, aggregation, kind, level in SERIES:
        series, _ = MetricSeries.objects.update_or_create(
            name=name,
            defaults={
                "label": label,
                "unit": unit,
                "service": services.get(service_slug) if service_slug else None,
                "aggregation": aggregation,
                "kind": kind,
                "watched": name in WATCHED,
                "bad_direction": WATCHED.get(name, ("drop", False))[0],
                "critical": WATCHED.get(name, ("drop", False))[1],
            },
        )
        dip = LOGIN_OUTAGE_DIP.get(name, 0.0)
        rows = []
        for index, (moment, shape) in enumerate(zip(moments, shapes, strict=True)):
            trend = 0.85 + 0.15 * index / total  # a year of growth
            if kind == "system":
                value = 140 + 90 * shape + rng.gauss(0, 6)
                if start <= moment < mitigated:
                    value = 500 - rng.random() * 4  # max_connections reached
            else:
                value = level * scales[index] * shape * trend * (1 + rng.gauss(0, 0.04))
                if start <= moment < mitigated:
                    value *= 1 - dip
                elif name == "logins" and mitigated <= moment < mitigated + timedelta(minutes=20):
                    value *= 1 + LOGIN_OUTAGE_RECOVERY_BUMP
                elif marginal < moment <= marginal_end:
                    value *= 1 - MARGINAL_DIP.get(name, 0.0)
                value = round(value, 2) if unit == "$" else float(round(value))
            rows.append((series.pk, stamps[index], max(value, 0.0)))
        _insert_points(rows)
        total_points += len(rows)
    return total_points


def _insert_points(rows: list[tuple]) -> None:
    """COPY on PostgreSQL, plain executemany elsewhere: ~450k rows in a few seconds, where
    bulk_create's per-object model machinery takes half a minute. Demo data only; the product
    writes through metrics_link.services.metrics."""
    table = connection.ops.quote_name(MetricPoint._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} (series_id, ts, value) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table} (series_id, ts, value) VALUES (%s, %s, %s)"  # noqa: S608 (table name from the model, values bound)
        for offset in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[offset : offset + BATCH])


def _alert(key, service, name, severity, starts_at, ends_at, summary, **labels) -> Alert:
    return Alert(
        source=Alert.Source.ALERTMANAGER,
        service=service,
        name=name,
        severity=severity,
        status=Alert.Status.RESOLVED if ends_at else Alert.Status.FIRING,
        labels={"alertname": name, "service": service.slug, "severity": severity, **labels},
        summary=summary,
        url=f"http://prometheus.internal:9090/alerts?search={name}",
        starts_at=starts_at,
        ends_at=ends_at,
        dedupe_key=f"demo:{key}",
        group_key=f"demo:{key}",
    )


def _entries(incident, alert) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            incident=incident,
            at=alert.starts_at,
            kind=TimelineEntry.Kind.ALERT,
            source=TimelineEntry.Source.MACHINE,
            alert=alert,
            dedupe_key=f"alert:{alert.pk}",
            body=f"Alert **{alert.name}** firing ({alert.severity}, Alertmanager): {alert.summary}",
        )
    ]
    if alert.ends_at:
        entries.append(
            TimelineEntry(
                incident=incident,
                at=alert.ends_at,
                kind=TimelineEntry.Kind.ALERT,
                source=TimelineEntry.Source.MACHINE,
                alert=alert,
                dedupe_key=f"alert:{alert.pk}:resolved",
                body=f"Alert **{alert.name}** resolved.",
            )
        )
    return entries


ALERT_NAMES = {
    "checkout": "CheckoutLatencyHigh",
    "search": "SearchEmptyResultsRate",
    "payments-gateway": "PaymentConfirmationDelay",
    "feed": "FeedHTTP5xxRate",
    "notifications": "EmailQueueStuck",
    "queue": "JobQueueBacklog",
    "edge": "EdgeErrorRate",
    "sessions": "SessionEvictions",
    "billing": "BillingRunFailed",
    "profile-web": "ProfileLatencyHigh",
    "db-master": "ReplicaLagHigh",
}


def _alerts(ctx) -> int:
    if Alert.objects.filter(dedupe_key="demo:login-outage").exists():
        return 0
    login = Incident.objects.filter(title=LOGIN_OUTAGE_TITLE).first()
    services = {s.slug: s for s in Service.objects.all()}
    rng = random.Random(ctx.seed + 5)
    start, _detected, mitigated, _resolved = login_outage_window(ctx.now)
    db_at, login_at = login_alerts_at(start)
    created: list[tuple[Alert, Incident | None, bool]] = []
    # Both join the incident the immune system opened (neither opened it).
    created.append(
        (
            _alert(
                "login-outage",
                services[LOGIN_SERVICE],
                LOGIN_ALERT,
                "critical",
                login_at,
                mitigated,
                "Login success rate below 80% for 10 minutes.",
            ),
            login,
            False,
        )
    )
    created.append(
        (
            _alert(
                "login-outage-db",
                services["db-master"],
                DB_ALERT,
                "critical",
                db_at,
                mitigated + timedelta(minutes=3),
                "db-master at max_connections (500/500) for 10 minutes.",
                instance="db-master-1:9187",
            ),
            login,
            False,
        )
    )
    recent = (
        Incident.objects.filter(started_at__gte=ctx.now - timedelta(days=60))
        .exclude(pk=getattr(login, "pk", None))
        .filter(visibility=Incident.Visibility.PUBLIC)
        .prefetch_related("services")
        .order_by("-started_at")[:14]
    )
    for incident in recent:
        service = next(iter(incident.services.all()), None)
        if service is None:
            continue
        name = ALERT_NAMES.get(service.slug, "ErrorRateHigh")
        ends = incident.mitigated_at
        opened = incident.status == Incident.Status.INVESTIGATING or rng.random() < 0.6
        if incident.status == Incident.Status.INVESTIGATING:
            # Its alert still fires: once every alert resolves, an incident becomes mitigated.
            ends = None
        created.append(
            (
                _alert(
                    f"incident-{incident.pk}",
                    service,
                    name,
                    "critical",
                    incident.started_at,
                    ends,
                    f"{name} above threshold on {service.slug}.",
                ),
                incident,
                opened,
            )
        )
    # Noise: warnings that opened nothing (the threshold rule).
    quiet = [s for s in services.values() if s.slug not in ("legacy-cron",)]
    for index in range(36):
        service = rng.choice(quiet)
        begins = ctx.now - timedelta(days=rng.uniform(0, 80), minutes=rng.randint(0, 600))
        ended = begins + timedelta(minutes=rng.randint(4, 90))
        created.append(
            (
                _alert(
                    f"noise-{index}",
                    service,
                    rng.choice(["DiskAlmostFull", "HighCPU", "SlowQueries", "CertExpiresSoon"]),
                    rng.choice(["warning", "warning", "info"]),
                    begins,
                    ended if ended < ctx.now else None,
                    "Below the incident threshold: stored, opened nothing.",
                ),
                None,
                False,
            )
        )
    for alert, incident, _opened in created:
        if incident is None:  # what /alerts/ says about an alert that opened nothing
            alert.outcome = below_threshold_reason(alert)
    Alert.objects.bulk_create([alert for alert, _i, _o in created])
    # bulk_create sets pks on PostgreSQL and SQLite ≥ 3.35; re-read them to be safe elsewhere.
    by_key = dict(
        Alert.objects.filter(dedupe_key__startswith="demo:").values_list("dedupe_key", "pk")
    )
    links, entries = [], []
    for alert, incident, opened in created:
        alert.pk = by_key[alert.dedupe_key]
        if incident is None:
            continue
        links.append(IncidentAlert(incident=incident, alert=alert, opened=opened))
        if opened and incident.origin != Incident.Origin.ALERT:
            Incident.objects.filter(pk=incident.pk).update(origin=Incident.Origin.ALERT)
        entries.extend(_entries(incident, alert))
    if login is not None:
        # The incidents step wrote the paging alert as a plain machine entry: tie it to the row.
        first = created[0][0]
        TimelineEntry.objects.filter(
            incident=login, kind=TimelineEntry.Kind.ALERT, at=login_at, dedupe_key=""
        ).update(alert=first, dedupe_key=f"alert:{first.pk}")
        entries = [
            e
            for e in entries
            if not (e.incident_id == login.pk and e.dedupe_key == f"alert:{first.pk}")
        ]
    IncidentAlert.objects.bulk_create(links)
    TimelineEntry.objects.bulk_create(entries)
    return len(created)


@transaction.atomic
def run(ctx, progress) -> None:
    points = _metrics(ctx)
    alerts = _alerts(ctx)
    if not points and not alerts:
        progress("already seeded")
        return
    progress(f"{points:,} metric points in {len(SERIES)} series; {alerts} alerts")
