"""Demo data step: retros & reviews (runs last; see seed_demo). Idempotent.

Experiments, one retrospective per team per two-week sprint over the last quarter (items, votes,
a few action items), one confirmed recurrence, and the last 12 weekly reviews. Deploys, commits,
culprit verdicts and business metrics come from earlier steps; only when none exist (this
branch alone) a minimal set is generated so every section of the review has numbers.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from metrics_link.models import (
    Commit,
    Deploy,
    DeployCommit,
    MetricPoint,
    MetricSeries,
    Service,
    Team,
)

from .. import reviews_metrics as rm
from ..models import (
    ActionItem,
    Experiment,
    Incident,
    Recurrence,
    RetroItem,
    Retrospective,
    RetroVote,
    SuspectVerdict,
    WeeklyReview,
    WhyNode,
)
from ..services import reviews as review_services
from ..services.actions import create_action_item

EXPERIMENTS = [
    {
        "name": "One-page checkout",
        "hypothesis": "Folding shipping and payment into one page raises completed checkouts.",
        "control_trials": 4210,
        "control_conversions": 312,
        "experiment_trials": 4188,
        "experiment_conversions": 398,
        "split": 0.5,
        "decision": "Ship to everyone; keep the old flow behind a flag for a month.",
        "days": (40, 10),
    },
    {
        "name": "Magic-link login",
        "hypothesis": "Emailing a sign-in link lowers failed logins without hurting returning users.",
        "control_trials": 9120,
        "control_conversions": 8610,
        "experiment_trials": 9077,
        "experiment_conversions": 8644,
        "split": 0.5,
        "decision": "No measurable effect; keep passwords, revisit with passkeys.",
        "days": (30, None),
    },
    {
        "name": "Recently viewed panel (v2, cached)",
        "hypothesis": "A cached recently-viewed panel raises profile-to-purchase clicks.",
        "control_trials": 7000,
        "control_conversions": 420,
        "experiment_trials": 3000,
        "experiment_conversions": 222,
        "split": 0.3,
        "decision": "Promising; widen to 50% once the cache hit rate holds above 95%.",
        "days": (20, None),
    },
]

ITEMS = {
    "start": [
        "Pairing on risky migrations",
        "Load-testing queries before they ship",
        "Writing the rollback step in every deploy PR",
        "A weekly 15-minute look at slow-query logs",
        "Feature flags for every new panel",
    ],
    "stop": [
        "Merging on Friday afternoon",
        "Ignoring flaky tests",
        "Long-lived branches",
        "Paging the whole team for sev4s",
    ],
    "continue": [
        "Blameless incident reviews",
        "Small, frequent deploys",
        "Demo at the end of the sprint",
        "Runbooks next to the alerts",
    ],
    "learned": [
        "Connection pools fail loudly only at the limit",
        "Canaries catch config errors, not slow queries",
        "Dashboards nobody looks at do not help",
        "Alert on symptoms, not causes",
    ],
}

RETRO_ACTIONS = [
    "Add a query budget check to CI",
    "Write the deploy rollback runbook",
    "Turn the flaky-test list into tickets",
    "Move sev4 pages to business hours",
]


def _ensure_deploys(ctx, rng) -> str:
    """Minimal production deploys, commits and confirmed culprits, only if none exist."""
    if Deploy.objects.exists():
        return "deploys already recorded"
    services = list(Service.objects.filter(claimed=True).order_by("slug"))
    prod = settings.PRODUCTION_ENVIRONMENTS[0]
    deploys, commits, links = [], [], []
    seq = 0
    for day in range(0, 98):
        for service in rng.sample(services, rng.randint(1, 4)):
            finished = ctx.now - timedelta(
                days=day, hours=rng.randint(0, 10), minutes=rng.randint(0, 59)
            )
            env = prod if rng.random() > 0.15 else "staging"
            status = rng.choices(["success", "failed", "rolled_back"], weights=[92, 5, 3])[0]
            deploy = Deploy(
                service=service,
                environment=env,
                repository=service.repositories[0] if service.repositories else "",
                sha=f"{rng.getrandbits(160):040x}",
                version=f"v{day}.{seq}",
                status=status,
                started_at=finished - timedelta(minutes=6),
                finished_at=finished,
                deployer="ci-bot",
                provider=Deploy.Provider.CLI,
                external_id=f"demo-reviews-{seq}",
            )
            deploys.append(deploy)
            for k in range(rng.randint(1, 4)):
                seq += 1
                commits.append(
                    (
                        len(deploys) - 1,
                        Commit(
                            repository=deploy.repository,
                            sha=f"{rng.getrandbits(160):040x}",
                            author=rng.choice(["maria", "ned", "bob", "tom", "julia"]),
                            message=f"Change {seq}",
                            committed_at=finished - timedelta(hours=rng.randint(1, 70), minutes=k),
                            push_seq=seq,
                        ),
                    )
                )
            seq += 1
    Deploy.objects.bulk_create(deploys)
    Commit.objects.bulk_create([c for _, c in commits])
    saved = {
        d.external_id: d for d in Deploy.objects.filter(external_id__startswith="demo-reviews-")
    }
    commit_ids = dict(
        Commit.objects.filter(sha__in=[c.sha for _, c in commits]).values_list("sha", "id")
    )
    for position, (index, commit) in enumerate(commits):
        links.append(
            DeployCommit(
                deploy=saved[deploys[index].external_id],
                commit_id=commit_ids[commit.sha],
                position=position,
            )
        )
    DeployCommit.objects.bulk_create(links)
    # Confirmed culprits: for about a third of recent incidents, the last production deploy
    # of its service before it started.
    verdicts = []
    for incident in (
        Incident.objects.alive()
        .filter(started_at__gte=ctx.now - timedelta(days=95))
        .prefetch_related("services")
    ):
        if rng.random() > 0.35:
            continue
        services_ = list(incident.services.all())
        deploy = (
            Deploy.objects.filter(
                service__in=services_, environment=prod, finished_at__lt=incident.started_at
            )
            .order_by("-finished_at")
            .first()
        )
        if deploy:
            verdicts.append(
                SuspectVerdict(
                    incident=incident,
                    deploy=deploy,
                    verdict=rng.choice(["culprit", "culprit", "contributing"]),
                    at=incident.started_at + timedelta(hours=1),
                )
            )
    SuspectVerdict.objects.bulk_create(verdicts, ignore_conflicts=True)
    return f"{len(deploys)} deploys, {len(verdicts)} verdicts generated"


def _ensure_business_metrics(ctx, rng) -> str:
    if MetricPoint.objects.filter(series__kind=MetricSeries.Kind.BUSINESS).exists():
        return "business metrics already recorded"
    specs = [
        ("revenue", "Revenue", "$", 2400.0),
        ("registrations", "Registrations", "signups", 38.0),
        ("logins", "Logins", "logins", 1900.0),
    ]
    points = []
    end = ctx.now.replace(minute=0)
    for name, label, unit, base in specs:
        series, _ = MetricSeries.objects.get_or_create(
            name=name, defaults={"label": label, "unit": unit, "kind": MetricSeries.Kind.BUSINESS}
        )
        for hour in range(14 * 7 * 24):
            ts = end - timedelta(hours=hour)
            local = timezone.localtime(ts)
            daily = 0.35 + 0.65 * max(0.0, 1 - abs(local.hour - 14) / 10)
            weekly = 0.8 if local.weekday() >= 5 else 1.0
            growth = 1 + 0.002 * (14 * 7 - hour / 24)
            value = base * daily * weekly * growth * rng.uniform(0.85, 1.15)
            points.append(MetricPoint(series=series, ts=ts, value=round(value, 2)))
    MetricPoint.objects.bulk_create(points, ignore_conflicts=True, batch_size=2000)
    return f"{len(points)} business metric points generated"


def _retros(ctx, rng) -> str:
    if Retrospective.objects.exists():
        return "retros already seeded"
    today = timezone.localdate()
    # Sprints end on the last Friday; two-week sprints back over the quarter.
    last_friday = today - timedelta(days=(today.weekday() - 4) % 7 or 7)
    retros, items, created = [], [], 0
    for team in Team.objects.prefetch_related("members").order_by("name"):
        members = list(team.members.all()) or ([team.manager] if team.manager else [])
        if not members:
            continue
        for n in range(6):
            end = last_friday - timedelta(weeks=2 * n)
            start = end - timedelta(days=11)
            week = end.isocalendar()[1]
            retros.append(
                Retrospective(
                    team=team,
                    name=f"Sprint {week}",
                    sprint_start=start,
                    sprint_end=end,
                    facilitator=rng.choice(members),
                    created_by=team.manager or members[0],
                    published=True,
                    published_at=timezone.make_aware(datetime.combine(end, time.min))
                    + timedelta(hours=16),
                    summary="Fewer pages, steadier deploys; the query budget is the next step."
                    if n == 0
                    else "",
                )
            )
    Retrospective.objects.bulk_create(retros)
    retros = list(Retrospective.objects.select_related("team").prefetch_related("team__members"))
    for retro in retros:
        members = list(retro.team.members.all())
        for column, texts in ITEMS.items():
            for text in rng.sample(texts, rng.randint(1, 3)):
                items.append(
                    RetroItem(
                        retrospective=retro, column=column, text=text, author=rng.choice(members)
                    )
                )
    RetroItem.objects.bulk_create(items)
    votes = []
    for item in RetroItem.objects.select_related("retrospective__team").prefetch_related(
        "retrospective__team__members"
    ):
        members = list(item.retrospective.team.members.all())
        for voter in rng.sample(members, rng.randint(0, len(members))):
            votes.append(RetroVote(item=item, user=voter))
    RetroVote.objects.bulk_create(votes, ignore_conflicts=True)
    for retro in retros:
        members = list(retro.team.members.all())
        for title in rng.sample(RETRO_ACTIONS, rng.randint(0, 2)):
            item = create_action_item(
                title=title,
                created_by=retro.created_by,
                owner=rng.choice(members),
                team=retro.team,
                retrospective=retro,
                due_on=retro.sprint_end + timedelta(days=14),
                allow_past_due=True,
                type=ActionItem.Type.PROCESS,
            )
            created += 1
            opened_at = timezone.make_aware(
                datetime.combine(retro.sprint_end, time.min)
            ) + timedelta(hours=16)
            ActionItem.objects.filter(pk=item.pk).update(created_at=opened_at)
            if retro.sprint_end + timedelta(days=10) < today and rng.random() < 0.7:
                closed = timezone.make_aware(
                    datetime.combine(
                        retro.sprint_end + timedelta(days=rng.randint(3, 12)),
                        time.min,
                    )
                ) + timedelta(hours=15)
                ActionItem.objects.filter(pk=item.pk).update(
                    status=ActionItem.Status.DONE,
                    closed_at=closed,
                    closed_by=item.owner,
                    verification_note="Checked in the next sprint review.",
                )
    return f"{len(retros)} retros, {len(items)} items, {len(votes)} votes, {created} actions"


def _recurrence(ctx, rng) -> str:
    if Recurrence.objects.filter(status=Recurrence.Status.CONFIRMED).exists():
        return "recurrence already seeded"
    # Two public, resolved incidents of the same service: the later one in the last three weeks.
    recent = (
        Incident.objects.alive()
        .filter(
            visibility=Incident.Visibility.PUBLIC,
            resolved_at__isnull=False,
            started_at__gte=ctx.now - timedelta(days=21),
            started_at__lt=ctx.now - timedelta(days=8),
        )
        .exclude(close_reason__in=["false_alarm", "duplicate"])
        .prefetch_related("services")
        .order_by("-started_at")
    )
    for later in recent:
        service = next(iter(later.services.all()), None)
        if service is None:
            continue
        earlier = (
            Incident.objects.alive()
            .filter(
                visibility=Incident.Visibility.PUBLIC,
                services=service,
                resolved_at__isnull=False,
                started_at__lt=later.started_at - timedelta(days=30),
            )
            .exclude(close_reason__in=["false_alarm", "duplicate"])
            .order_by("-started_at")
            .first()
        )
        if earlier:
            break
    else:
        return "no pair of incidents for a recurrence"
    category = WhyNode.Category.INFRASTRUCTURE
    by = later.commander or earlier.commander
    for incident, answer in (
        (earlier, f"The {service.slug} connection pool was exhausted under a traffic spike."),
        (later, f"The {service.slug} connection pool ran out again under load."),
    ):
        node = WhyNode.objects.alive().filter(incident=incident, category=category).first()
        if node is None:
            node = WhyNode.objects.create(
                incident=incident,
                level=1,
                question=f"Why did {incident.impact.rstrip('.').lower() or 'it happen'}?",
                answer=answer,
                category=category,
                author=incident.commander,
            )
        if incident is earlier:
            items = list(ActionItem.objects.alive().filter(incident=earlier))
            if not items:
                for title in ("Cap the pool per worker", "Alert at 80% pool use"):
                    items.append(
                        create_action_item(
                            title=title,
                            created_by=by,
                            owner=incident.commander,
                            team=service.team,
                            incident=earlier,
                            why_node=node,
                            due_on=(earlier.started_at + timedelta(days=14)).date(),
                            allow_past_due=True,
                        )
                    )
            ActionItem.objects.filter(pk__in=[i.pk for i in items]).update(
                status=ActionItem.Status.DONE,
                closed_at=earlier.started_at + timedelta(days=10),
                closed_by=by,
                verification_note="Deployed and watched for a week.",
            )
    decided = review_services.decide_recurrence(
        incident=later,
        earlier=earlier,
        by=by,
        confirm=True,
        reason="Same pool exhaustion; the cap was per worker and workers were scaled up.",
    )
    # The decision belongs to the week of the later incident, so its review shows it.
    Recurrence.objects.filter(pk=decided.pk).update(
        decided_at=later.resolved_at or later.started_at + timedelta(hours=6)
    )
    return f"recurrence #{later.pk} → #{earlier.pk} confirmed"


def _experiments(ctx) -> str:
    owners = list(get_user_model().objects.filter(username__in=["omar", "sara", "julia"]))
    made = 0
    today = timezone.localdate()
    for i, spec in enumerate(EXPERIMENTS):
        spec = dict(spec)
        start_days, end_days = spec.pop("days")
        _, was_new = Experiment.objects.get_or_create(
            name=spec["name"],
            defaults={
                **spec,
                "owner": owners[i % len(owners)] if owners else None,
                "started_on": today - timedelta(days=start_days),
                "ended_on": today - timedelta(days=end_days) if end_days else None,
            },
        )
        made += was_new
    return f"{made} experiments"


def run(ctx, progress) -> None:
    rng = random.Random(ctx.seed + 8)
    notes = []
    with transaction.atomic():
        notes.append(_ensure_deploys(ctx, rng))
        notes.append(_ensure_business_metrics(ctx, rng))
        notes.append(_experiments(ctx))
        notes.append(_retros(ctx, rng))
        notes.append(_recurrence(ctx, rng))
    built = 0
    today = timezone.localdate()
    for back in range(12, 0, -1):
        week = rm.iso_week_of(today - timedelta(weeks=back))
        if WeeklyReview.objects.filter(iso_week=week).exists():
            continue
        review_services.build_weekly_review(week=week, mail=False)
        built += 1
    notes.append(f"{built} weekly reviews built")
    progress("; ".join(notes))
