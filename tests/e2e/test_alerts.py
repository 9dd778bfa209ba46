"""A critical Alertmanager alert opens an incident whose page shows the alert on its timeline and
the business-metrics dip against last week with its estimated cost."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from metrics_link import tasks
from metrics_link.models import MetricPoint
from metrics_link.services.webhooks import process_delivery
from postmortems.models import Incident
from tests.factories import MetricSeriesFactory, ServiceFactory

pytestmark = pytest.mark.browser

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"


@pytest.fixture
def process_after_commit(monkeypatch):
    """Run the delivery's processing on commit, the way the Celery task would (no eager mode)."""
    monkeypatch.setattr(
        tasks.process_delivery_task,
        "apply_async",
        lambda args, **kwargs: process_delivery(delivery_id=args[0]),
    )


def seed_logins_with_a_dip(service, start, now):
    logins = MetricSeriesFactory(name="logins", label="Logins", unit="logins", service=service)
    revenue = MetricSeriesFactory(name="revenue", label="Revenue", unit="$")
    rows = []
    moment = (start - timedelta(hours=2)).replace(second=0, microsecond=0)
    moment -= timedelta(minutes=moment.minute % 5)
    while moment <= now:
        dipping = moment >= start
        for series, level, share in ((logins, 500, 0.4), (revenue, 800, 0.8)):
            rows.append(MetricPoint(series=series, ts=moment - timedelta(days=7), value=level))
            rows.append(
                MetricPoint(series=series, ts=moment, value=level * (share if dipping else 1))
            )
        moment += timedelta(minutes=5)
    MetricPoint.objects.bulk_create(rows)


def test_a_critical_alert_opens_an_incident_showing_the_alert_and_the_dip(
    signed_in, live_server, shot, process_after_commit, settings
):
    page = signed_in
    now = timezone.now()
    start = (now - timedelta(minutes=40)).replace(second=0, microsecond=0)
    accounts = ServiceFactory(slug="accounts", name="Accounts & login")
    seed_logins_with_a_dip(accounts, start, now)
    payload = json.loads((FIXTURES / "alertmanager" / "firing.no_url.json").read_text())
    alert = payload["alerts"][0]
    alert["labels"].update(alertname="LoginErrorRate", service="accounts", severity="critical")
    alert["annotations"] = {"summary": "Login success rate below 80% for 3 minutes."}
    alert["startsAt"] = start.isoformat().replace("+00:00", "Z")

    response = Client().post(
        "/hooks/alertmanager/",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {settings.ALERTMANAGER_WEBHOOK_TOKEN}",
    )

    assert response.status_code == 202
    incident = Incident.objects.get()
    assert incident.origin == "alert"
    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    timeline = page.locator("#timeline")
    assert timeline.get_by_text("LoginErrorRate firing").is_visible()
    impact = page.locator("#impact")
    assert impact.get_by_text("fewer logins than the week before").is_visible()
    assert impact.get_by_text("less revenue than the week before").is_visible()
    assert impact.locator("svg").count() == 2
    shot("alerts-incident-opened-by-alert")

    page.goto(f"{live_server.url}/alerts/?service=accounts")
    assert page.get_by_role("link", name=f"#{incident.pk} LoginErrorRate on accounts").is_visible()
    shot("alerts-list")


def test_a_just_opened_incident_says_what_its_impact_chart_shows(signed_in, live_server, shot):
    """Issue 16 item 8: no "No data" above a chart of data, no "During the incident" label on the
    lead-up, and the incident band running up to now while the incident is open."""
    page = signed_in
    now = timezone.now().replace(second=0, microsecond=0)
    signup = ServiceFactory(slug="signup", name="Sign-up")
    registrations = MetricSeriesFactory(
        name="registrations", label="Registrations", unit="", service=signup
    )
    MetricSeriesFactory(name="newsletter", label="Newsletter sign-ups", service=signup)  # no data
    rows, moment = [], now - timedelta(minutes=60)
    while moment <= now - timedelta(minutes=7):
        for shift in (timedelta(0), timedelta(days=7)):
            rows.append(MetricPoint(series=registrations, ts=moment - shift, value=40))
        moment += timedelta(minutes=5)
    MetricPoint.objects.bulk_create(rows)
    from tests.factories import IncidentFactory

    incident = IncidentFactory(
        title="Sign-up form errors", services=[signup], started_at=now - timedelta(minutes=5)
    )

    page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    impact = page.locator("#impact")
    assert impact.get_by_text(
        "No registrations data yet since the incident started at"
    ).is_visible()
    assert impact.get_by_text("No newsletter sign-ups data around this incident").is_visible()
    assert impact.locator("svg").count() == 1
    chart = impact.locator("svg")
    assert chart.get_by_text("This week", exact=True).count() == 1  # the legend
    assert chart.get_by_text("During the incident").count() == 0
    assert chart.locator('rect[data-role="window"]').count() == 1
    impact.scroll_into_view_if_needed()
    shot("alerts-impact-new-incident")
