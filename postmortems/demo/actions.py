"""Demo data step: action items in every state and age, across teams. Idempotent (keyed on titles).

Some are overdue past each escalation step (due today, < 7 d, 7-14 d, > 14 d), a few are closed
with verification notes or won't-do reasons, one belongs to the restricted incident (its owner and
its team's manager see it without the incident's details). The why chain's seed adds the login
outage's items; this step does not touch those. Reminder rows are recorded by the real scan.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from metrics_link.demo.story import LOGIN_OUTAGE_TITLE
from metrics_link.models import Team

from ..models import ActionItem, Incident, ReminderSent, TimelineEntry
from ..services import actions as svc
from ..services.reminders import scan_reminders

# (title, owner, team, due in days from today (negative: past), status, type, priority, hours,
#  created days ago, incident slot: None | "recent" | "older" | "restricted")
SPECS = [
    (
        "Alert on checkout p99 latency above 1.5 s",
        "tom",
        "payments",
        0,
        "open",
        "detect",
        "p1",
        3,
        10,
        "recent",
    ),
    (
        "Add a load test for the cart service",
        "lena",
        "payments",
        4,
        "in_progress",
        "prevent",
        "p2",
        12,
        9,
        "recent",
    ),
    (
        "Document the payments failover runbook",
        "sara",
        "payments",
        -3,
        "open",
        "process",
        "p2",
        4,
        20,
        "older",
    ),
    (
        "Retry payment confirmations with backoff",
        "tom",
        "payments",
        -9,
        "in_progress",
        "prevent",
        "p1",
        16,
        30,
        "older",
    ),
    (
        "Rotate tenant export signing keys",
        "tom",
        "payments",
        -16,
        "open",
        "mitigate",
        "p1",
        6,
        35,
        "restricted",
    ),
    (
        "Cap search query fan-out per request",
        "julia",
        "growth",
        2,
        "open",
        "prevent",
        "p2",
        8,
        6,
        "recent",
    ),
    (
        "Dashboard for home-feed error budget",
        "dev",
        "growth",
        -5,
        "open",
        "detect",
        "p3",
        5,
        18,
        "older",
    ),
    (
        "Cache profile lookups on profile-web",
        "dev",
        "growth",
        -20,
        "open",
        "prevent",
        "p1",
        20,
        40,
        "older",
    ),
    (
        "Feature-flag every new query path",
        "omar",
        "growth",
        -11,
        "open",
        "process",
        "p2",
        6,
        26,
        None,
    ),
    (
        "Session store: alert on eviction rate",
        "kenji",
        "identity",
        0,
        "open",
        "detect",
        "p2",
        3,
        5,
        "recent",
    ),
    (
        "Game day: session store failover",
        "bob",
        "identity",
        -2,
        "in_progress",
        "mitigate",
        "p2",
        10,
        15,
        "older",
    ),
    (
        "Limit connections per service on the master",
        "ned",
        "platform",
        -8,
        "open",
        "prevent",
        "p1",
        12,
        22,
        "older",
    ),
    (
        "Queue backlog alert with a 10-minute window",
        "alice",
        "platform",
        6,
        "open",
        "detect",
        "p3",
        2,
        3,
        None,
    ),
    (
        "Edge: canary every CDN config change",
        "maria",
        "platform",
        -15,
        "in_progress",
        "prevent",
        "p2",
        14,
        44,
        "older",
    ),
    (
        "Write the on-call handover checklist",
        "demo",
        "platform",
        1,
        "open",
        "process",
        "p3",
        2,
        2,
        None,
    ),
    (
        "Replica lag alert on the primary database",
        "demo",
        "platform",
        -4,
        "open",
        "detect",
        "p2",
        4,
        12,
        "older",
    ),
    (
        "Review notification email retry policy",
        "demo",
        "platform",
        -12,
        "in_progress",
        "mitigate",
        "p2",
        5,
        28,
        "older",
    ),
    ("Backfill billing-run monitoring", "demo", "payments", 12, "open", "detect", "p3", 6, 4, None),
    (
        "Add a synthetic login check every minute",
        "kenji",
        "identity",
        -30,
        "done",
        "detect",
        "p1",
        4,
        60,
        "older",
    ),
    (
        "Autoscale the job queue workers",
        "alice",
        "platform",
        -20,
        "done",
        "mitigate",
        "p2",
        10,
        50,
        "older",
    ),
    (
        "Reduce cart service cold-start time",
        "lena",
        "payments",
        -40,
        "done",
        "prevent",
        "p2",
        16,
        75,
        "older",
    ),
    (
        "Publish the incident commander guide",
        "maria",
        "platform",
        -25,
        "done",
        "process",
        "p3",
        6,
        55,
        None,
    ),
    (
        "Rewrite the feed ranking job in Rust",
        "julia",
        "growth",
        -10,
        "wont_do",
        "prevent",
        "p4",
        80,
        45,
        "older",
    ),
    (
        "Move sessions to a new datastore",
        "bob",
        "identity",
        -35,
        "wont_do",
        "prevent",
        "p3",
        120,
        80,
        None,
    ),
    (
        "Weekly review of slow-query log",
        "omar",
        "growth",
        -60,
        "done",
        "process",
        "p3",
        2,
        95,
        None,
    ),
    (
        "Tighten deploy freeze checklist",
        "demo",
        "platform",
        -45,
        "done",
        "process",
        "p3",
        3,
        70,
        None,
    ),
]

NOTES = {
    "done": [
        "Drill on staging: the alert fired within 2 minutes and paged the right rotation.",
        "Load test at 3x peak passed; p99 stayed under 400 ms. Dashboard linked in the ticket.",
        "Shipped behind a flag, enabled for 100% for a week with no regressions.",
        "Checked in the weekly review: on-call used the guide in the last two incidents.",
    ],
    "wont_do": [
        "Superseded: the platform team's new caching layer removes the hot path.",
        "Risk accepted by the team: the cost is far above the expected benefit.",
    ],
}


def _backdate_timeline(item, created_at, closed_at) -> None:
    """The services stamp their timeline entries "now"; move them to the story's moments."""
    if not item.incident_id:
        return
    entries = list(
        TimelineEntry.objects.filter(
            incident_id=item.incident_id, kind="action", body__contains=item.title
        ).order_by("id")
    )
    for index, entry in enumerate(entries):
        entry.at = created_at if index == 0 or closed_at is None else closed_at
    TimelineEntry.objects.bulk_update(entries, ["at"])


