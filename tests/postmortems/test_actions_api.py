"""/api/action-items/ end to end: filters, create, update, transitions, errors, schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from postmortems.models import ActionItem
from tests.factories import ActionItemFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_lists_with_filters(user, api_client_for):
    team = TeamFactory(slug="ops")
    late = ActionItemFactory(owner=user, team=team, due_on=timezone.localdate() - timedelta(days=2))
    ActionItemFactory(owner=user, status="done")
    ActionItemFactory(type="detect")
    client = api_client_for(user)
    ids = lambda q: [r["id"] for r in client.get(f"/api/action-items/{q}").json()["results"]]  # noqa: E731
    assert len(ids("")) == 3
    assert ids("?mine=true&status=open") == [late.pk]
    assert ids("?team=ops") == [late.pk]
    assert ids("?overdue=true") == [late.pk]
    assert len(ids("?type=detect")) == 1
    assert client.get("/api/action-items/?status=bogus").status_code == 400


def test_it_creates_and_defaults_the_team_from_the_incident(user, incident, api_client_for):
    response = api_client_for(user).post(
        "/api/action-items/",
        {
            "title": "Add an alert",
            "incident": incident.pk,
            "owner": user.username,
            "type": "detect",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["team"] == incident.services.first().team.slug
    assert body["incident"] == {"id": incident.pk, "title": incident.title, "restricted": False}
    assert body["status"] == "open"


def test_create_refuses_a_past_due_date_with_a_field_message(user, team, api_client_for):
    response = api_client_for(user).post(
        "/api/action-items/",
        {"title": "x", "team": team.slug, "due_on": "2001-01-01"},
        format="json",
    )
    assert response.status_code == 400
    assert "due_on" in response.json()


def test_patch_changes_fields_but_not_the_status(user, api_client_for):
    item = ActionItemFactory(owner=user)
    client = api_client_for(user)
    response = client.patch(f"/api/action-items/{item.pk}/", {"priority": "p1"}, format="json")
    assert response.status_code == 200 and response.json()["priority"] == "p1"
    client.patch(f"/api/action-items/{item.pk}/", {"status": "done"}, format="json")
    item.refresh_from_db()
    assert item.status == "open"


def test_transitions_follow_the_rules(user, api_client_for):
    item = ActionItemFactory(owner=user)
    client = api_client_for(user)
    base = f"/api/action-items/{item.pk}"
    assert client.post(f"{base}/start/", {}, format="json").json()["status"] == "in_progress"
    bad = client.post(f"{base}/complete/", {"verification_note": ""}, format="json")
    assert bad.status_code == 400 and "verification_note" in bad.json()
    done = client.post(f"{base}/complete/", {"verification_note": "Drill ok"}, format="json")
    assert done.status_code == 200 and done.json()["closed_by"] == user.username
    again = client.post(f"{base}/start/", {}, format="json")
    assert again.status_code == 400 and "status" in again.json()
    assert client.post(f"{base}/reopen/", {}, format="json").json()["status"] == "open"
    assert client.post(f"{base}/wont-do/", {"reason": ""}, format="json").status_code == 400
    assert (
        client.post(f"{base}/wont-do/", {"reason": "No"}, format="json").json()["status"]
        == "wont_do"
    )


def test_the_api_is_in_the_openapi_schema(user, api_client_for):
    schema = api_client_for(user).get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for suffix in ("", "{id}/", "{id}/start/", "{id}/complete/", "{id}/wont-do/", "{id}/reopen/"):
        assert f"/api/action-items/{suffix}" in paths
    params = {p["name"] for p in paths["/api/action-items/"]["get"]["parameters"]}
    assert {"status", "owner", "team", "overdue", "due_before", "due_after"} <= params


def test_anonymous_requests_are_refused(client):
    assert client.get("/api/action-items/").status_code in (401, 403)


def test_deleted_items_are_not_listed(user, api_client_for):
    ActionItemFactory(owner=user, is_deleted=True)
    assert api_client_for(user).get("/api/action-items/").json()["count"] == 0
    assert ActionItem.objects.count() == 1
    assert UserFactory()


def test_an_item_posted_with_a_why_node_becomes_that_causes_corrective_action(api_client_for, user):
    from postmortems.services.whys import add_why
    from tests.factories import IncidentFactory, TeamFactory

    team = TeamFactory(members=[user])
    incident = IncidentFactory(commander=user)
    node = add_why(
        incident=incident, author=user, answer="Pool exhausted", category="infrastructure"
    )
    api = api_client_for(user)
    response = api.post(
        "/api/action-items/",
        {
            "title": "Cap the pool",
            "why_node": node.pk,
            "owner": user.username,
            "team": team.slug,
            "due_on": "2099-01-01",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    item = node.action_items.get()
    assert item.incident == incident
    assert item.title == "Cap the pool"


def test_a_why_node_of_a_restricted_incident_is_404_for_outsiders(api_client_for, user, other_user):
    from postmortems.services.whys import add_why
    from tests.factories import IncidentFactory

    secret = IncidentFactory(restricted=True, commander=user)
    node = add_why(incident=secret, author=user, answer="Cause", category="code")
    response = api_client_for(other_user).post(
        "/api/action-items/", {"title": "x", "why_node": node.pk}, format="json"
    )
    assert response.status_code == 404
    assert not node.action_items.exists()
