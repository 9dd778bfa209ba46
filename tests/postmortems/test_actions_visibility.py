"""Who sees an action item, and how much of its incident (pages, API, CSV, iCal)."""

from __future__ import annotations

import pytest

from postmortems.selectors.actions import get_action_item_for, visible_action_items
from postmortems.services.accounts import get_feed_token
from tests.factories import ActionItemFactory, IncidentFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "Tenant export leaked to another tenant"


@pytest.fixture
def restricted_item():
    commander = UserFactory(username="commander")
    incident = IncidentFactory(restricted=True, title=SECRET, commander=commander)
    manager = UserFactory(username="manager")
    team = TeamFactory(manager=manager)
    owner = UserFactory(username="owner")
    return ActionItemFactory(incident=incident, team=team, owner=owner, title="Rotate keys")


def test_everyone_signed_in_sees_items_of_public_incidents_and_without_incident(incident):
    public = ActionItemFactory(incident=incident)
    loose = ActionItemFactory(incident=None)
    stranger = UserFactory()
    assert set(visible_action_items(stranger)) == {public, loose}


def test_a_restricted_incidents_item_is_seen_by_its_people_owner_and_manager_only(restricted_item):
    incident = restricted_item.incident
    for user in (incident.commander, restricted_item.owner, restricted_item.team.manager):
        assert get_action_item_for(user, restricted_item.pk) == restricted_item
    superuser = UserFactory(is_superuser=True)
    assert get_action_item_for(superuser, restricted_item.pk).incident_visible
    from django.http import Http404

    with pytest.raises(Http404):
        get_action_item_for(UserFactory(), restricted_item.pk)


def test_owner_and_manager_see_the_item_without_the_incidents_details(restricted_item, client_for):
    for user in (restricted_item.owner, restricted_item.team.manager):
        item = get_action_item_for(user, restricted_item.pk)
        assert item.incident_visible is False
        client = client_for(user)
        page = client.get(f"/actions/{restricted_item.pk}/").content.decode()
        assert "Rotate keys" in page and "Restricted incident" in page
        assert SECRET not in page
        listing = client.get("/actions/?scope=all").content.decode()
        assert "Rotate keys" in listing and SECRET not in listing
        csv_text = client.get("/actions/?scope=all&format=csv").getvalue().decode()
        assert "Rotate keys" in csv_text and SECRET not in csv_text
        assert "restricted incident" in csv_text
        api = client.get(f"/api/action-items/{restricted_item.pk}/").json()
        assert api["incident"] == {"id": None, "title": None, "restricted": True}


def test_the_incidents_commander_sees_the_incident_details(restricted_item, client_for):
    page = client_for(restricted_item.incident.commander).get(f"/actions/{restricted_item.pk}/")
    assert SECRET in page.content.decode()


def test_an_outsider_gets_404_on_page_api_and_nothing_in_lists_csv_or_feed(
    restricted_item, client_for
):
    outsider = UserFactory()
    client = client_for(outsider)
    assert client.get(f"/actions/{restricted_item.pk}/").status_code == 404
    assert client.get(f"/actions/{restricted_item.pk}/history/").status_code == 404
    assert client.post(f"/actions/{restricted_item.pk}/start/").status_code == 404
    assert client.get(f"/api/action-items/{restricted_item.pk}/").status_code == 404
    assert (
        client.post(
            f"/api/action-items/{restricted_item.pk}/start/", {}, content_type="application/json"
        ).status_code
        == 404
    )
    listing = client.get("/api/action-items/").json()
    assert listing["count"] == 0
    csv_text = client.get("/actions/?scope=all&status=any&format=csv").getvalue().decode()
    assert "Rotate keys" not in csv_text and SECRET not in csv_text
    # Even if the outsider is made the owner later, the incident stays hidden in the feed.
    restricted_item.owner = outsider
    restricted_item.save()
    token = get_feed_token(user=outsider).token
    ics = client.get(f"/feeds/{token}/actions.ics").content.decode()
    assert "Rotate keys" in ics and SECRET not in ics


def test_soft_deleted_items_are_invisible_to_everyone():
    item = ActionItemFactory(is_deleted=True)
    assert not visible_action_items(UserFactory(is_superuser=True)).filter(pk=item.pk).exists()
