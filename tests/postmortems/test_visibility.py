"""A restricted incident is 404 for anyone who is not one of its people, on every surface."""

from __future__ import annotations

import pytest
from django.urls import reverse

from postmortems.models import Incident
from tests.factories import IncidentFactory, TimelineEntryFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        "commander": UserFactory(),
        "reporter": UserFactory(),
        "responder": UserFactory(),
        "outsider": UserFactory(),
        "superuser": UserFactory(is_superuser=True),
    }


@pytest.fixture
def secret(people):
    incident = IncidentFactory(
        restricted=True,
        title="Tenant export leak ZXQ",
        commander=people["commander"],
        reporter=people["reporter"],
        responders=[people["responder"]],
    )
    TimelineEntryFactory(incident=incident, body="secret note ZXQ")
    return incident


@pytest.mark.parametrize("who", ["commander", "reporter", "responder", "superuser"])
def test_its_people_see_a_restricted_incident(client, people, secret, who):
    client.force_login(people[who])
    assert client.get(secret.get_absolute_url()).status_code == 200
    assert Incident.objects.visible_to(people[who]).filter(pk=secret.pk).exists()


@pytest.mark.parametrize(
    "url_name",
    ["postmortems:incident-detail", "postmortems:incident-edit", "postmortems:incident-history"],
)
def test_outsiders_get_404_on_every_incident_page(client, people, secret, url_name):
    client.force_login(people["outsider"])
    assert client.get(reverse(url_name, args=[secret.pk])).status_code == 404


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("postmortems:incident-status", {"to": "mitigated"}),
        ("postmortems:incident-add-note", {"body": "hi"}),
    ],
)
def test_outsiders_get_404_on_every_incident_write(client, people, secret, url_name, data):
    client.force_login(people["outsider"])
    assert client.post(reverse(url_name, args=[secret.pk]), data).status_code == 404
    secret.refresh_from_db()
    assert secret.status == "investigating"


def test_outsiders_get_404_on_the_api(api_client_for, people, secret):
    api = api_client_for(people["outsider"])
    assert api.get(f"/api/incidents/{secret.pk}/").status_code == 404
    assert api.get(f"/api/incidents/{secret.pk}/timeline/").status_code == 404
    assert (
        api.patch(f"/api/incidents/{secret.pk}/", {"title": "x"}, format="json").status_code == 404
    )
    assert (
        api.post(f"/api/incidents/{secret.pk}/timeline/", {"body": "x"}, format="json").status_code
        == 404
    )


def test_lists_search_and_counts_never_include_it(client, api_client_for, people, secret):
    IncidentFactory(title="Public one ZXQ")
    client.force_login(people["outsider"])
    for url in ["/incidents/", "/incidents/?q=ZXQ", "/", "/incidents/?status=open"]:
        body = client.get(url).content.decode()
        assert "Tenant export leak" not in body, url
        assert "secret note" not in body, url
    page = client.get("/incidents/?q=ZXQ")
    assert page.context["page"].count == 1
    data = api_client_for(people["outsider"]).get("/api/incidents/?q=ZXQ").json()
    assert data["count"] == 1
    assert [i["title"] for i in data["results"]] == ["Public one ZXQ"]


def test_its_people_find_it_in_lists_and_search(client, people, secret):
    client.force_login(people["responder"])
    assert "Tenant export leak ZXQ" in client.get("/incidents/?q=ZXQ").content.decode()


def test_a_duplicate_target_must_be_visible(client, people, secret):
    public = IncidentFactory(commander=people["outsider"])
    client.force_login(people["outsider"])
    response = client.post(
        reverse("postmortems:incident-status", args=[public.pk]),
        {"to": "closed", "reason": "duplicate", "duplicate_of": secret.pk},
        follow=True,
    )
    assert f"no incident #{secret.pk} you can see" in response.content.decode()
    public.refresh_from_db()
    assert public.status == "investigating"


def test_anonymous_users_are_sent_to_login(client, secret):
    response = client.get("/incidents/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/api/incidents/").status_code in (401, 403)
