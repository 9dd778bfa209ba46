"""/alerts/, the alerts on a service's page, and the alerts & impact card of an incident page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics_link.models import Alert
from postmortems.models import IncidentAlert
from postmortems.services.alerts import react_to_alert
from tests.factories import AlertFactory, IncidentFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_alerts_page_lists_alerts_newest_first(client_for, user):
    service = ServiceFactory(slug="checkout")
    AlertFactory(service=service, name="OldAlert", starts_at=timezone.now() - timedelta(days=2))
    AlertFactory(service=service, name="NewAlert")
    response = client_for(user).get("/alerts/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("NewAlert") < html.index("OldAlert")
    assert 'aria-current="page">Alerts' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("service=checkout", {"CheckoutDown"}),
        ("source=pagerduty", {"PagedSearch"}),
        ("status=resolved", {"OldResolved"}),
        ("severity=warning", {"PagedSearch"}),
        ("since={since}", {"CheckoutDown", "PagedSearch"}),
        ("until={until}", {"OldResolved"}),
    ],
)
def test_the_alerts_page_filters(client_for, user, query, expected):
    now = timezone.now()
    checkout, search = ServiceFactory(slug="checkout"), ServiceFactory(slug="search")
    AlertFactory(service=checkout, name="CheckoutDown")
    AlertFactory(service=search, name="PagedSearch", source="pagerduty", severity="warning")
    AlertFactory(
        service=search,
        name="OldResolved",
        status="resolved",
        starts_at=now - timedelta(days=10),
        ends_at=now - timedelta(days=10) + timedelta(minutes=5),
    )
    query = query.format(
        since=(now - timedelta(days=1)).date().isoformat(),
        until=(now - timedelta(days=5)).date().isoformat(),
    )
    html = client_for(user).get(f"/alerts/?{query}").content.decode()
    shown = {name for name in ("CheckoutDown", "PagedSearch", "OldResolved") if name in html}
    assert shown == expected


def test_bad_filters_do_not_break_the_page(client_for, user):
    AlertFactory(name="Anything")
    response = client_for(user).get("/alerts/?since=yesterday&status=exploded&page=999")
    assert response.status_code == 200
    assert "Anything" in response.content.decode()


def _queries_for_alerts_page(client, count: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    service = ServiceFactory()
    for index in range(count):
        alert = AlertFactory(service=service, name=f"Alert{index:02d}")
        IncidentAlert.objects.create(incident=IncidentFactory(services=[service]), alert=alert)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/alerts/")
    assert response.status_code == 200
    return len(queries)


def test_the_alerts_page_needs_the_same_queries_for_1_or_50_alerts(client_for, user):
    client = client_for(user)
    one = _queries_for_alerts_page(client, 1)
    fifty = _queries_for_alerts_page(client, 49)  # 50 in all
    assert one == fifty


def test_the_alerts_page_is_paginated(client_for, user):
    service = ServiceFactory()
    for index in range(60):
        AlertFactory(service=service, name=f"Alert{index:02d}")
    client = client_for(user)
    assert "Page 1 of 2" in client.get("/alerts/").content.decode()
    assert "Alert09" in client.get("/alerts/?page=2").content.decode()


def test_a_restricted_incident_is_never_named_on_the_alerts_page(client_for, user, other_user):
    service = ServiceFactory(slug="accounts")
    alert = AlertFactory(service=service, name="LoginErrorRate")
    secret = IncidentFactory(
        services=[service], restricted=True, commander=other_user, title="Secret tenant leak"
    )
    IncidentAlert.objects.create(incident=secret, alert=alert)
    public = IncidentFactory(services=[service], title="Logins failing")
    IncidentAlert.objects.create(incident=public, alert=alert)

    outsider = client_for(user).get("/alerts/").content.decode()
    assert "LoginErrorRate" in outsider  # alerts belong to services: shown
    assert "Logins failing" in outsider
    assert "Secret tenant leak" not in outsider
    assert f"/incidents/{secret.pk}/" not in outsider

    insider = client_for(other_user).get("/alerts/").content.decode()
    assert "Secret tenant leak" in insider
    service_page = client_for(user).get("/services/accounts/").content.decode()
    assert "LoginErrorRate" in service_page
    assert "Secret tenant leak" not in service_page


def test_a_service_page_lists_its_recent_alerts(client_for, user):
    service = ServiceFactory(slug="checkout")
    AlertFactory(service=service, name="CheckoutDown")
    AlertFactory(service=ServiceFactory(slug="search"), name="SearchDown")
    html = client_for(user).get("/services/checkout/").content.decode()
    assert "CheckoutDown" in html
    assert "SearchDown" not in html
    assert "/alerts/?service=checkout" in html


def test_the_incident_page_no_longer_asks_to_mark_mitigated_the_alerts_did_it(client_for):
    commander = UserFactory()
    service = ServiceFactory()
    incident = IncidentFactory(services=[service], commander=commander, origin="alert")
    alert = AlertFactory(service=service, status="firing")
    IncidentAlert.objects.create(incident=incident, alert=alert, opened=True)
    Alert.objects.filter(pk=alert.pk).update(status="resolved", ends_at=timezone.now())
    react_to_alert(alert_id=alert.pk)

    html = client_for(commander).get(incident.get_absolute_url()).content.decode()
    assert "Mark mitigated" not in html
    assert "All 1 alert of this incident resolved." in html
    assert alert.name in html


def test_the_alerts_page_says_why_an_alert_opened_no_incident(client_for, user):
    service = ServiceFactory(slug="search")
    alert = AlertFactory(
        service=service, severity="warning", labels={"alertname": "Slow", "severity": "P9"}
    )
    Alert.objects.filter(pk=alert.pk).update(
        severity_note="unknown severity 'P9' stored as warning"
    )
    react_to_alert(alert_id=alert.pk)

    html = client_for(user).get("/alerts/").content.decode()
    assert "Unknown severity &#x27;P9&#x27; stored as warning." in html
    assert (
        "Opened no incident: severity &#x27;warning&#x27; is below the threshold "
        "&#x27;critical&#x27; and no incident of search was open to join." in html
    )


def test_the_admin_lists_incident_alert_links(client_for):
    admin = UserFactory(is_staff=True, is_superuser=True)
    alert = AlertFactory(name="AdminVisible")
    IncidentAlert.objects.create(incident=IncidentFactory(services=[alert.service]), alert=alert)
    response = client_for(admin).get("/admin/postmortems/incidentalert/")
    assert response.status_code == 200
    assert "AdminVisible" in response.content.decode()
