"""Reading the latest weekly review and voting in a retrospective, in a real browser."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from metrics_link.models import DeployCommit, MetricPoint, MetricSeries
from postmortems.models import SuspectVerdict
from postmortems.reviews_metrics import previous_iso_week
from postmortems.selectors.weekly import week_bounds
from postmortems.services.reviews import build_weekly_review
from tests.factories import (
    ActionItemFactory,
    CommitFactory,
    DeployFactory,
    ExperimentFactory,
    IncidentFactory,
    RetroItemFactory,
    RetrospectiveFactory,
    ServiceFactory,
    TeamFactory,
    WhyNodeFactory,
)

pytestmark = pytest.mark.browser


def _week_of_data():
    week = previous_iso_week(timezone.localdate())
    _, start, _ = week_bounds(week)
    service = ServiceFactory(slug="checkout")
    for i, (title, sev) in enumerate(
        [("Checkout latency above 2 s", "sev2"), ("Search returning empty results", "sev3")]
    ):
        t = start + timedelta(days=i + 1, hours=9)
        IncidentFactory(
            title=title,
            severity=sev,
            services=[service],
            started_at=t,
            detected_at=t + timedelta(minutes=6),
            resolved_at=t + timedelta(minutes=75),
            status="resolved",
        )
    IncidentFactory(restricted=True, title="Hidden", started_at=start + timedelta(days=4))
    incident = IncidentFactory(services=[service], started_at=start + timedelta(days=5))
    for day in range(7):
        deploy = DeployFactory(service=service, finished_at=start + timedelta(days=day, hours=11))
        DeployCommit.objects.create(
            deploy=deploy,
            commit=CommitFactory(committed_at=deploy.finished_at - timedelta(hours=4)),
        )
    SuspectVerdict.objects.create(
        incident=incident, deploy=deploy, verdict="culprit", at=incident.started_at
    )
    series = MetricSeries.objects.create(name="revenue", label="Revenue", unit="$")
    MetricPoint.objects.bulk_create(
        MetricPoint(series=series, ts=start + timedelta(hours=h - 168), value=100 + (h % 24) * 5)
        for h in range(336)
    )
    ExperimentFactory(name="One-page checkout", started_on=start.date())
    build_weekly_review(week=week, mail=False)
    return week


def test_reading_the_latest_weekly_review(signed_in, live_server, shot):
    week = _week_of_data()
    page = signed_in
    page.get_by_role("link", name="Reviews").click()
    page.get_by_role("link", name=f"Week {week}").click()
    assert page.get_by_role("heading", name="Incidents of the week").is_visible()
    assert page.get_by_role("link", name=re.compile("Checkout latency above 2 s")).is_visible()
    assert page.get_by_text("1 restricted incident").is_visible()
    assert page.get_by_text("Hidden").count() == 0
    for heading in ("Delivery: the four keys", "Business", "Experiments", "Did our fixes work?"):
        assert page.get_by_role("heading", name=heading).is_visible()
    assert page.locator("svg").count() >= 4
    shot("reviews-latest")
    page.emulate_media(media="print")
    assert page.locator(".topbar").is_hidden()
    shot("reviews-latest-print")


def test_voting_in_a_retro_with_htmx(signed_in, live_server, shot):
    page = signed_in
    team = TeamFactory(name="Payments")
    team.members.add(get_user_model().objects.get(username="oncall"))
    retro = RetrospectiveFactory(team=team, name="Sprint 47")
    RetroItemFactory(retrospective=retro, column="stop", text="Merging on Friday afternoon")
    RetroItemFactory(retrospective=retro, column="learned", text="Canaries catch config errors")
    page.goto(f"{live_server.url}/retros/{retro.pk}/")
    vote = page.get_by_role("button", name="votes: vote for “Merging on Friday afternoon”")
    vote.click()
    taken = page.get_by_role("button", name="take back your vote for “Merging on Friday afternoon”")
    taken.wait_for()
    assert taken.get_attribute("aria-pressed") == "true"
    assert "▲ 1" in taken.inner_text().replace("\n", " ")
    shot("retro-detail")


def test_confirming_a_recurrence_on_the_incident_page(signed_in, live_server, shot):
    service = ServiceFactory(slug="payments-api")
    earlier = IncidentFactory(
        services=[service],
        title="Payment pool exhausted",
        started_at=timezone.now() - timedelta(days=60),
    )
    WhyNodeFactory(incident=earlier, category="infrastructure")
    ActionItemFactory(
        incident=earlier,
        title="Cap the pool per worker",
        status="done",
        closed_at=timezone.now() - timedelta(days=50),
    )
    oncall = get_user_model().objects.get(username="oncall")  # the signed-in person commands it
    new = IncidentFactory(services=[service], title="Payments timing out again", commander=oncall)
    WhyNodeFactory(incident=new, category="infrastructure")

    page = signed_in
    page.goto(f"{live_server.url}/incidents/{new.pk}/")
    assert page.get_by_text("Possible recurrence").is_visible()
    page.get_by_label("Reason").fill("Same pool; the cap was per worker and we doubled workers.")
    shot("recurrence-suggested")
    page.get_by_role("button", name="Confirm: the fix did not prevent it").click()
    assert page.get_by_text("Confirmed", exact=True).is_visible()
    page.goto(f"{live_server.url}/incidents/{earlier.pk}/")
    assert page.get_by_text("did not prevent recurrence").is_visible()
    shot("recurrence-earlier-incident")
