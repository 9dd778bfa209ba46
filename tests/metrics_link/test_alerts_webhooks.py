"""Alertmanager and PagerDuty end to end: endpoint → stored delivery → processing → Alert rows →
incident (through the alert_received signal, on commit)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from metrics_link.models import Alert, WebhookDelivery
from metrics_link.services.webhooks import process_delivery
from metrics_link.webhooks import pagerduty
from postmortems.models import Incident, TimelineEntry
from postmortems.models.incidents import Provenance

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
AM_AUTH = {"HTTP_AUTHORIZATION": "Bearer am-test-token"}

pytestmark = pytest.mark.django_db


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_bytes())


def post_alertmanager(client, payload: dict, **headers):
    return client.post(
        "/hooks/alertmanager/",
        data=json.dumps(payload),
        content_type="application/json",
        **(headers or AM_AUTH),
    )


def post_pagerduty(client, payload: dict, signature: str | None = None, secret="pd-test-secret"):
    body = json.dumps(payload).encode()
    return client.post(
        "/hooks/pagerduty/",
        data=body,
        content_type="application/json",
        HTTP_X_PAGERDUTY_SIGNATURE=signature or pagerduty.sign(body, secret),
    )


def deliver(client, post, capture, *args, **kwargs):
    """Post, then run the enqueued processing the way the Celery task would, after commit."""
    with capture() as enqueued:
        response = post(client, *args, **kwargs)
    assert response.status_code in (200, 202), response.content
    if response.status_code == 202:
        assert len(enqueued) == 1  # processing enqueued on commit, not run inline
        with capture(execute=True):
            process_delivery(delivery_id=response.json()["delivery"])
    return response


def resolved_copy(payload: dict) -> dict:
    resolved = copy.deepcopy(payload)
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2024-07-20T14:41:02.000Z"
    return resolved


def test_a_critical_alertmanager_alert_opens_an_incident_with_its_times_from_the_alert(
    client, django_capture_on_commit_callbacks
):
    deliver(
        client,
        post_alertmanager,
        django_capture_on_commit_callbacks,
        fixture("alertmanager/firing.no_url.json"),
    )

    alert = Alert.objects.get()
    assert (alert.source, alert.service.slug, alert.severity, alert.status) == (
        "alertmanager",
        "checkout-api",
        "critical",
        "firing",
    )
    assert not alert.service.claimed  # unknown service created unclaimed, never dropped
    incident = Incident.objects.get()
    assert incident.origin == Incident.Origin.ALERT
    assert incident.severity == "sev2"  # ALERT_SEVERITY_TO_INCIDENT["critical"]
    assert incident.started_at == alert.starts_at
    assert incident.detected_at == alert.starts_at
    assert incident.started_at_source == Provenance.ALERT
    assert incident.detected_at_source == Provenance.ALERT
    assert list(incident.services.values_list("slug", flat=True)) == ["checkout-api"]
    entry = incident.timeline.get(kind=TimelineEntry.Kind.ALERT)
    assert entry.alert == alert
    assert entry.dedupe_key == f"alert:{alert.pk}"
    assert entry.source == TimelineEntry.Source.MACHINE
    assert "Checkout Latency High" in entry.body


def test_a_repeated_alertmanager_notification_changes_nothing(
    client, django_capture_on_commit_callbacks
):
    payload = fixture("alertmanager/firing.no_url.json")
    deliver(client, post_alertmanager, django_capture_on_commit_callbacks, payload)
    again = post_alertmanager(client, payload)  # same body: same delivery key
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    # The same alert in a different notification body (a re-sent group) is deduplicated per alert.
    regrouped = copy.deepcopy(payload)
    regrouped["groupKey"] = '{}:{alertname="Checkout Latency High"}'
    deliver(client, post_alertmanager, django_capture_on_commit_callbacks, regrouped)

    assert WebhookDelivery.objects.count() == 2
    assert Alert.objects.count() == 1
    assert Incident.objects.count() == 1
    assert TimelineEntry.objects.filter(kind="alert").count() == 1


def test_the_resolved_notification_resolves_the_alert_and_says_so_on_the_timeline(
    client, django_capture_on_commit_callbacks
):
    payload = fixture("alertmanager/firing.no_url.json")
    deliver(client, post_alertmanager, django_capture_on_commit_callbacks, payload)
    deliver(client, post_alertmanager, django_capture_on_commit_callbacks, resolved_copy(payload))

    alert = Alert.objects.get()
    assert alert.status == "resolved"
    assert alert.ends_at.isoformat() == "2024-07-20T14:41:02+00:00"
    incident = Incident.objects.get()
    bodies = list(incident.timeline.filter(kind="alert").values_list("body", flat=True))
    assert bodies == [
        bodies[0],
        "Alert **Checkout Latency High** resolved.",
    ]


def test_warnings_alone_open_nothing_but_are_stored(client, django_capture_on_commit_callbacks):
    deliver(
        client,
        post_alertmanager,
        django_capture_on_commit_callbacks,
        fixture("alertmanager/firing.two_alerts.json"),
    )

    assert Alert.objects.filter(severity="warning", status="firing").count() == 2
    assert Incident.objects.count() == 0
    assert WebhookDelivery.objects.get().status == "processed"


def test_a_bad_bearer_token_stores_nothing(client):
    payload = fixture("alertmanager/firing.no_url.json")
    missing = post_alertmanager(client, payload, HTTP_X_OTHER="1")
    wrong = post_alertmanager(client, payload, HTTP_AUTHORIZATION="Bearer nope")

    assert missing.status_code == 401
    assert wrong.status_code == 403
    assert WebhookDelivery.objects.count() == 0
    assert Alert.objects.count() == 0


def test_a_malformed_alertmanager_payload_is_kept_with_its_error(
    client, django_capture_on_commit_callbacks
):
    payload = fixture("alertmanager/firing.no_url.json")
    payload["version"] = "3"
    deliver(client, post_alertmanager, django_capture_on_commit_callbacks, payload)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert "version" in delivery.error
    assert Alert.objects.count() == 0


def test_pagerduty_triggered_acknowledged_resolved_make_one_alert_and_one_incident(
    client, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    triggered = fixture("pagerduty/incident.triggered.json")
    deliver(client, post_pagerduty, capture, triggered)
    deliver(client, post_pagerduty, capture, fixture("pagerduty/incident.acknowledged.json"))
    resolved = copy.deepcopy(triggered)
    resolved["event"].update(
        id="01DVX3ZZRESOLVED000000000",
        event_type="incident.resolved",
        occurred_at="2024-08-02T19:30:00Z",
    )
    deliver(client, post_pagerduty, capture, resolved)

    alert = Alert.objects.get()
    assert (alert.source, alert.service.slug, alert.severity) == (
        "pagerduty",
        "checkout-api",  # service.summary "Checkout API", slugified
        "critical",  # urgency high
    )
    assert alert.status == "resolved"
    incident = Incident.objects.get()
    assert incident.severity == "sev2"
    assert incident.timeline.filter(kind="alert").count() == 2
    assert WebhookDelivery.objects.filter(provider="pagerduty").count() == 3


def test_a_low_urgency_pagerduty_incident_is_a_warning_and_opens_nothing(
    client, django_capture_on_commit_callbacks
):
    deliver(
        client,
        post_pagerduty,
        django_capture_on_commit_callbacks,
        fixture("pagerduty/incident.resolved.json"),
    )

    assert Alert.objects.get().severity == "warning"
    assert Incident.objects.count() == 0


def test_pagerduty_ping_is_stored_and_ignored(client, django_capture_on_commit_callbacks):
    deliver(
        client,
        post_pagerduty,
        django_capture_on_commit_callbacks,
        fixture("pagerduty/pagey.ping.json"),
    )

    assert WebhookDelivery.objects.get().status == "ignored"
    assert Alert.objects.count() == 0


class TestPagerDutySignatures:
    def test_a_valid_signature_is_accepted(self, client):
        response = post_pagerduty(client, fixture("pagerduty/incident.triggered.json"))
        assert response.status_code == 202

    def test_an_invalid_signature_is_refused_and_nothing_is_stored(self, client):
        payload = fixture("pagerduty/incident.triggered.json")
        wrong = post_pagerduty(client, payload, secret="not-the-secret")
        garbage = post_pagerduty(client, payload, signature="v1=zzz")
        missing = client.post(
            "/hooks/pagerduty/", data=json.dumps(payload), content_type="application/json"
        )
        assert (wrong.status_code, garbage.status_code, missing.status_code) == (403, 403, 401)
        assert WebhookDelivery.objects.count() == 0

    def test_a_tampered_body_is_refused(self, client):
        payload = fixture("pagerduty/incident.triggered.json")
        body = json.dumps(payload).encode()
        signature = pagerduty.sign(body, "pd-test-secret")
        response = client.post(
            "/hooks/pagerduty/",
            data=body.replace(b"Checkout", b"Checkin"),
            content_type="application/json",
            HTTP_X_PAGERDUTY_SIGNATURE=signature,
        )
        assert response.status_code == 403
        assert WebhookDelivery.objects.count() == 0

    def test_during_rotation_two_signatures_and_two_secrets_are_accepted(self, client, settings):
        settings.PAGERDUTY_WEBHOOK_SECRET = "old-secret, new-secret"
        payload = fixture("pagerduty/incident.triggered.json")
        body = json.dumps(payload).encode()
        # PagerDuty signs with every active secret; we know only one of them.
        header = f"{pagerduty.sign(body, 'unknown-secret')},{pagerduty.sign(body, 'new-secret')}"
        accepted = post_pagerduty(client, payload, signature=header)
        assert accepted.status_code == 202
        # Either configured secret alone works too.
        other = copy.deepcopy(payload)
        other["event"]["id"] = "01DVX3Q8ZP5M2R7K4T9WB6HOLD"
        assert post_pagerduty(client, other, secret="old-secret").status_code == 202
        # Two signatures, neither from a configured secret: refused.
        both_wrong = f"{pagerduty.sign(body, 'a')},{pagerduty.sign(body, 'b')}"
        assert post_pagerduty(client, payload, signature=both_wrong).status_code == 403
        assert WebhookDelivery.objects.count() == 2


def am_payload(status: str, starts_at, ends_at=None) -> dict:
    """One Alertmanager notification of the same alert (same fingerprint), at real times."""

    def z(moment) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    return {
        "version": "4",
        "status": status,
        "receiver": "postmortems",
        "groupKey": '{}:{alertname="PaymentsDown"}',
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "PaymentsDown", "service": "payments", "severity": "page"},
                "annotations": {"summary": "Payments failing"},
                "startsAt": z(starts_at),
                "endsAt": z(ends_at) if ends_at else "0001-01-01T00:00:00Z",
                "fingerprint": "5ca1ab1e",
            }
        ],
    }


def test_an_alert_that_resolves_and_fires_again_mitigates_then_reopens_the_same_incident(
    client, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    capture = django_capture_on_commit_callbacks
    now = timezone.now().replace(microsecond=0)
    first = now - timedelta(minutes=40)
    deliver(client, post_alertmanager, capture, am_payload("firing", first))
    incident = Incident.objects.get()
    assert incident.status == "investigating"

    deliver(
        client,
        post_alertmanager,
        capture,
        am_payload("resolved", first, ends_at=now - timedelta(minutes=15)),
    )
    incident.refresh_from_db()
    assert incident.status == "mitigated"
    assert incident.mitigated_at == now - timedelta(minutes=15)
    assert incident.mitigated_at_source == Provenance.ALERT
    assert incident.resolved_at is None

    # Alertmanager sends the re-firing as a new occurrence (new startsAt), 10 minutes later.
    deliver(client, post_alertmanager, capture, am_payload("firing", now - timedelta(minutes=5)))
    assert Incident.objects.count() == 1
    incident.refresh_from_db()
    assert incident.status == "investigating"
    assert incident.alert_links.count() == 2
    statuses = list(
        incident.timeline.filter(kind="status")
        .exclude(body__startswith="Incident filed")
        .order_by("at", "pk")
        .values_list("body", flat=True)
    )
    assert len(statuses) == 2
    assert statuses[-2].startswith("Mitigated. All 1 alert of this incident resolved.")
    assert statuses[-1].startswith("Investigating. Alert **PaymentsDown** fired again 10 min")
