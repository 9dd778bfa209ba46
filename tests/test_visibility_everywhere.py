"""End-to-end audit of THE rule (ARCHITECTURE "Rules every surface shares" → Visibility).

A restricted incident is 404 to anyone who is not one of its people, and nothing of it (title,
impact, summary, notes, why answers, suspects, postmortem) appears on any page, API, search,
feed, report or email for them. Its action items are visible to their owner and their team's
manager, without the incident's details.

One world is built once for the module, through the feature services, inside a transaction
that is rolled back at the end; each test runs in its own savepoint on top of it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone

from metrics_link.models import OutboxMessage
from metrics_link.services.alerts import record_alert
from metrics_link.services.deploys import record_deploy
from metrics_link.webhooks.types import AlertData
from postmortems import reviews_metrics as rm
from postmortems.models import Incident, IncidentAlert, ReminderSent
from postmortems.selectors.recurrences import recurrence_candidates
from postmortems.services import accounts as account_services
from postmortems.services import actions as action_services
from postmortems.services import documents as pm_services
from postmortems.services import incidents as incident_services
from postmortems.services import reminders as reminder_services
from postmortems.services import reviews as review_services
from postmortems.services import suspects as suspect_services
from postmortems.services import whys as why_services
from postmortems.services.alerts import react_to_alert
from postmortems.services.publishing import queue_publication_email, queue_publication_slack
from tests.factories import ServiceFactory, TeamFactory, UserFactory
from tests.support.outbox import deliver_outbox

pytestmark = pytest.mark.django_db

MARK = "ZQXJ"  # every secret text below starts with it: an outsider must never see it
TITLE = "ZQXJ-TITLE Vault tokens exposed"
IMPACT = "ZQXJ-IMPACT tenants saw each other's invoices."
SUMMARY = "ZQXJ-SUMMARY the token cache served stale tenants."
NOTE = "ZQXJ-NOTE rotated the signing key."
WHY = "ZQXJ-WHY the token cache never expired entries"
VERDICT = "ZQXJ-VERDICT this deploy changed the cache TTL."
PM_SUMMARY = "ZQXJ-PM the cache kept tokens across tenants; we now key it by tenant."
ITEM = "ZQXJ-ITEM Key the token cache by tenant"
ITEM_DUE = "ZQXJ-ITEMDUE Add a cross-tenant canary"
# What the owner and the manager may read (the items), and what they may not (the incident).
ITEM_MARKS = ("ZQXJ-ITEM ", "ZQXJ-ITEMDUE ")
INCIDENT_MARKS = (
    "ZQXJ-TITLE",
    "ZQXJ-IMPACT",
    "ZQXJ-SUMMARY",
    "ZQXJ-NOTE",
    "ZQXJ-WHY",
    "ZQXJ-VERDICT",
    "ZQXJ-PM",
    "ZQXJ-OLD",
)
# Searches ask for MARK itself (pages echo the query back), so a leak is a full marker.
ALL_MARKS = (*INCIDENT_MARKS, "ZQXJ-ITEM")
CONTROL = "PUBCTRL Checkout slow"  # a public incident: lists must still show it
LATER = "PUBLATER Vault slow again"  # a later public incident with the same cause category


class World:
    """Ids and objects of the module's data (plain attributes, read-only in tests)."""


