"""`/api/incidents/`: token auth, create, filters, updates, errors as 400 with field messages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from postmortems.models import Incident
from tests.factories import IncidentFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_client(user):
    call_command("drf_create_token", user.username, verbosity=0)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=user).key}")
    return client


def test_a_token_authenticated_post_creates_an_incident_that_appears_on_the_list_page(
    token_client, client_for, user, service
):
    response = token_client.post(
        "/api/incidents/",
        {
            "title": "Checkout 500s",
            "severity": "sev2",
            "services": [service.slug],
            "impact": "Orders fail",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["title"] == "Checkout 500s" and data["services"] == [service.slug]
    assert data["reporter"] == user.username and data["status"] == "investigating"
    assert data["started_at"].endswith("Z") or "+" in data["started_at"]
    incident = Incident.objects.get(pk=data["id"])
    assert incident.origin == "api"
    assert "Checkout 500s" in client_for(user).get("/incidents/").content.decode()


def test_errors_are_400_with_field_messages(token_client):
    response = token_client.post(
        "/api/incidents/", {"title": "", "severity": "sev7", "services": []}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"title", "severity", "services"}
    assert not Incident.objects.exists()


def test_time_rule_violations_are_400_not_500(token_client, service):
    start = timezone.now() - timedelta(hours=1)
    response = token_client.post(
        "/api/incidents/",
        {
            "title": "x",
            "severity": "sev3",
            "services": [service.slug],
            "started_at": start.isoformat(),
            "detected_at": (start - timedelta(minutes=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "cannot be before" in response.json()["detected_at"][0]


def test_malformed_json_is_400(token_client):
    response = token_client.generic(
        "POST", "/api/incidents/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_list_filters(token_client):
    svc = ServiceFactory(slug="search")
    IncidentFactory(title="A", severity="sev1", services=[svc])
    IncidentFactory(
        title="B", severity="sev3", resolved=True, started_at=timezone.now() - timedelta(days=10)
    )
    assert [
        i["title"] for i in token_client.get("/api/incidents/?severity=sev1").json()["results"]
    ] == ["A"]
    assert [
        i["title"] for i in token_client.get("/api/incidents/?status=resolved").json()["results"]
    ] == ["B"]
    assert [
        i["title"] for i in token_client.get("/api/incidents/?service=search").json()["results"]
    ] == ["A"]
    since = (timezone.now() - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    assert [
        i["title"] for i in token_client.get(f"/api/incidents/?since={since}").json()["results"]
    ] == ["A"]
    assert token_client.get("/api/incidents/?severity=bogus").status_code == 400


def test_partial_update_and_status_change(token_client, incident):
    response = token_client.patch(
        f"/api/incidents/{incident.pk}/",
        {"title": "Better title", "status": "mitigated"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Better title" and response.json()["status"] == "mitigated"
    assert response.json()["mitigated_at"] is not None
    bad = token_client.patch(f"/api/incidents/{incident.pk}/", {"status": "closed"}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()


def test_timeline_read_and_add(token_client, incident):
    created = token_client.post(
        f"/api/incidents/{incident.pk}/timeline/",
        {"body": "Restarted pods", "starred": True},
        format="json",
    )
    assert created.status_code == 201 and created.json()["starred"] is True
    entries = token_client.get(f"/api/incidents/{incident.pk}/timeline/").json()["results"]
    assert [e["body"] for e in entries][-1] == "Restarted pods"
    assert (
        token_client.post(
            f"/api/incidents/{incident.pk}/timeline/", {"body": ""}, format="json"
        ).status_code
        == 400
    )


def test_unknown_incident_is_404(token_client):
    assert token_client.get("/api/incidents/999999/").status_code == 404


def test_schema_documents_incidents_and_docs_work_offline(client_for, user):
    client = client_for(user)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    create = schema["paths"]["/api/incidents/"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"title", "severity", "services"} <= set(
        schema["components"]["schemas"][ref]["required"]
    )
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    # Offline: every script, style and image comes from this site (a CSP nonce may spell "cdn").
    outside = re.findall(r'(?:src|href)="((?:https?:)?//[^"]*)"', docs)
    assert outside == [], outside
    assert "unpkg.com" not in docs and "jsdelivr" not in docs and "cdnjs" not in docs


def test_services_api_create_and_validate(token_client, team):
    ok = token_client.post(
        "/api/services/",
        {"slug": "web", "name": "Web", "team": team.slug, "repositories": ["acme/web"]},
        format="json",
    )
    assert ok.status_code == 201 and ok.json()["claimed"] is True
    bad = token_client.post(
        "/api/services/", {"slug": "x", "name": "X", "repositories": ["not a repo"]}, format="json"
    )
    assert bad.status_code == 400 and "owner/name" in bad.json()["repositories"][0]
    assert [s["slug"] for s in token_client.get("/api/services/").json()["results"]] == ["web"]
    assert (
        token_client.patch("/api/services/web/", {"name": "Website"}, format="json").json()["name"]
        == "Website"
    )
