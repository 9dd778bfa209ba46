"""Alert severities as SREs label them (`high`, `P1`, none...): read through ALERT_SEVERITY_MAP,
and an alert that opens no incident says why, on the alerts page, in the admin and on its delivery."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from metrics_link.models import Alert, WebhookDelivery
from metrics_link.services.alerts import read_severity, record_alert
from metrics_link.services.webhooks import process_delivery
from metrics_link.webhooks.types import AlertData
from postmortems.models import Incident
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
AM_AUTH = {"HTTP_AUTHORIZATION": "Bearer am-test-token"}


@pytest.mark.parametrize(
    ("sent", "level"),
    [
        ("critical", "critical"),
        ("Error", "critical"),
        ("page", "critical"),
        ("P1", "critical"),
        ("high", "critical"),
        ("warn", "warning"),
        ("P3", "warning"),
        ("low", "info"),
        ("none", "info"),
    ],
)
def test_the_usual_severity_words_map_without_a_note(sent, level):
    assert read_severity(sent) == (level, "")


@pytest.mark.parametrize(
    ("sent", "note"),
    [
        ("P9", "unknown severity 'P9' stored as warning"),
        ("bogus", "unknown severity 'bogus' stored as warning"),
        ("", "no severity label: stored as warning"),
    ],
)
def test_an_unknown_or_missing_severity_is_a_warning_that_says_so(sent, note):
    assert read_severity(sent) == ("warning", note)


def alert_data(*, severity: str, service: str = "search", status: str = "firing") -> AlertData:
    labels = {"alertname": "SlowQueries", "service": service}
    if severity:
        labels["severity"] = severity
    return AlertData(
        source="alertmanager",
        dedupe_key=f"{service}|{severity}|{status}",
        service=service,
        name="SlowQueries",
        severity=severity,
        status=status,
        labels=labels,
        summary="Slow queries",
        starts_at=timezone.now() - timedelta(minutes=5),
        ends_at=None,
        url="",
    )


def receive(capture, data: AlertData) -> Alert:
    with capture(execute=True):
        alert, _ = record_alert(data=data)
    alert.refresh_from_db()
    return alert


def test_an_unknown_severity_is_stored_as_a_warning_with_the_reason_it_opened_nothing(
    django_capture_on_commit_callbacks,
):
    alert = receive(django_capture_on_commit_callbacks, alert_data(severity="P9"))

    assert alert.severity == "warning"
    assert alert.severity_note == "unknown severity 'P9' stored as warning"
    assert alert.outcome == (
        "Opened no incident: severity 'warning' is below the threshold 'critical' "
        "and no incident of search was open to join."
    )
    assert alert.explanation.startswith("Unknown severity 'P9' stored as warning. Opened no")
    assert Incident.objects.count() == 0


def test_a_known_word_below_the_threshold_names_both_word_and_level(
    settings, django_capture_on_commit_callbacks
):
    settings.ALERT_SEVERITY_MAP = {**settings.ALERT_SEVERITY_MAP, "high": "warning"}
    alert = receive(django_capture_on_commit_callbacks, alert_data(severity="high"))

    assert (alert.severity, alert.severity_note) == ("warning", "")
    assert "severity 'high' (warning) is below the threshold 'critical'" in alert.outcome


def test_p1_opens_an_incident_and_keeps_no_outcome(django_capture_on_commit_callbacks):
    alert = receive(django_capture_on_commit_callbacks, alert_data(severity="P1"))

    assert alert.severity == "critical"
    assert alert.explanation == ""
    assert Incident.objects.get().alert_links.get().alert == alert


def test_the_map_is_extended_from_the_environment_and_a_bad_level_refuses_to_start():
    from postmortems.config.settings import ALERT_SEVERITY_MAP, with_severity_pairs

    extended = with_severity_pairs(ALERT_SEVERITY_MAP, ["P9=Critical", "high=warning"])
    assert (extended["p9"], extended["high"], extended["page"]) == (
        "critical",
        "warning",
        "critical",
    )
    with pytest.raises(ImproperlyConfigured, match="ALERT_SEVERITY_MAP: 'p9=urgent'"):
        with_severity_pairs(ALERT_SEVERITY_MAP, ["p9=urgent"])


def test_a_delivery_of_an_unknown_severity_says_why_it_opened_nothing(
    client, client_for, django_capture_on_commit_callbacks
):
    """End to end through /hooks/alertmanager/: stored, "Processed", and the delivery's admin
    page and /alerts/ say the alert was read as a warning and paged nobody."""
    starts = (timezone.now() - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    payload = {
        "version": "4",
        "status": "firing",
        "receiver": "postmortems",
        "groupKey": '{}:{alertname="SlowQueries"}',
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "SlowQueries", "job": "search", "severity": "P9"},
                "annotations": {"summary": "Search p99 above 800ms"},
                "startsAt": starts,
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "feedc0ffee",
            }
        ],
    }
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/hooks/alertmanager/",
            data=json.dumps(payload),
            content_type="application/json",
            **AM_AUTH,
        )
    assert response.status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        process_delivery(delivery_id=response.json()["delivery"])

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "processed"
    assert Incident.objects.count() == 0
    admin = client_for(UserFactory(is_staff=True, is_superuser=True))
    page = admin.get(f"/admin/metrics_link/webhookdelivery/{delivery.pk}/change/")
    html = page.content.decode()
    assert (
        "SlowQueries (search, warning, firing): Unknown severity &#x27;P9&#x27; stored as" in html
    )
    assert "is below the threshold &#x27;critical&#x27;" in html
    alert_admin = admin.get("/admin/metrics_link/alert/").content.decode()
    assert "Unknown severity &#x27;P9&#x27; stored as warning." in alert_admin
    alerts_page = admin.get("/alerts/").content.decode()
    assert "Unknown severity &#x27;P9&#x27; stored as warning." in alerts_page


def test_a_stored_warning_that_resolves_keeps_the_reason_it_gave_when_it_fired(
    django_capture_on_commit_callbacks,
):
    capture = django_capture_on_commit_callbacks
    fired = receive(capture, alert_data(severity="warning"))
    resolved = alert_data(severity="warning", status="resolved")
    receive(capture, AlertData(**{**resolved.__dict__, "starts_at": fired.starts_at}))

    fired.refresh_from_db()
    assert fired.status == "resolved"
    assert "is below the threshold 'critical'" in fired.outcome


def test_an_alert_first_seen_resolved_says_so(django_capture_on_commit_callbacks):
    alert = receive(
        django_capture_on_commit_callbacks, alert_data(severity="critical", status="resolved")
    )
    assert alert.outcome == (
        "Opened no incident: it arrived already resolved and no incident of search was open to join."
    )