def _build() -> World:
    w = World()
    w.commander = UserFactory(username="cmdr")
    w.reporter = UserFactory(username="rptr")
    w.responder = UserFactory(username="resp")
    w.owner = UserFactory(username="itemowner")
    w.manager = UserFactory(username="teammgr")
    w.outsider = UserFactory(username="outsider")
    w.superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    # The outsider is in the very team that owns the service and the item: team membership
    # alone must not open a restricted incident.
    w.team = TeamFactory(
        name="Identity", slug="identity", manager=w.manager, members=[w.owner, w.outsider]
    )
    w.service = ServiceFactory(slug="vault", team=w.team)

    monday = rm.parse_iso_week(review_services.default_week())
    w.week = rm.iso_week_of(monday)
    tz = timezone.get_current_timezone()
    start = datetime.combine(monday + timedelta(days=2), time(10, 0), tzinfo=tz)
    w.start = start

    # A public control incident in the same week, same service, resolved (so alerts join the
    # restricted one, which is open).
    control = incident_services.open_incident(
        title=CONTROL,
        severity="sev3",
        services=[w.service],
        reporter=w.outsider,
        impact="PUBCTRL users waited.",
        started_at=start - timedelta(hours=20),
        detected_at=start - timedelta(hours=19, minutes=50),
    )
    w.control = control

    deploy = record_deploy(
        service=w.service,
        environment="production",
        sha="a" * 40,
        version="v9.9.9",
        finished_at=start - timedelta(minutes=30),
        started_at=start - timedelta(minutes=34),
        deployer="ci-bot",
    )
    w.deploy = getattr(deploy, "deploy", deploy)

    incident = incident_services.open_incident(
        title=TITLE,
        severity="sev2",
        services=[w.service],
        reporter=w.reporter,
        commander=w.commander,
        responders=[w.responder],
        impact=IMPACT,
        summary=SUMMARY,
        visibility=Incident.Visibility.RESTRICTED,
        started_at=start,
        detected_at=start + timedelta(minutes=5),
    )
    w.incident = incident
    w.note = incident_services.add_note(
        incident=incident, author=w.commander, body=NOTE, at=start + timedelta(minutes=20)
    )
    w.verdict = suspect_services.set_verdict(
        incident=incident, deploy=w.deploy, verdict="culprit", by=w.commander, note=VERDICT
    )

    alert, _ = record_alert(
        data=AlertData(
            source="alertmanager",
            dedupe_key="audit-alert-1",
            service=w.service.slug,
            name="VaultCrossTenantReads",
            severity="critical",
            status="firing",
            labels={"service": w.service.slug},
            summary="Cross-tenant reads above zero.",
            starts_at=start + timedelta(minutes=2),
            ends_at=None,
            url="",
        )
    )
    w.alert = alert
    joined = react_to_alert(alert_id=alert.pk)
    assert joined is not None and joined.pk == incident.pk
    assert IncidentAlert.objects.filter(incident=incident, alert=alert).exists()

    w.why = why_services.add_why(incident=incident, author=w.commander, answer=WHY, category="code")
    today = timezone.localdate()
    w.item = why_services.add_corrective_action(
        node=w.why,
        by=w.commander,
        title=ITEM,
        owner=w.owner,
        team=w.team,
        due_on=today - timedelta(days=15),  # escalated to the manager and flagged
        allow_past_due=True,
    )
    w.item_due = why_services.add_corrective_action(
        node=w.why, by=w.commander, title=ITEM_DUE, owner=w.owner, team=w.team, due_on=today
    )

    # The control incident: resolved, with a published postmortem and a public item.
    incident_services.change_status(incident=control, to="mitigated", by=w.outsider)
    incident_services.change_status(incident=control, to="resolved", by=w.outsider)
    pm = pm_services.generate_draft(incident=control, by=w.outsider)
    pm = pm_services.edit_section(
        postmortem=pm, key="summary", text="PUBCTRL the queue backed up.", by=w.outsider
    )
    pm = pm_services.set_reviewers(postmortem=pm, reviewers=[w.manager], by=w.outsider)
    pm = pm_services.submit_for_review(postmortem=pm, by=w.outsider, override_reason="audit")
    pm_services.approve(postmortem=pm, by=w.manager)
    w.control_version = pm_services.publish(postmortem=pm, by=w.outsider, notify=False)

    # The restricted incident's postmortem, reviewed by its responder.
    incident_services.change_status(incident=incident, to="mitigated", by=w.commander)
    incident = Incident.objects.get(pk=incident.pk)
    pm = pm_services.generate_draft(incident=incident, by=w.commander)
    pm = pm_services.edit_section(postmortem=pm, key="summary", text=PM_SUMMARY, by=w.commander)
    pm = pm_services.set_reviewers(postmortem=pm, reviewers=[w.responder], by=w.commander)
    pm = pm_services.submit_for_review(postmortem=pm, by=w.commander, override_reason="audit")
    pm_services.approve(postmortem=pm, by=w.responder)
    w.version = pm_services.publish(postmortem=pm, by=w.commander, notify=False)
    w.postmortem = pm

    # An earlier restricted incident whose fix was done, and a later public incident of the same
    # service and cause category: a recurrence the outsider (its commander) decides on, and a
    # "same incident again" candidate on its postmortem page.
    old = incident_services.open_incident(
        title="ZQXJ-OLD Vault tokens leaked before",
        severity="sev3",
        services=[w.service],
        reporter=w.commander,
        visibility=Incident.Visibility.RESTRICTED,
        started_at=start - timedelta(days=2),
        detected_at=start - timedelta(days=2) + timedelta(minutes=5),
    )
    old_why = why_services.add_why(
        incident=old, author=w.commander, answer="ZQXJ-OLD cache keys", category="code"
    )
    old_item = why_services.add_corrective_action(
        node=old_why, by=w.commander, title="ZQXJ-ITEMOLD Shorter TTL", owner=w.owner
    )
    # The fix was done before the later incident started (the service stamps "now").
    with time_machine.travel(start - timedelta(days=1), tick=False):
        action_services.complete_action_item(item=old_item, by=w.owner, verification_note="drill")
    incident_services.change_status(incident=old, to="mitigated", by=w.commander)
    incident_services.change_status(incident=old, to="resolved", by=w.commander)
    w.old = old
    later = incident_services.open_incident(
        title=LATER,
        severity="sev3",
        services=[w.service],
        reporter=w.outsider,
        impact="PUBLATER slow logins.",
        started_at=start + timedelta(hours=3),
        detected_at=start + timedelta(hours=3, minutes=5),
    )
    why_services.add_why(
        incident=later, author=w.outsider, answer="PUBLATER cache again", category="code"
    )
    incident_services.change_status(incident=later, to="mitigated", by=w.outsider)
    incident_services.change_status(incident=later, to="resolved", by=w.outsider)
    pm = pm_services.generate_draft(incident=later, by=w.outsider)
    pm = pm_services.edit_section(
        postmortem=pm, key="summary", text="PUBLATER the cache again.", by=w.outsider
    )
    pm = pm_services.set_reviewers(postmortem=pm, reviewers=[w.manager], by=w.outsider)
    pm = pm_services.submit_for_review(postmortem=pm, by=w.outsider, override_reason="audit")
    pm_services.approve(postmortem=pm, by=w.manager)
    w.later_version = pm_services.publish(postmortem=pm, by=w.outsider, notify=False)
    w.later = later
    assert [c[0].pk for c in recurrence_candidates(later)] == [old.pk]
    # Decided during the reviewed week (the service stamps "now").
    with time_machine.travel(start + timedelta(hours=5), tick=False):
        review_services.decide_recurrence(
            incident=later, earlier=old, by=w.superuser, confirm=True, reason="same cache keys"
        )

    # A public incident its commander closed as a duplicate of the restricted one.
    dup = incident_services.open_incident(
        title="PUBDUP Vault errors",
        severity="sev4",
        services=[w.service],
        reporter=w.commander,
        started_at=start + timedelta(hours=1),
        detected_at=start + timedelta(hours=1),
    )
    incident_services.change_status(
        incident=dup, to="closed", by=w.commander, reason="duplicate", duplicate_of=incident
    )
    w.dup = dup

    # Reminders recorded (not sent) before the review, so the review lists the flagged item.
    reminder_services.scan_reminders(enqueue=False)
    w.review, built = review_services.build_weekly_review(week=w.week, publish=True, mail=False)
    assert built

    w.tokens = {
        name: account_services.get_feed_token(user=getattr(w, name)).token
        for name in ("outsider", "owner", "manager", "commander")
    }
    w.incident = Incident.objects.get(pk=incident.pk)
    w.timeline_count = w.incident.timeline.count()
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build()
        transaction.set_rollback(True)


