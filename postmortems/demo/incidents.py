"""Incidents over 13 months (dense in the last 90 days) in every status, and the login outage in full."""

from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from metrics_link.demo.story import (
    LOGIN_OUTAGE_TITLE,
    LOGIN_SERVICE,
    login_alerts_at,
    login_outage_window,
)
from metrics_link.models import Service

from ..models import Incident, TimelineEntry
from ..models.incidents import Provenance
from ..services.incidents import add_timeline_entry

TEMPLATES = [
    ("Checkout latency above 2 s", "checkout", "Checkout pages slow; some carts abandoned."),
    ("Search returning empty results", "search", "Searches return nothing for a share of users."),
    (
        "Payment confirmations delayed",
        "payments-gateway",
        "Customers see 'pending' for minutes after paying.",
    ),
    ("Home feed errors (5xx)", "feed", "A share of home-feed loads fail with an error page."),
    ("Notification emails not sent", "notifications", "Password-reset and receipt emails delayed."),
    ("Job queue backlog growing", "queue", "Background jobs delayed by up to an hour."),
    ("Elevated error rate on edge", "edge", "Static assets fail to load for some regions."),
    ("Session store evictions", "sessions", "Users logged out unexpectedly."),
    ("Billing run failed", "billing", "Monthly invoices not generated on time."),
    ("Profile pages timing out", "profile-web", "Profile pages load slowly or time out."),
    ("Replica lag on primary database", "db-master", "Stale data shown after writes."),
]

# (minutes after the start, or ALERT: when LoginErrorRate fired), kind, source, body, starred.
# The immune system's verdict (the entry that opened the incident) is added by the "verdicts"
# step, which judges the deploys (postmortems/demo/immune.py).
ALERT = "alert"
LOGIN_TIMELINE = [
    (
        ALERT,
        "alert",
        "machine",
        "Alert **LoginErrorRate** firing: login success rate below 80%.",
        True,
    ),
    (
        14,
        "note",
        "human",
        "Paged by the immune system's incident. Login error rate at 35%. Looking at accounts "
        "dashboards.",
        False,
    ),
    (
        16,
        "note",
        "human",
        "accounts pods healthy; errors are `too many connections` from the master database.",
        True,
    ),
    (
        19,
        "note",
        "human",
        "Master at `max_connections` (500). Top queries: `recently_viewed` from profile-web, 1.8 s each.",
        True,
    ),
    (
        26,
        "note",
        "human",
        "profile-web v2.41.0 (*recently viewed* panel) finished as it started; the immune "
        "system had flagged it first.",
        False,
    ),
    (38, "note", "human", "Rolled back profile-web to v2.40.3.", True),
    (52, "status", "human", "Mitigated. Connections back to 180; login success rate 99.6%.", True),
    (
        130,
        "status",
        "human",
        "Resolved. Error rate normal for an hour; keeping the feature flag off.",
        False,
    ),
]


def _user(username: str):
    return get_user_model().objects.get(username=username)


