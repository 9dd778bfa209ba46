"""The demo's immune-system story, seeded as `manage.py demo` seeds it: one-minute company-wide
business series; every production deploy since the immune system was turned on judged by the real
judge from the seeded points (most healthy, checkout's marginal one, the culprit regressed); the
culprit's verdict opened the login outage before any alert; the pages and the weekly review show
it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings

from metrics_link.demo import catalog
from metrics_link.demo.story import (
    CULPRIT_SERVICE,
    CULPRIT_VERSION,
    LOGIN_OUTAGE_TITLE,
    MARGINAL_SERVICE,
    DemoContext,
    anchor_now,
    immune_system_since,
    login_outage_window,
    marginal_deploy_at,
)
from metrics_link.models import Deploy, DeployWatch, MetricPoint, MetricSeries
from postmortems import reviews_metrics as rm
from postmortems.demo import alerts, deploys, immune, incidents
from postmortems.models import Incident
from postmortems.selectors.suspects import ranked_suspects
from postmortems.services.reviews import build_weekly_review
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_demo_tells_the_immune_systems_story(monkeypatch, client_for):
    """One seeding (about half a minute), then each part of the story in turn."""
    monkeypatch.setattr(alerts, "DAYS", 22)  # 13 months in the real seed; the minute weeks here
    ctx = DemoContext(now=anchor_now())
    notes: list[str] = []
    for step in (catalog.run, incidents.run, deploys.run, alerts.run, immune.run):
        step(ctx, notes.append)
    client = client_for(UserFactory(is_staff=True, is_superuser=True))
    _series_are_company_wide_and_at_one_minute(ctx)
    _every_deploy_since_it_was_turned_on_has_a_verdict_from_the_judge(ctx, notes)
    _the_culprits_verdict_opened_the_login_outage_before_any_alert()
    _the_pages_show_the_verdicts(client)
    _the_weekly_review_shows_what_the_immune_system_caught(ctx, client)


def _series_are_company_wide_and_at_one_minute(ctx):
    start, *_ = login_outage_window(ctx.now)
    for name in ("logins", "registrations", "revenue"):
        series = MetricSeries.objects.get(name=name)
        assert series.watched and series.service is None
        before = MetricPoint.objects.filter(
            series=series, ts__gte=start - timedelta(minutes=10), ts__lt=start
        )
        assert before.count() == 10


def _every_deploy_since_it_was_turned_on_has_a_verdict_from_the_judge(ctx, notes):
    watched = Deploy.objects.filter(
        environment="production",
        status="success",
        finished_at__gte=immune_system_since(ctx.now),
    )
    assert watched.count() > 100
    assert not watched.filter(watch__isnull=True).exists()
    counts = {s: DeployWatch.objects.filter(status=s).count() for s in DeployWatch.Status.values}
    assert counts["watching"] == 0
    assert counts["healthy"] >= 0.9 * watched.count()
    assert counts["regressed"] <= 2 and counts["marginal"] <= 3

    culprit = DeployWatch.objects.get(
        deploy__service__slug=CULPRIT_SERVICE, deploy__version=CULPRIT_VERSION
    )
    assert culprit.status == "regressed"
    logins = next(r for r in culprit.results if r["name"] == "logins")
    assert logins["passed"] is False and logins["critical"]
    assert logins["week_p_value"] is not None  # judged against a week earlier too
    marginal = DeployWatch.objects.get(
        deploy__service__slug=MARGINAL_SERVICE, deploy__finished_at=marginal_deploy_at(ctx.now)
    )
    assert marginal.status == "marginal"
    assert [r["name"] for r in marginal.results if r["passed"] is False] == ["revenue"]
    # Decided when the sweep would have: one window after the deploy, within the minute.
    delay = (culprit.decided_at - culprit.deploy.finished_at).total_seconds()
    assert settings.DEPLOY_WATCH_SECONDS <= delay < settings.DEPLOY_WATCH_SECONDS + 60
    assert "judged" in notes[-1]

    again: list[str] = []
    immune.run(ctx, again.append)  # idempotent
    assert again == ["already judged"]
    assert DeployWatch.objects.count() == sum(counts.values())


def _the_culprits_verdict_opened_the_login_outage_before_any_alert():
    login = Incident.objects.get(title=LOGIN_OUTAGE_TITLE)
    culprit = DeployWatch.objects.get(
        deploy__service__slug=CULPRIT_SERVICE, deploy__version=CULPRIT_VERSION
    )
    assert login.origin == Incident.Origin.IMMUNE
    assert login.started_at == culprit.deploy.finished_at
    assert login.detected_at == culprit.decided_at
    assert min(link.alert.starts_at for link in login.alert_links.all()) > login.detected_at
    entry = login.timeline.get(dedupe_key=f"watch:{culprit.pk}")
    assert entry.at == culprit.decided_at and entry.deploy_id == culprit.deploy_id
    first = ranked_suspects(login)[0]
    assert first.deploy == culprit.deploy
    assert any(r.startswith("immune system: regressed (Logins") for r in first.reasons)


def _the_pages_show_the_verdicts(client):
    culprit = Deploy.objects.get(service__slug=CULPRIT_SERVICE, version=CULPRIT_VERSION)

    newer = Deploy.objects.filter(
        service__slug=CULPRIT_SERVICE, finished_at__gt=culprit.finished_at
    ).count()
    listing = client.get(
        f"/deploys/?service={CULPRIT_SERVICE}&page={newer // 30 + 1}"
    ).content.decode()
    assert culprit.get_absolute_url() in listing
    assert "badge-danger" in listing and "Regressed" in listing
    assert "badge-ok" in listing and "Healthy" in listing

    page = client.get(culprit.get_absolute_url()).content.decode()
    assert 'id="watch"' in page and "Regressed" in page
    assert page.count("<svg") >= 3  # a before/after chart per watched metric
    assert "also worse than a week earlier" in page

    login = Incident.objects.get(title=LOGIN_OUTAGE_TITLE)
    incident_page = client.get(login.get_absolute_url()).content.decode()
    assert "immune system: regressed" in incident_page


def _the_weekly_review_shows_what_the_immune_system_caught(ctx, client):
    start, *_ = login_outage_window(ctx.now)
    week = rm.iso_week_of(start.date())
    review, _built = build_weekly_review(week=week, mail=False)
    immune_figures = review.snapshot["immune"]
    assert immune_figures["counts"]["regressed"] >= 1
    assert immune_figures["counts"]["healthy"] > 10
    assert immune_figures["median_minutes"] == pytest.approx(
        (settings.DEPLOY_WATCH_SECONDS + 30) / 60, abs=0.1
    )
    assert [i["title"] for i in immune_figures["before_alert"]] == [LOGIN_OUTAGE_TITLE]
    html = client.get(review.get_absolute_url()).content.decode()
    assert "Caught by the immune system" in html
    assert f"{CULPRIT_SERVICE} {CULPRIT_VERSION}" in html