# --------------------------------------------------------------------------------------------
# The URLs. Each is a function of the world so parametrize ids stay readable.
# --------------------------------------------------------------------------------------------

# Lists, searches, feeds and reports an outsider may open: 200 and no marker.
LIST_URLS = {
    "home": lambda w: "/",
    "incidents": lambda w: "/incidents/",
    "incidents-search-mark": lambda w: f"/incidents/?q={MARK}",
    "incidents-search-title-word": lambda w: "/incidents/?q=Vault+tokens",
    "incidents-open": lambda w: "/incidents/?status=open",
    "incidents-mitigated": lambda w: "/incidents/?status=mitigated",
    "incidents-service": lambda w: f"/incidents/?service={w.service.slug}",
    "incidents-team": lambda w: f"/incidents/?team={w.team.slug}",
    "incidents-sev2": lambda w: "/incidents/?severity=sev2",
    "incidents-sorted": lambda w: "/incidents/?sort=-severity",
    "incident-new-form": lambda w: "/incidents/new/",
    "actions-mine": lambda w: "/actions/",
    "actions-all": lambda w: "/actions/?scope=all&status=any",
    "actions-teams": lambda w: "/actions/?scope=teams&status=any",
    "actions-search": lambda w: f"/actions/?scope=all&status=any&q={MARK}",
    "actions-by-incident": lambda w: f"/actions/?scope=all&status=any&incident={w.incident.pk}",
    "actions-overdue": lambda w: "/actions/?scope=all&overdue=on",
    "actions-bucket-gt14": lambda w: "/actions/?scope=all&bucket=overdue_gt14",
    "actions-by-team": lambda w: f"/actions/?scope=all&status=any&team={w.team.slug}",
    "actions-csv": lambda w: "/actions/?scope=all&status=any&format=csv",
    "actions-csv-search": lambda w: f"/actions/?scope=all&status=any&format=csv&q={MARK}",
    "actions-new-for-incident": lambda w: f"/actions/new/?incident={w.incident.pk}",
    "actions-team-dashboard": lambda w: f"/actions/teams/{w.team.slug}/",
    "postmortem-library": lambda w: "/postmortems/",
    "postmortem-search-mark": lambda w: f"/postmortems/?q={MARK}",
    "postmortem-search-word": lambda w: "/postmortems/?q=vault+tokens",
    "postmortem-search-cache": lambda w: "/postmortems/?q=cache",
    "postmortem-by-service": lambda w: f"/postmortems/?service={w.service.slug}",
    "postmortem-by-team": lambda w: f"/postmortems/?team={w.team.slug}",
    "postmortem-by-severity": lambda w: "/postmortems/?severity=sev2",
    "postmortem-by-category": lambda w: "/postmortems/?category=code",
    "postmortem-by-year": lambda w: f"/postmortems/?year={w.start.year}",
    "reviews": lambda w: "/reviews/",
    "review-week": lambda w: f"/reviews/{w.week}/",
    "retros": lambda w: "/retros/",
    "deploys": lambda w: "/deploys/",
    "deploys-service": lambda w: f"/deploys/?service={w.service.slug}",
    "deploy-detail": lambda w: f"/deploys/{w.deploy.pk}/",
    "alerts": lambda w: "/alerts/",
    "alerts-service": lambda w: f"/alerts/?service={w.service.slug}",
    "services": lambda w: "/services/",
    "service-page": lambda w: f"/services/{w.service.slug}/",
    "team-page": lambda w: f"/teams/{w.team.slug}/",
    "me": lambda w: "/me/",
    "control-incident": lambda w: f"/incidents/{w.control.pk}/",
    "later-incident": lambda w: f"/incidents/{w.later.pk}/",
    "later-incident-whys": lambda w: f"/incidents/{w.later.pk}/whys/",
    "later-postmortem": lambda w: f"/postmortems/{w.later.pk}/",
    "later-postmortem-editor": lambda w: f"/incidents/{w.later.pk}/postmortem/",
    "later-postmortem-download": lambda w: f"/postmortems/{w.later.pk}/download.md",
    "api-later-incident": lambda w: f"/api/incidents/{w.later.pk}/",
    "api-later-timeline": lambda w: f"/api/incidents/{w.later.pk}/timeline/",
    "api-later-suspects": lambda w: f"/api/incidents/{w.later.pk}/suspects/",
    "api-later-whys": lambda w: f"/api/incidents/{w.later.pk}/whys/",
    "api-later-postmortem": lambda w: f"/api/postmortems/{w.later.pk}/",
    "actions-new-form": lambda w: "/actions/new/",
    "duplicate-incident": lambda w: f"/incidents/{w.dup.pk}/",
    "duplicate-incident-history": lambda w: f"/incidents/{w.dup.pk}/history/",
    "duplicate-incident-edit": lambda w: f"/incidents/{w.dup.pk}/edit/",
    "api-duplicate-incident": lambda w: f"/api/incidents/{w.dup.pk}/",
    "api-duplicate-timeline": lambda w: f"/api/incidents/{w.dup.pk}/timeline/",
    "api-incidents": lambda w: "/api/incidents/",
    "api-incidents-q": lambda w: f"/api/incidents/?q={MARK}",
    "api-incidents-open": lambda w: "/api/incidents/?status=open",
    "api-incidents-service": lambda w: f"/api/incidents/?service={w.service.slug}",
    "api-incidents-team": lambda w: f"/api/incidents/?team={w.team.slug}",
    "api-incidents-sev2": lambda w: "/api/incidents/?severity=sev2",
    "api-action-items": lambda w: "/api/action-items/",
    "api-action-items-incident": lambda w: f"/api/action-items/?incident={w.incident.pk}",
    "api-action-items-team": lambda w: f"/api/action-items/?team={w.team.slug}",
    "api-action-items-overdue": lambda w: "/api/action-items/?overdue=true",
    "api-postmortems": lambda w: "/api/postmortems/",
    "api-postmortems-q": lambda w: f"/api/postmortems/?q={MARK}",
    "api-postmortems-word": lambda w: "/api/postmortems/?q=vault",
    "api-postmortems-service": lambda w: f"/api/postmortems/?service={w.service.slug}",
    "api-postmortems-team": lambda w: f"/api/postmortems/?team={w.team.slug}",
    "api-postmortems-sev2": lambda w: "/api/postmortems/?severity=sev2",
    "api-reviews": lambda w: "/api/reviews/",
    "api-review-week": lambda w: f"/api/reviews/{w.week}/",
    "api-retros": lambda w: "/api/retros/",
    "api-deploys": lambda w: "/api/deploys/",
    "api-deploys-service": lambda w: f"/api/deploys/?service={w.service.slug}",
    "api-services": lambda w: "/api/services/",
    "api-service": lambda w: f"/api/services/{w.service.slug}/",
    "feed-postmortems": lambda w: f"/feeds/{w.tokens['outsider']}/postmortems.atom",
    "feed-reviews": lambda w: f"/feeds/{w.tokens['outsider']}/reviews.atom",
    "feed-actions-ics": lambda w: f"/feeds/{w.tokens['outsider']}/actions.ics",
}

