"""Demo data step: postmortems (see seed_demo). Idempotent.

Published: the login outage (written in full, two approvals for its sev1) and a handful of older
incidents; one in review, one draft, and the restricted data-export incident (published, visible
to its own people only). Generated sections use whatever whys/actions earlier steps seeded.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from metrics_link.demo.story import LOGIN_OUTAGE_TITLE

from ..models import Incident
from ..models.documents import Postmortem, PostmortemEvent, PostmortemVersion
from ..selectors.drafts import approvals_required
from ..services import documents as svc

RESTRICTED_TITLE = "Customer data export exposed to wrong tenant"

LOGIN_WRITTEN = {
    "went_well": (
        "- The **LoginErrorRate** alert fired within four minutes of the first failures, before any "
        "customer report reached support.\n"
        "- The database dashboard showed connections pinned at `max_connections` (500) at a glance, "
        "which took the investigation straight to the master.\n"
        "- Rolling back profile-web was one command and took under three minutes; the deploy "
        "history made the suspect obvious.\n"
        "- Identity and Platform worked in one channel with a single commander, so nobody "
        "duplicated work."
    ),
    "went_poorly": (
        "- The *recently viewed* panel read from the master database: nothing in our tooling "
        "steers read-only queries to the replicas, and nothing flagged it in review.\n"
        "- The new queries had no cache and took 1.8 s each under load; the load test ran against "
        "an empty dataset, so it never showed the cost.\n"
        "- There is no per-service connection budget, so one service could take every connection "
        "the login path needs.\n"
        "- It took 17 minutes to go from “too many connections” to the query responsible, because "
        "slow-query logs are not linked from the dashboards."
    ),
    "lucky": (
        "- The incident started mid-afternoon in Europe, when the people who know the master "
        "database best were online.\n"
        "- The feature was behind a single deploy with no schema change, so a plain rollback was "
        "safe. A migration would have made it much harder."
    ),
    "surprised": (
        "- Logins depend on the master even for users who only read: the session write on sign-in "
        "needs a master connection.\n"
        "- The connection pool in profile-web opens new connections when queries are slow instead "
        "of queueing them, which amplified the problem."
    ),
    "lessons": (
        "1. **Shared databases need budgets.** Every service gets a connection limit on the master, "
        "enforced by the pooler, so one feature cannot starve logins.\n"
        "2. **Reads go to replicas by default.** The data-access layer now makes the master an "
        "explicit choice.\n"
        "3. **Load tests need realistic data.** A test against empty tables tells us nothing about "
        "query cost.\n"
        "4. **Link the evidence.** Dashboards link to the slow-query log of the same time window, so "
        "the next responder gets from symptom to cause in minutes."
    ),
}

SHORT_WRITTEN = {
    "went_well": "- Alerting caught it quickly and the runbook applied as written.",
    "went_poorly": "- Finding the cause took longer than it should: the relevant logs were spread across three tools.",
    "lucky": "- Traffic was low at the time, which limited how many customers noticed.",
    "surprised": "- A dependency we considered optional turned out to be on the critical path.",
    "lessons": "Make critical-path dependencies explicit in the service catalog, and check that each has an alert and a runbook.",
}

SUMMARIES = {
    "checkout": "Checkout latency rose above two seconds after a cache node was replaced and started cold.",
    "search": "Search returned empty results for a share of users while the index was rebuilt in place.",
    "payments-gateway": "Payment confirmations were delayed because the webhook consumer fell behind after a broker failover.",
    "notifications": "Password-reset and receipt emails were delayed when the email provider throttled our sending domain.",
    "queue": "The background job queue backlog grew for an hour after a worker pool was scaled down by a stale autoscaling rule.",
    "sessions": "Users were logged out when the session store evicted keys after reaching its memory limit.",
}


def _user(username):
    return get_user_model().objects.filter(username=username).first()


def _write(pm, by, texts):
    for key, text in texts.items():
        pm = svc.edit_section(postmortem=pm, key=key, text=text, by=by)
    return pm


def _publish(pm, *, author, reviewers, at):
    svc.set_reviewers(postmortem=pm, reviewers=reviewers, by=author)
    svc.submit_for_review(
        postmortem=pm,
        by=author,
        override_reason="Reviewed by hand: names appear only as credits.",
    )
    for reviewer in reviewers[: approvals_required(pm.incident.severity)]:
        svc.approve(postmortem=pm, by=reviewer, comment="Clear and blameless. Thank you.")
    version = svc.publish(postmortem=pm, by=author, notify=False)
    # Demo only: date the story in the past (update() bypasses the immutability guard on save).
    PostmortemVersion.objects.filter(pk=version.pk).update(published_at=at)
    PostmortemEvent.objects.filter(postmortem=pm).update(at=at)
    Postmortem.objects.filter(pk=pm.pk).update(submitted_at=at)
    return version


@transaction.atomic
def run(ctx, progress) -> None:
    login = Incident.objects.filter(title=LOGIN_OUTAGE_TITLE).first()
    if login is None:
        progress("no incidents to write about")
        return
    if Postmortem.objects.filter(incident=login).exists():
        progress("already seeded")
        return
    demo, maria, priya, bob, sara = (_user(u) for u in ("demo", "maria", "priya", "bob", "sara"))
    reviewers = [u for u in (maria, priya, sara) if u]
    published = 0

    pm = svc.generate_draft(incident=login, by=demo)
    pm = _write(pm, demo, LOGIN_WRITTEN)
    _publish(pm, author=demo, reviewers=reviewers, at=login.resolved_at + timedelta(days=3))
    published += 1

    # Older incidents: a library worth browsing.
    candidates = list(
        Incident.objects.filter(
            status__in=["resolved", "closed"], visibility=Incident.Visibility.PUBLIC
        )
        .exclude(pk=login.pk)
        .exclude(close_reason__in=["false_alarm", "duplicate"])
        .prefetch_related("services")
        .order_by("-started_at")[:14]
    )
    for index, incident in enumerate(candidates):
        slug = next((s.slug for s in incident.services.all()), "")
        author = incident.commander or demo
        pm = svc.generate_draft(incident=incident, by=author)
        texts = dict(SHORT_WRITTEN)
        if slug in SUMMARIES:
            texts["summary"] = SUMMARIES[slug] + " " + (incident.impact or "")
        if index == 0:  # one draft
            _write(
                pm,
                author,
                {
                    "went_well": SHORT_WRITTEN["went_well"],
                    # A draft still being worded: the editor shows the blameless notes beside it.
                    "went_poorly": (
                        "- We should have caught the missing limit in review.\n"
                        "- The dashboard failed to show the queue depth per worker."
                    ),
                },
            )
            continue
        pm = _write(pm, author, texts)
        if index == 1:  # one in review
            svc.set_reviewers(postmortem=pm, reviewers=reviewers[:2], by=author)
            svc.submit_for_review(postmortem=pm, by=author, override_reason="Demo")
            continue
        at = (incident.resolved_at or incident.started_at) + timedelta(days=2)
        _publish(pm, author=author, reviewers=[r for r in reviewers if r != author], at=at)
        published += 1

    restricted = Incident.objects.filter(title=RESTRICTED_TITLE).first()
    if restricted is not None and priya and bob:
        pm = svc.generate_draft(incident=restricted, by=priya)
        pm = _write(
            pm,
            priya,
            {
                "went_well": "- The tenant who noticed reported it through the security address within minutes.",
                "went_poorly": "- Export links were signed per file, not per tenant, so a cached listing was served across tenants.",
                "lessons": "Sign every export link with the tenant it belongs to, and test cross-tenant access in CI.",
            },
        )
        _publish(pm, author=priya, reviewers=[bob], at=restricted.mitigated_at + timedelta(days=1))
        published += 1
    progress(f"{published} published, 1 in review, 1 draft (1 restricted)")
