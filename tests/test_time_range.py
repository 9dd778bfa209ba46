"""Times outside 1970 .. now + 1 day are refused at every door, before anything is committed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from metrics_link.models import Alert, Deploy, WebhookDelivery
from metrics_link.services.webhooks import process_delivery
from metrics_link.webhooks import github, pagerduty
from postmortems.models import Incident
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "webhooks"
ZERO_TIME = "0001-01-01T00:00:00Z"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_bytes())


def process(response) -> WebhookDelivery:
    assert response.status_code == 202, response.content
    return process_delivery(delivery_id=response.json()["delivery"])


def test_filing_an_incident_that_started_in_year_one_is_refused_and_saves_nothing(
    api_client_for, user, service
):
    response = api_client_for(user).post(
        "/api/incidents/",
        {
            "title": "Zero time",
            "severity": "sev2",
            "services": [service.slug],
            "started_at": ZERO_TIME,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "started_at" in response.json()
    assert "1970" in json.dumps(response.json())
    assert Incident.objects.count() == 0


def test_filing_an_incident_far_in_the_future_is_refused(api_client_for, user, service):
    response = api_client_for(user).post(
        "/api/incidents/",
        {
            "title": "Future",
            "severity": "sev2",
            "services": [service.slug],
            "started_at": "2999-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 400
    assert Incident.objects.count() == 0


def test_the_service_refuses_a_start_before_1970_whoever_calls_it(user, service):
    from postmortems.services.errors import ServiceError
    from postmortems.services.incidents import open_incident

    with pytest.raises(ServiceError) as exc:
        open_incident(
            title="Zero",
            severity="sev2",
            services=[service],
            reporter=user,
            started_at=datetime(1, 1, 1, tzinfo=UTC),
        )
    assert "1970" in str(exc.value)
    assert Incident.objects.count() == 0


def test_an_incident_stored_with_year_one_still_shows_its_page_and_suspects(
    client_for, user, service
):
    old = IncidentFactory(
        services=[service],
        commander=user,
        reporter=user,
        started_at=datetime(1, 1, 1, tzinfo=UTC),
        detected_at=datetime(1, 1, 1, tzinfo=UTC),
    )
    client = client_for(user)
    assert client.get(f"/incidents/{old.pk}/").status_code == 200
    assert client.get(f"/api/incidents/{old.pk}/suspects/").status_code == 200


def test_an_alertmanager_alert_starting_in_year_one_fails_its_delivery_and_stores_nothing(client):
    payload = fixture("alertmanager/firing.no_url.json")
    payload["alerts"][0]["startsAt"] = ZERO_TIME
    response = client.post(
        "/hooks/alertmanager/",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer am-test-token",
    )
    delivery = process(response)
    assert delivery.status == "failed"
    assert "startsAt" in delivery.error and "1970" in delivery.error
    assert Alert.objects.count() == 0
    assert Incident.objects.count() == 0


def test_an_alertmanager_end_far_in_the_future_fails_its_delivery(client):
    payload = fixture("alertmanager/resolved.single.json")
    payload["alerts"][0]["endsAt"] = "9999-12-31T23:59:59Z"
    response = client.post(
        "/hooks/alertmanager/",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer am-test-token",
    )
    delivery = process(response)
    assert delivery.status == "failed"
    assert "endsAt" in delivery.error
    assert Alert.objects.count() == 0


def test_a_pagerduty_event_dated_year_one_fails_its_delivery_and_stores_nothing(client):
    payload = fixture("pagerduty/incident.triggered.json")
    payload["event"]["occurred_at"] = ZERO_TIME
    body = json.dumps(payload).encode()
    response = client.post(
        "/hooks/pagerduty/",
        data=body,
        content_type="application/json",
        HTTP_X_PAGERDUTY_SIGNATURE=pagerduty.sign(body, "pd-test-secret"),
    )
    delivery = process(response)
    assert delivery.status == "failed"
    assert "occurred_at" in delivery.error
    assert Alert.objects.count() == 0
    assert Incident.objects.count() == 0


def test_a_github_deploy_status_dated_year_one_fails_its_delivery(client):
    payload = fixture("github/deployment_status.success.json")
    payload["deployment_status"]["updated_at"] = ZERO_TIME
    body = json.dumps(payload).encode()
    response = client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": "deployment_status",
            "X-GitHub-Delivery": "zero",
            "X-Hub-Signature-256": github.sign(body, "gh-test-secret"),
        },
    )
    delivery = process(response)
    assert delivery.status == "failed"
    assert Deploy.objects.count() == 0


def test_a_pushed_commit_dated_year_one_fails_its_delivery(client):
    payload = fixture("github/push.new_branch.json")
    assert payload["commits"], "the fixture pushes commits"
    payload["commits"][0]["timestamp"] = ZERO_TIME
    body = json.dumps(payload).encode()
    response = client.post(
        "/hooks/github/",
        data=body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "zero-push",
            "X-Hub-Signature-256": github.sign(body, "gh-test-secret"),
        },
    )
    assert process(response).status == "failed"


@pytest.mark.parametrize("field", ["finished_at", "started_at"])
def test_the_deploys_api_refuses_a_time_before_1970(api_client_for, user, field):
    data = {"service": "web", "version": "v1", "finished_at": "2024-01-01T00:00:00Z"}
    data[field] = ZERO_TIME
    response = api_client_for(user).post("/api/deploys/", data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Deploy.objects.count() == 0


def test_the_deploys_api_refuses_a_commit_dated_year_one(api_client_for, user):
    response = api_client_for(user).post(
        "/api/deploys/",
        {
            "service": "web",
            "version": "v1",
            "commits": [
                {"sha": "abc1234", "message": "m", "author": "a", "committed_at": ZERO_TIME}
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert Deploy.objects.count() == 0


def test_the_deploy_service_refuses_a_time_before_1970():
    from django.core.exceptions import ValidationError

    from metrics_link.services.deploys import record_deploy

    with pytest.raises(ValidationError) as exc:
        record_deploy(service="web", finished_at=datetime(1969, 12, 31, tzinfo=UTC))
    assert "finished_at" in exc.value.message_dict
    assert Deploy.objects.count() == 0