# Where the public control incident must show up for the outsider (the list really lists).
CONTROL_EXPECTED = {
    "incidents",
    "incidents-service",
    "incidents-team",
    "postmortem-library",
    "postmortem-by-service",
    "postmortem-by-team",
    "api-incidents",
    "api-incidents-service",
    "api-postmortems",
    "feed-postmortems",
}

# Paginated API lists: the count must not include the restricted incident or its items.
API_COUNTS = {
    "api-incidents": lambda w: Incident.objects.filter(is_deleted=False, visibility="public"),
    "api-incidents-service": lambda w: Incident.objects.filter(visibility="public"),
    "api-incidents-team": lambda w: Incident.objects.filter(visibility="public"),
    "api-incidents-sev2": lambda w: Incident.objects.filter(visibility="public", severity="sev2"),
    "api-incidents-q": lambda w: Incident.objects.none(),
    "api-action-items": lambda w: w.incident.action_items.none(),
    "api-action-items-incident": lambda w: w.incident.action_items.none(),
    "api-action-items-team": lambda w: w.incident.action_items.none(),
    "api-postmortems": lambda w: [w.control, w.later],
    "api-postmortems-q": lambda w: [],
    "api-postmortems-service": lambda w: [w.control, w.later],
    "api-postmortems-sev2": lambda w: [],
}

# Everything hanging off the incident: 404 (GET) for whoever cannot see it.
DETAIL_URLS = {
    "incident": lambda w: f"/incidents/{w.incident.pk}/",
    "incident-edit": lambda w: f"/incidents/{w.incident.pk}/edit/",
    "incident-history": lambda w: f"/incidents/{w.incident.pk}/history/",
    "incident-suspects": lambda w: f"/incidents/{w.incident.pk}/suspects/",
    "whys-page": lambda w: f"/incidents/{w.incident.pk}/whys/",
    "postmortem-editor": lambda w: f"/incidents/{w.incident.pk}/postmortem/",
    "postmortem-read": lambda w: f"/postmortems/{w.incident.pk}/",
    "postmortem-version": lambda w: f"/postmortems/{w.incident.pk}/v1/",
    "postmortem-download": lambda w: f"/postmortems/{w.incident.pk}/download.md",
    "api-incident": lambda w: f"/api/incidents/{w.incident.pk}/",
    "api-timeline": lambda w: f"/api/incidents/{w.incident.pk}/timeline/",
    "api-suspects": lambda w: f"/api/incidents/{w.incident.pk}/suspects/",
    "api-whys": lambda w: f"/api/incidents/{w.incident.pk}/whys/",
    "api-why-node": lambda w: f"/api/whys/{w.why.pk}/",
    "api-postmortem": lambda w: f"/api/postmortems/{w.incident.pk}/",
}