@transaction.atomic
def run(ctx, progress) -> None:
    rng = random.Random(ctx.seed)
    if Incident.objects.filter(title=LOGIN_OUTAGE_TITLE).exists():
        progress("already seeded")
        return
    services = {s.slug: s for s in Service.objects.all()}
    people = list(get_user_model().objects.exclude(username="demo").order_by("username"))
    demo = _user("demo")

    # The story told in full.
    start, detected, mitigated, resolved = login_outage_window(ctx.now)
    login = Incident.objects.create(
        title=LOGIN_OUTAGE_TITLE,
        severity="sev1",
        status=Incident.Status.RESOLVED,
        impact="Logins failed for about 35% of users for 52 minutes.",
        summary=(
            "The master database ran out of connections after the *recently viewed* panel shipped "
            "with slow, uncached queries on the master. Logins need a master connection, so they failed."
        ),
        started_at=start,
        started_at_source=Provenance.IMMUNE,
        detected_at=detected,
        detected_at_source=Provenance.IMMUNE,
        mitigated_at=mitigated,
        resolved_at=resolved,
        commander=demo,
        reporter=_user("bob"),
        origin=Incident.Origin.IMMUNE,
    )
    login.services.set([services[LOGIN_SERVICE], services["db-master"]])
    login.responders.set([_user("bob"), _user("ned"), _user("maria")])
    _db_alert, login_alert = login_alerts_at(start)
    for minutes, kind, source, body, starred in LOGIN_TIMELINE:
        at = login_alert if minutes == ALERT else start + timedelta(minutes=minutes)
        author = (
            None
            if source == "machine"
            else (_user("bob") if at < start + timedelta(minutes=20) else demo)
        )
        add_timeline_entry(
            incident=login,
            body=body,
            kind=kind,
            author=author,
            at=at,
            source=source,
            starred=starred,
        )

    # A restricted one: demo is not among its people (log in as bob to see it; as alice you get 404).
    sec = Incident.objects.create(
        title="Customer data export exposed to wrong tenant",
        severity="sev2",
        status=Incident.Status.MITIGATED,
        visibility=Incident.Visibility.RESTRICTED,
        impact="One tenant's export link briefly listed another tenant's file names.",
        started_at=ctx.now - timedelta(days=3, hours=5),
        detected_at=ctx.now - timedelta(days=3, hours=4),
        mitigated_at=ctx.now - timedelta(days=3, hours=2),
        commander=_user("priya"),
        reporter=_user("bob"),
    )
    sec.services.set([services["accounts"]])
    sec.responders.set([_user("kenji")])
    add_timeline_entry(
        incident=sec,
        body="Export links disabled for all tenants.",
        author=_user("bob"),
        at=sec.mitigated_at,
        kind="status",
    )

    # History: 13 months, dense in the last 90 days.
    count = 2
    days = sorted(
        {rng.randint(0, 89) for _ in range(55)} | {rng.randint(90, 395) for _ in range(45)}
    )
    for day in days:
        title, svc, impact = rng.choice(TEMPLATES)
        started = ctx.now - timedelta(
            days=day, hours=rng.randint(0, 20), minutes=rng.randint(0, 59)
        )
        sev = rng.choices(["sev1", "sev2", "sev3", "sev4"], weights=[1, 4, 8, 4])[0]
        ttd = timedelta(minutes=rng.randint(1, 25))
        ttm = ttd + timedelta(minutes=rng.randint(5, 120))
        ttr = ttm + timedelta(minutes=rng.randint(10, 300))
        if day < 1:
            status = "investigating"
        elif day < 3:
            status = rng.choice(["mitigated", "investigating"])
        elif day < 20:
            status = rng.choice(["resolved", "resolved", "closed"])
        else:
            status = rng.choice(["closed", "closed", "closed", "resolved"])
        close_reason = ""
        if status == "closed":
            close_reason = rng.choices(
                ["resolved", "false_alarm", "duplicate"], weights=[12, 2, 1]
            )[0]
            if close_reason == "duplicate":
                close_reason = "false_alarm"
        commander = rng.choice(people)
        inc = Incident.objects.create(
            title=title,
            severity=sev,
            status=status,
            impact=impact,
            started_at=started,
            detected_at=started + ttd,
            mitigated_at=started + ttm if status != "investigating" else None,
            resolved_at=started + ttr if status in ("resolved", "closed") else None,
            closed_at=started + ttr + timedelta(days=2) if status == "closed" else None,
            close_reason=close_reason,
            commander=commander,
            reporter=rng.choice(people),
        )
        inc.services.set([services[svc]])
        inc.responders.set(rng.sample(people, 2))
        entries = [
            TimelineEntry(
                incident=inc,
                at=started + ttd,
                kind="status",
                source="machine",
                body=f"Incident filed as {sev.upper()}: investigating.",
            ),
            TimelineEntry(
                incident=inc,
                at=started + ttd + timedelta(minutes=3),
                kind="note",
                author=commander,
                body="Looking at dashboards and recent deploys.",
            ),
        ]
        if inc.mitigated_at:
            entries.append(
                TimelineEntry(
                    incident=inc,
                    at=inc.mitigated_at,
                    kind="status",
                    author=commander,
                    body="Mitigated.",
                    starred=True,
                )
            )
        if inc.resolved_at:
            entries.append(
                TimelineEntry(
                    incident=inc,
                    at=inc.resolved_at,
                    kind="status",
                    author=commander,
                    body="Resolved.",
                )
            )
        TimelineEntry.objects.bulk_create(entries)
        count += 1
    progress(f"{count} incidents (the login outage is #{login.pk})")
