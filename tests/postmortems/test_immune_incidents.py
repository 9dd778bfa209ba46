"""A regressed deploy opens (or joins) the incident, first among its suspects, and tells people."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from metrics_link.models import DeployWatch, OutboxMessage
from metrics_link.services.deploys import record_deploy
from metrics_link.services.watch import judge_deploy
from postmortems.models import Incident, TimelineEntry
from postmortems.models.incidents import Provenance
from postmortems.selectors.suspects import ranked_suspects
from postmortems.services.immune import react_to_verdict
from tests.factories import IncidentFactory, ServiceFactory, TeamFactory, UserFactory
from tests.metrics_link.test_deploy_watch import series_around

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(db):
    owner = UserFactory(email="owner@example.com")
    return ServiceFactory(slug="profile-web", team=TeamFactory(manager=owner, members=[owner]))


def judged(deploy, capture):
    with capture(execute=True):
        return judge_deploy(deploy.pk)


def test_a_regressed_deploy_opens_an_incident_with_the_deploy_first(
    web, django_capture_on_commit_callbacks
):
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end, before=120, after=79, label="Logins", critical=True)
    older = record_deploy(service=web, version="v2.40.0", finished_at=end - timedelta(hours=2))
    deploy = record_deploy(service=web, version="v2.41.0", finished_at=end).deploy
    watch = judged(deploy, django_capture_on_commit_callbacks)
    assert watch.status == DeployWatch.Status.REGRESSED
    incident = Incident.objects.get()
    assert incident.title.startswith("Logins \u2212") and incident.title.endswith(
        "after profile-web v2.41.0"
    )
    assert incident.started_at == deploy.finished_at
    assert incident.detected_at == watch.decided_at
    assert incident.started_at_source == Provenance.IMMUNE
    assert incident.origin == Incident.Origin.IMMUNE
    suspects = ranked_suspects(incident)
    assert suspects[0].deploy == deploy
    assert any(r.startswith("immune system: regressed (Logins") for r in suspects[0].reasons)
    assert older.deploy in [s.deploy for s in suspects[1:]]
    entry = TimelineEntry.objects.get(dedupe_key=f"watch:{watch.pk}")
    assert entry.source == TimelineEntry.Source.MACHINE and "regressed" in entry.body
    message = OutboxMessage.objects.get(channel="mail", dedupe_key=f"immune-mail:{watch.pk}")
    assert message.payload["to"] == ["owner@example.com"]
    assert "profile-web v2.41.0" in message.payload["subject"]


def test_a_healthy_deploy_opens_nothing(web, django_capture_on_commit_callbacks):
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end)
    deploy = record_deploy(service=web, finished_at=end).deploy
    assert judged(deploy, django_capture_on_commit_callbacks).status == "healthy"
    assert not Incident.objects.exists()


def test_a_regression_joins_the_services_open_incident(web, django_capture_on_commit_callbacks):
    end = timezone.now() - timedelta(hours=1)
    open_one = IncidentFactory(services=[web], started_at=end - timedelta(minutes=5))
    series_around("logins", end, before=100, after=50)
    deploy = record_deploy(service=web, finished_at=end).deploy
    judged(deploy, django_capture_on_commit_callbacks)
    assert list(Incident.objects.all()) == [open_one]
    assert TimelineEntry.objects.filter(incident=open_one, dedupe_key__startswith="watch:").exists()


def test_reacting_twice_to_one_verdict_opens_one_incident(web, django_capture_on_commit_callbacks):
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end, before=100, after=50)
    deploy = record_deploy(service=web, finished_at=end).deploy
    watch = judged(deploy, django_capture_on_commit_callbacks)
    assert react_to_verdict(watch_id=watch.pk) == Incident.objects.get()
    assert TimelineEntry.objects.filter(dedupe_key=f"watch:{watch.pk}").count() == 1


def test_a_company_wide_fall_after_two_services_deploys_is_one_incident(
    web, django_capture_on_commit_callbacks
):
    end = timezone.now() - timedelta(hours=1)
    series_around("revenue", end, before=1000, after=500, critical=True)
    first = record_deploy(service=web, finished_at=end).deploy
    second = record_deploy(service="checkout", finished_at=end + timedelta(seconds=30)).deploy
    judged(first, django_capture_on_commit_callbacks)
    judged(second, django_capture_on_commit_callbacks)
    incident = Incident.objects.get()
    assert {s.slug for s in incident.services.all()} == {"profile-web", "checkout"}
    top_two = {s.deploy for s in ranked_suspects(incident)[:2]}
    assert top_two == {first, second}


def test_the_signed_hook_names_the_rollback_target(
    web, settings, django_capture_on_commit_callbacks
):
    settings.DEPLOY_WATCH_HOOK_URL = "http://127.0.0.1:9/rollback"
    settings.DEPLOY_WATCH_HOOK_SECRET = "s3cret"
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end, before=100, after=50)
    healthy = record_deploy(service=web, version="v2.40.0", finished_at=end - timedelta(days=2))
    DeployWatch.objects.filter(deploy=healthy.deploy).update(status="healthy")
    deploy = record_deploy(service=web, version="v2.41.0", finished_at=end).deploy
    watch = judge_deploy(deploy.pk)
    message = OutboxMessage.objects.get(dedupe_key=f"deploy-watch-hook:{watch.pk}")
    body = message.payload["body"]
    expected = hmac.new(b"s3cret", body.encode(), hashlib.sha256).hexdigest()
    assert message.payload["headers"]["X-Postmortems-Signature"] == f"sha256={expected}"
    data = json.loads(body)
    assert data["deploy"]["version"] == "v2.41.0"
    assert data["rollback_to"]["version"] == "v2.40.0"
    assert data["metrics"][0]["passed"] is False


def test_no_hook_without_a_url(web):
    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end, before=100, after=50)
    deploy = record_deploy(service=web, finished_at=end).deploy
    judge_deploy(deploy.pk)
    assert not OutboxMessage.objects.filter(channel="hook").exists()


def test_the_weekly_review_shows_what_the_immune_system_caught(
    web, django_capture_on_commit_callbacks
):
    from django.template.loader import render_to_string

    from postmortems.reviews_metrics import iso_week_of
    from postmortems.selectors.reviews import compute_weekly_review

    end = timezone.now() - timedelta(hours=1)
    series_around("logins", end, before=100, after=50, label="Logins")
    deploy = record_deploy(service=web, version="v2.41.0", finished_at=end).deploy
    watch = judged(deploy, django_capture_on_commit_callbacks)
    data = compute_weekly_review(iso_week_of(timezone.localtime(watch.decided_at).date()))
    immune = data["immune"]
    assert immune["counts"]["regressed"] == 1
    assert immune["median_minutes"] > 0
    assert immune["regressions"][0]["deploy"] == "profile-web v2.41.0"
    assert len(immune["before_alert"]) == 1 and immune["before_alert"][0]["ahead_minutes"] is None
    html = render_to_string("postmortems/reviews/_sections.html", {"s": data})
    assert "Caught by the immune system" in html