# Writes on the incident: 404 too, and nothing changes.
WRITE_URLS = {
    "status": (lambda w: f"/incidents/{w.incident.pk}/status/", {"to": "resolved"}),
    "note": (lambda w: f"/incidents/{w.incident.pk}/notes/", {"body": "hi"}),
    "whys-hints": (lambda w: f"/incidents/{w.incident.pk}/whys/hints/", {"answer": "x"}),
    "pm-start": (lambda w: f"/incidents/{w.incident.pk}/postmortem/start/", {}),
    "whys-add": (lambda w: f"/incidents/{w.incident.pk}/whys/add/", {"answer": "x"}),
    "why-update": (
        lambda w: f"/incidents/{w.incident.pk}/whys/{w.why.pk}/",
        {"answer": "x", "version": "1"},
    ),
    "verdict": (
        lambda w: f"/incidents/{w.incident.pk}/suspects/{w.deploy.pk}/verdict/",
        {"verdict": "ruled_out"},
    ),
    "no-deploy": (lambda w: f"/incidents/{w.incident.pk}/suspects/no-deploy/", {}),
    "pm-submit": (lambda w: f"/incidents/{w.incident.pk}/postmortem/submit/", {}),
    "pm-save": (
        lambda w: f"/incidents/{w.incident.pk}/postmortem/save/",
        {"version": "1", "summary": "x", "action": "refresh"},
    ),
    "recurrences": (lambda w: f"/incidents/{w.incident.pk}/recurrences/", {}),
    "item-start": (lambda w: f"/actions/{w.item.pk}/start/", {}),
    "item-delete": (lambda w: f"/actions/{w.item.pk}/delete/", {}),
    "item-edit": (lambda w: f"/actions/{w.item.pk}/edit/", {"title": "x", "priority": "p1"}),
    "item-bulk-reassign": (
        lambda w: "/actions/reassign/",
        {"items": ["ITEM"], "owner": "OUTSIDER"},
    ),
    "action-on-why": (
        lambda w: f"/incidents/{w.incident.pk}/whys/{w.why.pk}/action/",
        {"title": "x"},
    ),
}

# API writes on the incident: 404 too (method, url, JSON body, extra headers).
API_WRITES = {
    "patch-incident": ("patch", lambda w: f"/api/incidents/{w.incident.pk}/", {"title": "x"}, {}),
    "post-timeline": (
        "post",
        lambda w: f"/api/incidents/{w.incident.pk}/timeline/",
        {"body": "x"},
        {},
    ),
    "put-verdict": (
        "put",
        lambda w: f"/api/incidents/{w.incident.pk}/suspects/{w.deploy.pk}/",
        {"verdict": "ruled_out"},
        {},
    ),
    "post-why": (
        "post",
        lambda w: f"/api/incidents/{w.incident.pk}/whys/",
        {"answer": "x", "category": "code"},
        {},
    ),
    "patch-why": (
        "patch",
        lambda w: f"/api/whys/{w.why.pk}/",
        {"answer": "x"},
        {"HTTP_IF_MATCH": '"1"'},
    ),
    "delete-why": ("delete", lambda w: f"/api/whys/{w.why.pk}/", {}, {"HTTP_IF_MATCH": '"1"'}),
    "pm-submit": ("post", lambda w: f"/api/postmortems/{w.incident.pk}/submit/", {}, {}),
    "pm-publish": ("post", lambda w: f"/api/postmortems/{w.incident.pk}/publish/", {}, {}),
    "patch-item": ("patch", lambda w: f"/api/action-items/{w.item.pk}/", {"title": "x"}, {}),
    "start-item": ("post", lambda w: f"/api/action-items/{w.item.pk}/start/", {}, {}),
    "item-on-incident": (
        "post",
        lambda w: "/api/action-items/",
        {"title": "x", "incident": "INCIDENT"},
        {},
    ),
}

# The items themselves: 404 for the outsider, 200 without the incident for owner and manager.
ITEM_URLS = {
    "item": lambda w: f"/actions/{w.item.pk}/",
    "item-edit": lambda w: f"/actions/{w.item.pk}/edit/",
    "item-history": lambda w: f"/actions/{w.item.pk}/history/",
    "api-item": lambda w: f"/api/action-items/{w.item.pk}/",
}


def _get(client, url):
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body.decode()


def _leaks(body: str, marks=ALL_MARKS) -> list[str]:
    return [m for m in marks if m in body]


# --------------------------------------------------------------------------------------------
# 2. The outsider
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(LIST_URLS))
def test_an_outsider_never_sees_the_restricted_incident_in_lists_searches_feeds(
    world, client, name
):
    client.force_login(world.outsider)
    url = LIST_URLS[name](world)
    response, body = _get(client, url)
    assert response.status_code == 200, url
    assert _leaks(body) == [], f"{url} shows {_leaks(body)}"
    assert _item_refs(body, world) == [], url
    if name.startswith("api-action-items"):
        ids = {row["id"] for row in response.json()["results"]}
        assert ids.isdisjoint({world.item.pk, world.item_due.pk}), url
    if name in CONTROL_EXPECTED:
        assert "PUBCTRL" in body, f"{url} does not list the public incident at all"
    if name in API_COUNTS:
        data = response.json()
        expected = API_COUNTS[name](world)
        n = len(expected) if isinstance(expected, list) else expected.count()
        assert data["count"] == n, url


def _item_refs(body: str, w) -> list[int]:
    """The restricted items' own URLs, if a page or feed links them (an outsider may not)."""
    return [pk for pk in (w.item.pk, w.item_due.pk) if f"/actions/{pk}/" in body]


@pytest.mark.parametrize("name", list(DETAIL_URLS) + list(ITEM_URLS))
def test_an_outsider_gets_404_on_everything_hanging_off_it(world, client, name):
    client.force_login(world.outsider)
    url = {**DETAIL_URLS, **ITEM_URLS}[name](world)
    response, body = _get(client, url)
    assert response.status_code == 404, f"{url} answered {response.status_code}"
    assert _leaks(body) == [], url


@pytest.mark.parametrize("name", list(WRITE_URLS))
def test_an_outsider_gets_404_on_every_write(world, client, name):
    client.force_login(world.outsider)
    url_for, data = WRITE_URLS[name]
    subst = {"ITEM": world.item.pk, "OUTSIDER": world.outsider.pk}
    data = {
        k: [subst.get(x, x) for x in v] if isinstance(v, list) else subst.get(v, v)
        for k, v in data.items()
    }
    response = client.post(url_for(world), data)
    if name == "item-bulk-reassign":  # a list action: the hidden item is simply not there
        assert response.status_code == 302
    else:
        assert response.status_code == 404, f"{url_for(world)} answered {response.status_code}"
    item = type(world.item).objects.get(pk=world.item.pk)
    assert (item.title, item.status, item.owner_id, item.is_deleted) == (
        ITEM,
        "open",
        world.owner.pk,
        False,
    )
    incident = Incident.objects.get(pk=world.incident.pk)
    assert (incident.status, incident.no_deploy_involved) == ("mitigated", False)
    assert incident.timeline.count() == world.timeline_count


