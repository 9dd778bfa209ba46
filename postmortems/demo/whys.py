"""Demo data step: why trees (see seed_demo). Idempotent.

The login outage told in full (five levels, a corrective action at each, a second branch that
stops with a reason), complete trees for a few other resolved incidents, and one tree still in
progress. Every answer is worded toward the system, never a person.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from metrics_link.demo.story import LOGIN_OUTAGE_TITLE

from ..models import Incident, WhyNode
from ..services.whys import add_corrective_action, add_why, set_stop_reason

# (question or None, answer, category, action: (title, owner, due in days, type, hours, priority))
LOGIN_CHAIN = [
    (
        None,
        "The master database hit its connection limit (500 of 500), and every login needs a "
        "connection to the master.",
        "infrastructure",
        ("Alert when master connections pass 80% of max_connections", "maria", -5, "detect", 6),
    ),
    (
        "Why did the master run out of connections?",
        "A new feature, the “recently viewed” panel in profile-web v2.41.0, runs slow queries "
        "(1.8 s each) on the master and holds a connection for each.",
        "code",
        ("Route recently-viewed reads to the read replicas", "julia", 2, "prevent", 16),
    ),
    (
        "Why does the feature send so many slow queries to the master?",
        "The feature's query results have a cache time of zero, so every profile view runs the "
        "query again.",
        "code",
        ("Cache recently-viewed results for 10 minutes", "dev", -2, "prevent", 8),
    ),
    (
        "Why is the cache time zero?",
        "The feature copied the example query in the codebase, and that example was itself "
        "uncached.",
        "code",
        ("Fix the example query and mark it as the reference pattern", "julia", 9, "prevent", 12),
    ),
    (
        "Why was the uncached example the pattern to copy?",
        "Onboarding does not cover caching slow queries or keeping them off the master; the "
        "example was the only guidance a new engineer had.",
        "knowledge",
        (
            "Add “queries on the master: cache or replicate” to onboarding, with an exercise",
            "omar",
            21,
            "process",
            24,
        ),
    ),
]

LOGIN_BRANCH = [
    (
        "Why did the master run out of connections?",
        "Each profile-web pod may open 40 connections; autoscaling to 14 pods alone can exceed "
        "the master's limit.",
        "infrastructure",
        ("Put PgBouncer in front of the master with a global budget", "ned", 14, "prevent", 24),
    ),
    (
        "Why can pool sizes add up past the limit?",
        "Pool sizes are set per service, and nothing checks their total against the master's "
        "max_connections.",
        "tooling",
        ("CI check: pool size x max pods ≤ 80% of max_connections", "alice", 18, "prevent", 10),
    ),
]
LOGIN_BRANCH_STOP = (
    "The deeper cause is the same as level 5 of the main chain (no shared guidance on database "
    "budgets); it is tracked there."
)

# Canned complete chains for other resolved incidents, by service.
CHAINS = {
    "checkout": [
        (
            "Checkout requests waited on the payment-gateway client, whose timeout is 30 s.",
            "code",
            ("Cut the gateway client timeout to 3 s with one retry", "tom", "prevent", 4),
        ),
        (
            "The gateway slowed down during its own maintenance window.",
            "external",
            ("Subscribe the payments channel to the gateway's status feed", "sara", "detect", 2),
        ),
        (
            "The maintenance notice went to a shared mailbox nobody reads during the day.",
            "process",
            ("Route vendor notices to the on-call calendar", "lena", "process", 3),
        ),
        (
            "Vendor contacts were set up years ago and never reviewed.",
            "process",
            ("Review vendor contacts every quarter", "sara", "process", 2),
        ),
        (
            "There is no owner for vendor relationships in the payments team charter.",
            "process",
            ("Name a vendor-relationship owner in the team charter", "sara", "process", 1),
        ),
    ],
    "search": [
        (
            "The search index was rebuilt with an empty synonyms file.",
            "code",
            (
                "Refuse to publish an index with fewer documents than the last one",
                "julia",
                "prevent",
                8,
            ),
        ),
        (
            "The synonyms file is fetched at build time and the fetch fails silently.",
            "tooling",
            ("Fail the index build when the synonyms fetch fails", "dev", "prevent", 4),
        ),
        (
            "The build script treats every download error as “file not modified”.",
            "code",
            ("Handle download errors explicitly in the build script", "dev", "prevent", 3),
        ),
        (
            "The script has no tests; it predates the CI pipeline.",
            "tooling",
            ("Add the build script to CI with tests", "omar", "process", 6),
        ),
        (
            "Scripts outside services are not in any team's ownership list.",
            "process",
            ("Assign every repository script to a team", "omar", "process", 2),
        ),
    ],
    "notifications": [
        (
            "The email provider rejected messages after the sending domain's key expired.",
            "external",
            ("Alert 30 days before DKIM keys expire", "maria", "detect", 3),
        ),
        (
            "Key rotation is a manual, yearly task.",
            "process",
            ("Automate DKIM key rotation", "alice", "prevent", 12),
        ),
        (
            "The rotation runbook lives in a personal document that moved.",
            "knowledge",
            ("Move runbooks into the repository next to the service", "ned", "process", 2),
        ),
        (
            "There is no convention for where runbooks live.",
            "process",
            ("Publish the runbook convention in the handbook", "maria", "process", 1),
        ),
        (
            "Runbook placement is not part of the service launch checklist.",
            "process",
            ("Add runbooks to the launch checklist", "maria", "process", 1),
        ),
    ],
}

# Trees still in progress, by service: two levels in, the second still lacking an action.
IN_PROGRESS = {
    "payments-gateway": [
        (
            "Payment confirmations wait in the webhook queue behind a full re-sync job.",
            "infrastructure",
        ),
        ("The re-sync job and live webhooks share one worker queue.", "code"),
    ],
    "sessions": [
        ("The session store evicted live sessions when its memory filled up.", "infrastructure"),
        ("Session objects grew after a new field stored the whole user profile.", "code"),
    ],
    "feed": [
        ("Feed requests time out while the ranking service restarts.", "infrastructure"),
        ("Ranking restarts all replicas at once during a config reload.", "tooling"),
    ],
    "queue": [
        ("Workers stopped taking jobs while waiting on a lock held by a stuck job.", "code"),
        ("Jobs have no execution time limit.", "code"),
    ],
    "search": [
        ("The search cluster rejected queries while a node rebalanced shards.", "infrastructure"),
        ("Rebalancing runs at full speed with no throttle.", "tooling"),
    ],
}
GENERIC_IN_PROGRESS = [
    ("The service's dependency slowed down and requests queued behind it.", "infrastructure"),
    ("Requests to that dependency have no timeout.", "code"),
]


def _users():
    return {u.username: u for u in get_user_model().objects.all()}


def _tell_chain(incident, chain, users, author, *, start_level_parent=None, days_base=None):
    parent = start_level_parent
    for question, answer, category, action in chain:
        parent = add_why(
            incident=incident,
            author=author,
            parent=parent,
            question=question,
            answer=answer,
            category=category,
        )
        title, owner, due_days, type_, hours = action
        add_corrective_action(
            node=parent,
            by=author,
            title=title,
            owner=users[owner],
            due_on=days_base + timedelta(days=due_days),
            type=type_,
            estimated_hours=hours,
            priority="p1" if parent.level <= 2 else "p2",
            allow_past_due=True,
            at=_session_time(incident),
        )
    return parent


def _session_time(incident):
    """When the team met for the five whys: a day after it was over (never in the future)."""

    moment = (incident.resolved_at or incident.mitigated_at or incident.started_at) + timedelta(
        days=1
    )
    return min(moment, timezone.now())


@transaction.atomic
def run(ctx, progress) -> None:
    login = Incident.objects.filter(title=LOGIN_OUTAGE_TITLE).first()
    if login is None:
        progress("skipped: no login outage (run the incidents step first)")
        return
    if WhyNode.objects.filter(incident=login).exists():
        progress("already seeded")
        return
    users = _users()
    author = users.get("demo") or login.commander
    today = ctx.now.date()

    # The login outage: five levels, an action at each, and a second branch under level 1.
    _tell_chain(login, LOGIN_CHAIN, users, author, days_base=today)
    level1 = WhyNode.objects.get(incident=login, level=1)
    leaf = _tell_chain(
        login, LOGIN_BRANCH, users, users["priya"], start_level_parent=level1, days_base=today
    )
    set_stop_reason(node=leaf, reason=LOGIN_BRANCH_STOP, expected_version=leaf.version, by=author)
    trees = 1

    # Complete trees for the most recent resolved incidents of a few services.
    done = (
        Incident.objects.filter(status__in=["resolved", "closed"], services__slug__in=list(CHAINS))
        .exclude(close_reason__in=["false_alarm", "duplicate"])
        .exclude(pk=login.pk)
    )
    seen: set[str] = set()
    for incident in done.prefetch_related("services").order_by("-started_at"):
        slug = next(s.slug for s in incident.services.all() if s.slug in CHAINS)
        if slug in seen:
            continue
        seen.add(slug)
        chain = [
            (None, a, c, (t, o, 10 + i * 7, ty, h))
            for i, (a, c, (t, o, ty, h)) in enumerate(CHAINS[slug])
        ]
        due_base = (incident.resolved_at or ctx.now).date()
        _tell_chain(incident, chain, users, incident.commander or author, days_base=due_base)
        trees += 1

    # One tree still in progress: an open incident, two levels in, one action missing.
    open_one = (
        Incident.objects.filter(status__in=["investigating", "mitigated"], visibility="public")
        .prefetch_related("services")
        .order_by("-started_at")
        .first()
    )
    if open_one is not None:
        slugs = [s.slug for s in open_one.services.all()]
        chain = next((IN_PROGRESS[s] for s in slugs if s in IN_PROGRESS), GENERIC_IN_PROGRESS)
        parent = None
        for answer, category in chain:
            parent = add_why(
                incident=open_one, author=author, parent=parent, answer=answer, category=category
            )
            if parent.level == 1:
                add_corrective_action(
                    node=parent,
                    by=author,
                    title="Alert when requests queue for more than a minute",
                    owner=open_one.commander or users["maria"],
                    due_on=today + timedelta(days=5),
                    type="detect",
                    estimated_hours=3,
                    at=_session_time(open_one),
                )
        trees += 1
    progress(
        f"{trees} why trees (login outage #{login.pk} in full"
        + (f"; #{open_one.pk} in progress)" if open_one else ")")
    )