@transaction.atomic
def run(ctx, progress) -> None:
    rng = random.Random(ctx.seed + 6)
    User = get_user_model()
    users = {u.username: u for u in User.objects.all()}
    teams = {t.slug: t for t in Team.objects.all()}
    if not teams or "demo" not in users:
        progress("skipped (no catalog)")
        return
    existing = set(ActionItem.objects.values_list("title", flat=True))
    incidents = list(
        Incident.objects.alive()
        .filter(visibility=Incident.Visibility.PUBLIC)
        .exclude(title=LOGIN_OUTAGE_TITLE)
        .order_by("-started_at")[:40]
    )
    restricted = Incident.objects.alive().filter(visibility="restricted").first()
    today = timezone.localdate(ctx.now)
    made = 0
    for index, spec in enumerate(SPECS):
        (title, owner, team, due_in, status, type_, prio, hours, age, slot) = spec
        if title in existing or owner not in users or team not in teams:
            continue
        incident = None
        if slot == "restricted":
            incident = restricted
        elif slot == "recent" and incidents:
            incident = incidents[index % min(5, len(incidents))]
        elif slot == "older" and incidents:
            incident = (
                incidents[5 + index % max(1, len(incidents) - 5)]
                if len(incidents) > 5
                else incidents[0]
            )
        created_at = ctx.now - timedelta(days=age, hours=rng.randint(0, 8))
        item = svc.create_action_item(
            title=title,
            description="Came out of the postmortem's why chain."
            if incident
            else "Agreed at the team's weekly meeting.",
            owner=users[owner],
            team=teams[team],
            incident=incident,
            due_on=today + timedelta(days=due_in),
            priority=prio,
            type=type_,
            estimated_hours=hours,
            created_by=users[owner],
            allow_past_due=True,
        )
        by = users[owner]
        if status == "in_progress":
            svc.start_action_item(item=item, by=by)
        elif status == "done":
            svc.complete_action_item(
                item=item,
                by=by,
                verification_note=rng.choice(NOTES["done"]),
                actual_hours=round(hours * rng.uniform(0.7, 1.6), 1),
            )
        elif status == "wont_do":
            svc.wont_do_action_item(item=item, by=by, reason=rng.choice(NOTES["wont_do"]))
        closed_at = None
        if status in ActionItem.CLOSED_STATUSES:
            closed_at = min(ctx.now, created_at + timedelta(days=rng.randint(3, max(4, age - 2))))
        ActionItem.objects.filter(pk=item.pk).update(created_at=created_at, closed_at=closed_at)
        _backdate_timeline(item, created_at, closed_at)
        made += 1

    # History for the team view's 12-week chart: closed items spread over the last 3 months.
    history_titles = [f"Follow-up #{n}: tidy alert thresholds" for n in range(1, 25)]
    for n, title in enumerate(history_titles):
        if title in existing:
            continue
        team = list(teams.values())[n % len(teams)]
        owner = team.members.order_by("username").first() or team.manager or users["demo"]
        age = rng.randint(14, 88)
        created_at = ctx.now - timedelta(days=age)
        item = svc.create_action_item(
            title=title,
            owner=owner,
            team=team,
            due_on=(created_at + timedelta(days=14)).date(),
            priority="p3",
            type=rng.choice(ActionItem.Type.values),
            estimated_hours=rng.choice([1, 2, 3, 5]),
            created_by=owner,
            allow_past_due=True,
        )
        closed = rng.random() < 0.8
        if closed:
            svc.complete_action_item(
                item=item, by=owner, verification_note=rng.choice(NOTES["done"])
            )
        ActionItem.objects.filter(pk=item.pk).update(
            created_at=created_at,
            closed_at=created_at + timedelta(days=rng.randint(2, min(age, 40))) if closed else None,
        )
        made += 1

    # Reminders: the real scan records what is due; mark them delivered, as the workers would have.
    result = scan_reminders(today=today, now=ctx.now, enqueue=False)
    ReminderSent.objects.filter(pk__in=[r.pk for r in result.recorded]).update(sent_at=ctx.now)
    open_count = ActionItem.objects.alive().filter(status__in=["open", "in_progress"]).count()
    overdue = (
        ActionItem.objects.alive()
        .filter(status__in=["open", "in_progress"], due_on__lt=today)
        .count()
    )
    progress(
        f"{made} items created ({open_count} open, {overdue} overdue); "
        f"{len(result.recorded)} reminders recorded"
    )