@pytest.mark.parametrize("name", list(API_WRITES))
def test_an_outsider_gets_404_on_every_api_write(world, client, name):
    client.force_login(world.outsider)
    method, url_for, data, headers = API_WRITES[name]
    data = {k: (world.incident.pk if v == "INCIDENT" else v) for k, v in data.items()}
    response = getattr(client, method)(
        url_for(world), data, content_type="application/json", **headers
    )
    assert response.status_code == 404, f"{url_for(world)} answered {response.status_code}"
    assert _leaks(response.content.decode()) == []
    assert world.incident.timeline.count() == world.timeline_count
    assert world.incident.action_items.count() == 2
    item = type(world.item).objects.get(pk=world.item.pk)
    assert (item.title, item.status) == (ITEM, "open")


def test_the_outsider_counts_exclude_it_on_the_pages(world, client):
    client.force_login(world.outsider)
    page = client.get(f"/incidents/?service={world.service.slug}")
    assert page.context["page"].count == 3  # the public ones only
    library = client.get(f"/postmortems/?service={world.service.slug}")
    assert library.context["page_obj"].paginator.count == 2
    assert sum(library.context["severity_counts"].values()) == 2  # the facet counts too
    home = client.get("/")
    assert world.incident.pk not in [i.pk for i in home.context["open_incidents"]]
    assert {e.incident_id for e in home.context["recent_entries"]}.isdisjoint(
        {world.incident.pk, world.old.pk}
    )
    actions = client.get("/actions/?scope=all&status=any")
    assert actions.context["page_obj"].paginator.count == 0
    review = client.get(f"/api/reviews/{world.week}/").json()
    incidents = review["figures"]["incidents"]
    assert sorted(row["title"] for row in incidents["public"]) == [
        CONTROL,
        "PUBDUP Vault errors",
        LATER,
    ]
    assert len(incidents["restricted"]) == 2  # counted as numbers, named nowhere
    assert review["figures"]["fixes"]["restricted_confirmed"] == 1


ADMIN_LISTS = [
    "incident",
    "timelineentry",
    "suspectverdict",
    "whynode",
    "actionitem",
    "incidentalert",
    "postmortem",
    "postmortemversion",
    "remindersent",
    "recurrence",
]


