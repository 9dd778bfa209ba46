"""Rules every API list and body shares (issue 12): pages, cursors, typed JSON, JSON 404s."""

from __future__ import annotations

import pytest

from metrics_link.models import Deploy, Service
from postmortems.models import Incident, TimelineEntry
from tests.factories import DeployFactory, IncidentFactory, TimelineEntryFactory, UserFactory


@pytest.fixture
def api(api_client_for):
    return api_client_for(UserFactory())


@pytest.mark.parametrize("page", ["0", "-1", "null", "abc", "", "1.5"])
def test_a_malformed_page_is_a_400_that_names_the_page(api, page):
    response = api.get("/api/deploys/", {"page": page})
    assert response.status_code == 400
    assert "page" in response.json()


def test_a_page_past_the_end_is_a_404_and_page_one_of_an_empty_list_is_empty(api):
    assert api.get("/api/deploys/", {"page": "1"}).json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    response = api.get("/api/deploys/", {"page": "2"})
    assert response.status_code == 404
    assert "past the end" in response.json()["detail"]


@pytest.mark.django_db
def test_a_cursor_walks_every_deploy_once_newest_first_without_a_count(api, settings):
    DeployFactory.create_batch(53)
    seen, url = [], "/api/deploys/?cursor="
    while url:
        body = api.get(url).json()
        assert "count" not in body
        seen += [d["id"] for d in body["results"]]
        url = body["next"]
    assert seen == sorted(Deploy.objects.values_list("pk", flat=True), reverse=True)


def test_a_cursor_not_made_here_is_a_404(api):
    response = api.get("/api/incidents/", {"cursor": "bz1hYmM="})  # "o=abc": not an offset
    assert response.status_code == 404
    assert "cursor" in response.json()["detail"]


@pytest.mark.django_db
def test_the_timeline_is_paginated_and_its_cursor_goes_oldest_first(api):
    incident = IncidentFactory()
    TimelineEntryFactory.create_batch(3, incident=incident)
    page = api.get(f"/api/incidents/{incident.pk}/timeline/").json()
    assert page["count"] == TimelineEntry.objects.filter(incident=incident).count()
    cursor = api.get(f"/api/incidents/{incident.pk}/timeline/", {"cursor": ""}).json()
    ids = [e["id"] for e in cursor["results"]]
    assert ids == sorted(ids)


def test_an_unknown_api_address_answers_json_404(api):
    response = api.get("/api/incidents/not-a-number/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "body",
    [
        {"title": 12, "severity": "sev2", "services": ["checkout"]},
        {"title": "Down", "severity": "sev2", "services": [7]},
        {"title": "Down", "severity": "sev2", "services": ["checkout"], "commander": ""},
    ],
)
def test_an_incident_body_of_the_wrong_json_type_is_refused_and_nothing_is_filed(api, body):
    response = api.post("/api/incidents/", body, format="json")
    assert response.status_code == 400
    assert not Incident.objects.exists() and not Service.objects.filter(slug="checkout").exists()


def test_a_form_body_is_415_and_files_nothing(api):
    response = api.post(
        "/api/incidents/",
        "title=Down&severity=sev2&services=checkout",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415
    assert not Incident.objects.exists()


def test_an_empty_filter_value_is_a_400_not_an_ignored_filter(api):
    assert api.get("/api/deploys/", {"status": ""}).status_code == 400
    assert api.get("/api/incidents/", {"team": ""}).status_code == 400


def test_an_unknown_owner_filter_lists_nothing(api):
    response = api.get("/api/action-items/", {"owner": "nobody-by-this-name"})
    assert response.status_code == 200 and response.json()["count"] == 0


def test_the_schema_documents_the_auth_schemes_and_the_shared_errors(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    assert "drf_create_token" in schema["info"]["description"]
    listing = schema["paths"]["/api/incidents/"]["get"]
    assert {"200", "400", "403", "404"} <= set(listing["responses"])
    assert {p["name"] for p in listing["parameters"]} >= {"page", "cursor", "status", "since"}
    create = schema["paths"]["/api/incidents/"]["post"]
    assert {"201", "400", "403", "415"} <= set(create["responses"])
    commander = schema["components"]["schemas"]["IncidentOut"]["properties"]["commander"]
    assert commander.get("nullable") is True


def test_the_suspects_list_pages_from_the_top_and_the_incident_page_shows_the_top_ten(
    api_client_for, client_for, user, incident, service, settings
):
    from datetime import timedelta

    from metrics_link.api.pagination import PagePagination

    settings.DEBUG = False
    deploys = [
        DeployFactory(service=service, finished_at=incident.started_at - timedelta(minutes=5 * i))
        for i in range(1, 13)
    ]
    api = api_client_for(user)
    first = api.get(f"/api/incidents/{incident.pk}/suspects/").json()
    assert first["count"] == 12 and [s["rank"] for s in first["results"]][:2] == [1, 2]
    assert first["results"][0]["deploy"]["id"] == deploys[0].pk  # the closest to the start

    page = client_for(user).get(incident.get_absolute_url()).content.decode()
    top, rest = page.split('id="suspects-rest"')
    assert all(f'id="suspect-{d.pk}"' in top for d in deploys[:10])
    assert all(f'id="suspect-{d.pk}"' in rest for d in deploys[10:])
    assert "The other 2 deploys" in rest
    assert PagePagination.page_size >= 10