@pytest.fixture
def staff_outsider(world):
    """A staff member given every view permission: the admin is a page too, and only the
    incident's people and superusers may read a restricted incident."""
    from django.contrib.auth.models import Permission

    user = UserFactory(username="staffer", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return user


@pytest.mark.parametrize("model", ADMIN_LISTS)
def test_a_staff_member_who_is_not_its_people_does_not_find_it_in_the_admin(
    world, client, staff_outsider, model
):
    client.force_login(staff_outsider)
    for url in [f"/admin/postmortems/{model}/", f"/admin/postmortems/{model}/?q={MARK}"]:
        response, body = _get(client, url)
        assert response.status_code == 200, url
        assert _leaks(body) == [], f"{url} shows {_leaks(body)}"


ADMIN_OBJECTS = {
    "incident": lambda w: ("incident", w.incident),
    "whynode": lambda w: ("whynode", w.why),
    "actionitem-of-old": lambda w: ("actionitem", w.old.action_items.get()),
    "timelineentry": lambda w: ("timelineentry", w.note),
    "suspectverdict": lambda w: ("suspectverdict", w.verdict),
    "postmortem": lambda w: ("postmortem", w.postmortem),
    "postmortemversion": lambda w: ("postmortemversion", w.version),
}


ADMIN_VIEWS = [
    pytest.param(name, view, id=f"{name}-{view}")
    for name in ADMIN_OBJECTS
    for view in ("change", "history", "history-record")
    if not (name == "postmortemversion" and view == "history-record")  # keeps no history
]


@pytest.mark.parametrize(("name", "view"), ADMIN_VIEWS)
def test_a_staff_member_who_is_not_its_people_cannot_open_it_in_the_admin(
    world, client, staff_outsider, name, view
):
    model, obj = ADMIN_OBJECTS[name](world)
    base = f"/admin/postmortems/{model}/{obj.pk}"
    if view == "change":
        url = f"{base}/change/"
    elif view == "history":
        url = f"{base}/history/"
    else:
        url = f"{base}/history/{obj.history.order_by('history_id').first().history_id}/"
    client.force_login(staff_outsider)
    response, body = _get(client, url)
    assert response.status_code in (302, 403, 404), f"{url} answered {response.status_code}"
    assert _leaks(body) == [], f"{url} shows {_leaks(body)}"


def test_an_outsider_cannot_file_an_action_item_on_it(world, client):
    client.force_login(world.outsider)
    response = client.post(
        "/actions/new/",
        {
            "title": "sneak",
            "incident": world.incident.pk,
            "owner": world.outsider.pk,
            "team": world.team.pk,
            "priority": "p2",
            "type": "prevent",
        },
    )
    assert response.status_code == 200
    assert "no incident with this number you can see" in response.content.decode()
    assert world.incident.action_items.count() == 2
    assert _leaks(response.content.decode()) == []


def test_the_outsider_cannot_decide_a_recurrence_naming_it(world, client):
    client.force_login(world.outsider)
    response = client.post(
        f"/incidents/{world.later.pk}/recurrences/",
        {"earlier": world.old.pk, "decision": "dismiss", "reason": "not the same"},
    )
    assert response.status_code == 404
    assert _leaks(response.content.decode()) == []


def test_its_people_see_it_as_the_same_incident_again_on_the_later_postmortem(world, client):
    client.force_login(world.commander)
    _, body = _get(client, f"/postmortems/{world.later.pk}/")
    assert "ZQXJ-TITLE" in body  # the outsider's copy of this page is checked above


# --------------------------------------------------------------------------------------------
# 3. The item's owner and its team's manager
# --------------------------------------------------------------------------------------------

ROLES_ON_ITEM = ["owner", "manager"]


@pytest.mark.parametrize("who", ROLES_ON_ITEM)
@pytest.mark.parametrize("name", list(ITEM_URLS))
def test_owner_and_manager_see_the_item_without_the_incident(world, client, who, name):
    client.force_login(getattr(world, who))
    url = ITEM_URLS[name](world)
    response, body = _get(client, url)
    assert response.status_code == 200, url
    assert "ZQXJ-ITEM" in body, url
    assert _leaks(body, INCIDENT_MARKS) == [], f"{url} shows {_leaks(body, INCIDENT_MARKS)}"


ITEM_LISTS = {
    "actions-all": lambda w, who: "/actions/?scope=all&status=any",
    "actions-teams": lambda w, who: "/actions/?scope=teams&status=any",
    "actions-overdue": lambda w, who: "/actions/?scope=all&overdue=on",
    "actions-search": lambda w, who: "/actions/?scope=all&status=any&q=ZQXJ-ITEM",
    "actions-csv": lambda w, who: "/actions/?scope=all&status=any&format=csv",
    "api-action-items": lambda w, who: "/api/action-items/",
    "api-action-items-team": lambda w, who: f"/api/action-items/?team={w.team.slug}",
    "team-dashboard": lambda w, who: f"/actions/teams/{w.team.slug}/",
    "feed-actions-ics": lambda w, who: f"/feeds/{w.tokens[who]}/actions.ics",
    "home": lambda w, who: "/",
}
NOT_LISTED_FOR = {
    ("manager", "feed-actions-ics"),  # the calendar holds one's own items only
    ("manager", "home"),  # "my action items": the owner's
}


@pytest.mark.parametrize("who", ROLES_ON_ITEM)
@pytest.mark.parametrize("name", list(ITEM_LISTS))
def test_owner_and_manager_find_the_item_in_lists_without_the_incident(world, client, who, name):
    client.force_login(getattr(world, who))
    url = ITEM_LISTS[name](world, who)
    response, body = _get(client, url)
    assert response.status_code == 200, url
    if (who, name) not in NOT_LISTED_FOR:
        assert "ZQXJ-ITEM" in body, f"{url} does not list the item for the {who}"
    assert _leaks(body, INCIDENT_MARKS) == [], f"{url} shows {_leaks(body, INCIDENT_MARKS)}"
    if name == "actions-csv":
        assert "restricted incident" in body


@pytest.mark.parametrize("who", ROLES_ON_ITEM)
@pytest.mark.parametrize("name", list(DETAIL_URLS))
def test_owner_and_manager_get_404_on_the_incident(world, client, who, name):
    client.force_login(getattr(world, who))
    url = DETAIL_URLS[name](world)
    response, body = _get(client, url)
    assert response.status_code == 404, f"{url} answered {response.status_code}"
    assert _leaks(body, INCIDENT_MARKS) == [], url


@pytest.mark.parametrize("who", ROLES_ON_ITEM)
@pytest.mark.parametrize(
    "name", ["incidents-search-mark", "postmortem-search-mark", "review-week", "feed-postmortems"]
)
def test_owner_and_manager_do_not_find_the_incident_elsewhere(world, client, who, name):
    client.force_login(getattr(world, who))
    url = LIST_URLS[name](world).replace(world.tokens["outsider"], world.tokens[who])
    response, body = _get(client, url)
    assert response.status_code == 200, url
    assert _leaks(body, INCIDENT_MARKS) == [], f"{url} shows {_leaks(body, INCIDENT_MARKS)}"


# --------------------------------------------------------------------------------------------
# 4. Its people (and a superuser) do see it: the checks above can fail both ways
# --------------------------------------------------------------------------------------------

PEOPLE = ["commander", "reporter", "responder", "superuser"]


@pytest.mark.parametrize("who", PEOPLE)
def test_its_people_see_the_incident_and_its_postmortem(world, client, who):
    client.force_login(getattr(world, who))
    pk = world.incident.pk
    for url, marks in [
        (f"/incidents/{pk}/", ("ZQXJ-TITLE", "ZQXJ-IMPACT", "ZQXJ-NOTE", "ZQXJ-ITEM")),
        (f"/incidents/{pk}/whys/", ("ZQXJ-WHY",)),
        (f"/postmortems/{pk}/", ("ZQXJ-PM",)),
        (f"/postmortems/{pk}/download.md", ("ZQXJ-PM",)),
        (f"/api/incidents/{pk}/", ("ZQXJ-TITLE",)),
        (f"/api/incidents/{pk}/suspects/", ("v9.9.9",)),
        (f"/api/whys/{world.why.pk}/", ("ZQXJ-WHY",)),
        (f"/incidents/?q={MARK}", ("ZQXJ-TITLE",)),
        (f"/api/postmortems/{pk}/", ("ZQXJ-PM",)),
        (f"/actions/{world.item.pk}/", ("ZQXJ-TITLE", "ZQXJ-ITEM")),
        ("/alerts/", ("ZQXJ-TITLE",)),
        (f"/services/{world.service.slug}/", ("ZQXJ-TITLE",)),
        ("/", ("ZQXJ-TITLE",)),
        (f"/feeds/{world.tokens['commander']}/postmortems.atom", ("ZQXJ-TITLE",)),
    ]:
        if url.startswith("/feeds/") and who != "commander":
            continue
        response, body = _get(client, url)
        assert response.status_code == 200, url
        assert all(m in body for m in marks), f"{url} lacks {[m for m in marks if m not in body]}"


@pytest.mark.parametrize("who", ["commander", "responder"])
def test_its_people_find_it_in_the_library_search(world, client, who):
    client.force_login(getattr(world, who))
    _, body = _get(client, "/postmortems/?q=vault")
    assert "ZQXJ-TITLE" in body
    assert any("ZQXJ" in r["title"] for r in client.get("/api/postmortems/").json()["results"])


# --------------------------------------------------------------------------------------------
# 5. Emails and Slack
# --------------------------------------------------------------------------------------------


def _message_text(message) -> str:
    parts = [message.subject, message.body]
    parts += [content for content, _ in getattr(message, "alternatives", [])]
    return "\n".join(str(p) for p in parts)


def _assert_no_leak_in_outbox(world, *, allowed_item_readers=()):
    people = {world.commander.email, world.reporter.email, world.responder.email}
    allowed = {getattr(world, w).email for w in allowed_item_readers}
    assert mail.outbox, "nothing was sent: the check would pass vacuously"
    for message in mail.outbox:
        text = _message_text(message)
        for rcpt in [*message.to, *message.cc, *message.bcc]:
            if rcpt in people:
                continue
            marks = INCIDENT_MARKS if rcpt in allowed else ALL_MARKS
            assert _leaks(text, marks) == [], f"{message.subject!r} to {rcpt} shows {marks}"


def _drain_setup_mail(world):
    """Send what building the world queued (review requests) — checked for leaks too — so each
    test below counts only its own messages."""
    if deliver_outbox():
        _assert_no_leak_in_outbox(world)
    mail.outbox.clear()


def test_publishing_mails_the_restricted_postmortem_to_its_people_only(world):
    _drain_setup_mail(world)
    sent = queue_publication_email(version_id=world.version.pk)
    assert sent == 1
    assert deliver_outbox() == 1
    message = mail.outbox[0]
    assert settings.ALL_STAFF_EMAIL not in [*message.to, *message.cc, *message.bcc]
    _assert_no_leak_in_outbox(world)
    # Public ones go to all staff (the recipients rule really is exercised), and the later one,
    # whose cause repeats the restricted incidents', names neither of them.
    for version in (world.control_version, world.later_version):
        assert queue_publication_email(version_id=version.pk) == 1
        assert deliver_outbox() == 1
        assert mail.outbox[-1].to == [settings.ALL_STAFF_EMAIL]
    assert "PUBLATER" in _message_text(mail.outbox[-1])
    _assert_no_leak_in_outbox(world)


def test_the_weekly_review_mail_to_all_staff_never_names_it(world):
    _drain_setup_mail(world)
    assert review_services.mail_weekly_review(review_id=world.review.pk)
    assert deliver_outbox() == 1
    assert mail.outbox[0].to == [settings.ALL_STAFF_EMAIL]
    text = _message_text(mail.outbox[0])
    assert "PUBCTRL" in text  # the review does list incidents
    _assert_no_leak_in_outbox(world)


def test_reminders_and_escalations_show_the_item_but_not_the_incident(world, settings):
    _drain_setup_mail(world)
    rows = list(ReminderSent.objects.filter(action_item__incident=world.incident))
    kinds = {(r.kind, r.recipient_id) for r in rows}
    assert ("escalated", world.manager.pk) in kinds
    assert ("flagged", world.owner.pk) in kinds
    assert ("due", world.owner.pk) in kinds
    for row in rows:
        assert reminder_services.send_reminder(reminder_id=row.pk)
    deliver_outbox()
    assert len(mail.outbox) == len(rows)
    assert all("ZQXJ-ITEM" in _message_text(m) for m in mail.outbox)
    _assert_no_leak_in_outbox(world, allowed_item_readers=["owner", "manager"])


@pytest.mark.parametrize("who", ROLES_ON_ITEM)
def test_the_daily_digest_shows_the_items_but_not_the_incident(world, who):
    _drain_setup_mail(world)
    assert reminder_services.send_digest(user_id=getattr(world, who).pk) >= 1
    deliver_outbox()
    assert "ZQXJ-ITEM" in _message_text(mail.outbox[0])
    _assert_no_leak_in_outbox(world, allowed_item_readers=[who])


def test_slack_never_names_the_restricted_incident_nor_its_items(world, settings):
    settings.SLACK_WEBHOOK_URL = "https://hooks.slack.test/x"
    for row in ReminderSent.objects.filter(action_item__incident=world.incident):
        reminder_services.send_reminder(reminder_id=row.pk)
    slack_rows = OutboxMessage.objects.filter(channel=OutboxMessage.Channel.SLACK)
    posted = [m.payload["text"] for m in slack_rows]  # exactly what the outbox will post
    assert posted
    assert [t for t in posted if _leaks(t)] == []
    assert queue_publication_slack(version_id=world.version.pk) is False


def test_a_responder_taken_off_the_incident_loses_it_everywhere(world, client):
    incident_services.update_incident(incident=world.incident, by=world.commander, responders=[])
    client.force_login(world.responder)
    pk = world.incident.pk
    for url in [f"/incidents/{pk}/", f"/postmortems/{pk}/", f"/api/incidents/{pk}/"]:
        assert client.get(url).status_code == 404, url
    _, body = _get(client, f"/incidents/?q={MARK}")
    assert _leaks(body) == []
    _, body = _get(client, f"/postmortems/?q={MARK}")
    assert _leaks(body) == []
