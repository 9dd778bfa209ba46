"""Writes by the wrong people (issue 11, findings 4 to 10), as users act: each refusal asserts the
database did not change, each allowed write that it did."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from rest_framework.authtoken.models import Token

from metrics_link.models import Service
from metrics_link.services import catalog
from postmortems import permissions as perms
from postmortems.models import ActionItem, FeedToken, Incident, TimelineEntry, WhyNode
from postmortems.permissions import NotAllowed
from postmortems.services import incidents as incident_services
from postmortems.services import whys as why_services
from postmortems.services.errors import ServiceError
from tests.factories import (
    ActionItemFactory,
    IncidentFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
)


def _incident_state(incident: Incident) -> tuple:
    incident = Incident.objects.get(pk=incident.pk)
    return (
        incident.title,
        incident.severity,
        incident.visibility,
        incident.status,
        incident.history.count(),
        TimelineEntry.objects.filter(incident=incident).count(),
    )


# --------------------------------------------------------------------------- 4: action items


def test_a_stranger_cannot_delete_an_action_item_they_can_see(client_for, incident):
    item = ActionItemFactory(incident=incident)
    before = item.history.count()
    reply = client_for(UserFactory()).post(f"/actions/{item.pk}/delete/")
    assert reply.status_code == 403
    assert "owner" in reply.content.decode()
    item.refresh_from_db()
    assert not item.is_deleted
    assert item.history.count() == before


@pytest.mark.parametrize("who", ["owner", "manager", "commander"])
def test_the_owner_the_teams_manager_and_the_commander_may_delete_an_item(db, client_for, who):
    incident = IncidentFactory()
    item = ActionItemFactory(incident=incident)
    person = {"owner": item.owner, "manager": item.team.manager, "commander": incident.commander}
    reply = client_for(person[who]).post(f"/actions/{item.pk}/delete/")
    assert reply.status_code == 302
    assert ActionItem.objects.get(pk=item.pk).is_deleted


def test_a_stranger_cannot_close_or_edit_an_item_over_the_api(api_client_for):
    item = ActionItemFactory()
    api = api_client_for(UserFactory())
    assert (
        api.patch(f"/api/action-items/{item.pk}/", {"title": "Mine"}, format="json").status_code
        == 403
    )
    reply = api.post(
        f"/api/action-items/{item.pk}/complete/", {"verification_note": "ok"}, format="json"
    )
    assert reply.status_code == 403
    item.refresh_from_db()
    assert (item.title, item.status) != ("Mine", "done")
    assert item.status == "open"


# --------------------------------------------------------------------------- 5: incidents


def test_an_outsider_cannot_make_a_public_incident_restricted(api_client_for, incident):
    before = _incident_state(incident)
    reply = api_client_for(UserFactory()).patch(
        f"/api/incidents/{incident.pk}/", {"visibility": "restricted"}, format="json"
    )
    assert reply.status_code == 403
    assert "commander" in reply.json()["detail"] or "people" in reply.json()["detail"]
    assert _incident_state(incident) == before


def test_an_outsider_cannot_edit_title_or_severity(api_client_for, client_for, incident):
    before = _incident_state(incident)
    outsider = UserFactory()
    reply = api_client_for(outsider).patch(
        f"/api/incidents/{incident.pk}/", {"title": "Pwned", "severity": "sev1"}, format="json"
    )
    assert reply.status_code == 403
    page = client_for(outsider).post(f"/incidents/{incident.pk}/status/", {"to": "mitigated"})
    assert page.status_code == 403
    assert _incident_state(incident) == before


def test_a_manager_of_its_services_team_edits_but_only_the_commander_changes_visibility(
    api_client_for, incident
):
    manager = UserFactory()
    service = incident.services.get()
    service.team.manager = manager
    service.team.save()
    api = api_client_for(manager)
    assert (
        api.patch(f"/api/incidents/{incident.pk}/", {"title": "Better"}, format="json").status_code
        == 200
    )
    reply = api.patch(f"/api/incidents/{incident.pk}/", {"visibility": "restricted"}, format="json")
    assert reply.status_code == 403
    assert "commander" in reply.json()["detail"]
    assert Incident.objects.get(pk=incident.pk).visibility == "public"
    commander = api_client_for(incident.commander)
    reply = commander.patch(
        f"/api/incidents/{incident.pk}/", {"visibility": "restricted"}, format="json"
    )
    assert reply.status_code == 200
    assert Incident.objects.get(pk=incident.pk).visibility == "restricted"


def test_an_employee_joins_a_public_incident_in_one_click_and_may_then_edit_it(
    client_for, incident
):
    employee = UserFactory(first_name="Ada", last_name="Lovelace")
    client = client_for(employee)
    assert "Join as responder" in client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Join as responder" in client.get(f"/incidents/{incident.pk}/whys/").content.decode()
    reply = client.post(f"/incidents/{incident.pk}/join/", {"back": "whys"})
    assert reply.status_code == 302
    assert reply.url.endswith(f"/incidents/{incident.pk}/whys/")
    assert incident.responders.filter(pk=employee.pk).exists()
    assert (
        TimelineEntry.objects.filter(
            incident=incident, body__contains="Ada Lovelace joined"
        ).count()
        == 1
    )
    client.post(f"/incidents/{incident.pk}/join/")  # twice changes nothing
    assert TimelineEntry.objects.filter(incident=incident, body__contains="joined").count() == 1
    assert perms.can_edit_incident(employee, incident)
    assert "Join as responder" not in client.get(f"/incidents/{incident.pk}/").content.decode()


def test_nobody_joins_a_restricted_incident_they_cannot_see(db, client_for):
    hidden = IncidentFactory(restricted=True)
    outsider = UserFactory()
    assert client_for(outsider).post(f"/incidents/{hidden.pk}/join/").status_code == 404
    assert not hidden.responders.filter(pk=outsider.pk).exists()


def test_any_reader_adds_a_timeline_note(client_for, incident):
    reply = client_for(UserFactory()).post(
        f"/incidents/{incident.pk}/notes/", {"body": "I see 502s too"}
    )
    assert reply.status_code == 302
    assert TimelineEntry.objects.filter(incident=incident, body="I see 502s too").exists()


# --------------------------------------------------------------------------- 6: services


def test_an_outsider_cannot_move_a_service_or_replace_its_repositories(api_client_for):
    service = ServiceFactory(repositories=["acme/shop"])
    elsewhere = TeamFactory()
    history = service.history.count()
    api = api_client_for(UserFactory())
    for body in ({"team": elsewhere.slug}, {"repositories": ["evil/shop"]}):
        reply = api.patch(f"/api/services/{service.slug}/", body, format="json")
        assert reply.status_code == 403
        assert reply.json()["detail"].startswith("Only")
    service.refresh_from_db()
    assert (service.team_id, service.repositories, service.history.count()) == (
        service.team_id,
        ["acme/shop"],
        history,
    )
    assert Service.objects.get(pk=service.pk).team != elsewhere


def test_a_member_edits_the_service_but_moves_it_only_to_a_team_they_belong_to(api_client_for):
    member = UserFactory()
    service = ServiceFactory(team=TeamFactory(members=[member]))
    api = api_client_for(member)
    assert (
        api.patch(
            f"/api/services/{service.slug}/", {"repositories": ["acme/new"]}, format="json"
        ).status_code
        == 200
    )
    foreign = TeamFactory()
    assert (
        api.patch(
            f"/api/services/{service.slug}/", {"team": foreign.slug}, format="json"
        ).status_code
        == 403
    )
    mine = TeamFactory(members=[member])
    assert (
        api.patch(f"/api/services/{service.slug}/", {"team": mine.slug}, format="json").status_code
        == 200
    )
    service.refresh_from_db()
    assert (service.team, service.repositories) == (mine, ["acme/new"])


def test_claiming_an_unclaimed_service_needs_membership_of_the_claiming_team(db):
    orphan = catalog.get_or_create_service(slug="orphan-cron")
    team = TeamFactory()
    with pytest.raises(NotAllowed):
        catalog.claim_service(service=orphan, team=team, by=UserFactory())
    with pytest.raises(NotAllowed):
        catalog.update_service(service=orphan, by=UserFactory(), repositories=["evil/x"])
    assert Service.objects.get(pk=orphan.pk).team is None
    member = UserFactory()
    team.members.add(member)
    catalog.claim_service(service=orphan, team=team, by=member)
    assert Service.objects.get(pk=orphan.pk).team == team


# --------------------------------------------------------------------------- 7: why tree pages


@pytest.fixture
def node(incident, user):
    return why_services.add_why(incident=incident, author=user, answer="The pool ran dry")


def _node_state(node):
    node = WhyNode.objects.get(pk=node.pk)
    return (node.answer, node.version, node.is_deleted, node.history.count())


@pytest.mark.parametrize("version", [None, "0", "7"])
def test_a_why_form_without_the_right_version_overwrites_nothing(
    client_for, user, incident, node, version
):
    before = _node_state(node)
    data = {"answer": "My overwrite", "step": "save"}
    if version is not None:
        data["version"] = version
    reply = client_for(user).post(f"/incidents/{incident.pk}/whys/{node.pk}/", data)
    assert reply.status_code in (409, 428)
    assert _node_state(node) == before
    body = reply.content.decode()
    assert "The pool ran dry" in body  # the current text
    assert "My overwrite</textarea>" in body  # the person's own, kept


def test_an_empty_delete_of_a_cause_deletes_nothing(client_for, user, incident, node):
    child = why_services.add_why(incident=incident, author=user, answer="Below", parent=node)
    before = (_node_state(node), _node_state(child))
    reply = client_for(user).post(f"/incidents/{incident.pk}/whys/{node.pk}/delete/")
    assert reply.status_code == 428
    assert (_node_state(node), _node_state(child)) == before
    reply = client_for(user).post(
        f"/incidents/{incident.pk}/whys/{node.pk}/delete/", {"version": 1}
    )
    assert reply.status_code == 302
    assert WhyNode.objects.get(pk=child.pk).is_deleted


def test_a_stranger_cannot_edit_a_why_node_even_with_the_right_version(client_for, incident, node):
    before = _node_state(node)
    reply = client_for(UserFactory()).post(
        f"/incidents/{incident.pk}/whys/{node.pk}/", {"answer": "x", "version": 1}
    )
    assert reply.status_code == 403
    assert _node_state(node) == before


# --------------------------------------------------------------------------- 8: all or nothing


def test_an_incident_patch_with_an_illegal_close_saves_nothing(api_client_for, incident, user):
    before = _incident_state(incident)
    reply = api_client_for(user).patch(
        f"/api/incidents/{incident.pk}/",
        {"title": "X", "severity": "sev1", "status": "closed"},
        format="json",
    )
    assert reply.status_code == 400
    assert _incident_state(incident) == before


def test_an_incident_patch_with_an_unknown_duplicate_saves_nothing(api_client_for, incident, user):
    before = _incident_state(incident)
    reply = api_client_for(user).patch(
        f"/api/incidents/{incident.pk}/",
        {"title": "X", "status": "closed", "close_reason": "duplicate", "duplicate_of": 999999},
        format="json",
    )
    assert reply.status_code == 404
    assert _incident_state(incident) == before


def test_an_incident_patch_with_an_illegal_transition_saves_nothing(api_client_for, user, service):
    closed = IncidentFactory(commander=user, services=[service], resolved=True, status="closed")
    before = _incident_state(closed)
    reply = api_client_for(user).patch(
        f"/api/incidents/{closed.pk}/", {"title": "X", "status": "mitigated"}, format="json"
    )
    assert reply.status_code == 400
    assert _incident_state(closed) == before


# --------------------------------------------------------------------------- 9: services validate


def test_update_incident_refuses_bad_choices_whoever_calls_it(incident, user):
    before = _incident_state(incident)
    with pytest.raises(ServiceError) as exc:
        incident_services.update_incident(
            incident=incident, by=user, severity="sev9", visibility="nobody"
        )
    assert set(exc.value.message_dict) == {"severity", "visibility"}
    with pytest.raises(ServiceError):
        incident_services.update_incident(incident=incident, by=user, title="x" * 201)
    with pytest.raises(ServiceError):
        incident_services.change_status(incident=incident, to="exploded", by=user)
    assert _incident_state(incident) == before


def test_open_incident_refuses_bad_visibility_and_long_titles(service, user):
    for bad in ({"visibility": "nobody"}, {"title": "t" * 201}, {"impact": 42}):
        kwargs = {
            "title": "Checkout down",
            "severity": "sev2",
            "services": [service],
            "reporter": user,
        }
        with pytest.raises(ServiceError):
            incident_services.open_incident(**{**kwargs, **bad})
    assert not Incident.objects.filter(title="Checkout down").exists()


def test_catalog_services_refuse_bad_repositories_and_slugs(db):
    with pytest.raises(ValidationError) as exc:
        catalog.create_service(slug="Not A Slug", name="x", repositories=["nope"])
    assert set(exc.value.message_dict) == {"slug", "repositories"}
    assert not Service.objects.filter(name="x").exists()


# --------------------------------------------------------------------------- 10: the admin


def test_the_admin_never_shows_feed_or_api_tokens_even_to_superusers(db, client_for):
    admin = UserFactory(is_staff=True, is_superuser=True)
    bob = UserFactory()
    feed = FeedToken.objects.create(user=bob)
    api = Token.objects.create(user=admin)
    client = client_for(admin)
    pages = [
        "/admin/postmortems/feedtoken/",
        f"/admin/postmortems/feedtoken/{feed.pk}/change/",
        "/admin/authtoken/tokenproxy/",
        f"/admin/authtoken/tokenproxy/{admin.pk}/change/",
    ]
    for page in pages:
        reply = client.get(page)
        assert reply.status_code == 200, page
        body = reply.content.decode()
        assert feed.token not in body, page
        assert api.key not in body, page


def test_the_action_item_admin_page_opens_for_superusers(db, client_for):
    admin = UserFactory(is_staff=True, is_superuser=True)
    item = ActionItemFactory()
    reply = client_for(admin).get(f"/admin/postmortems/actionitem/{item.pk}/change/")
    assert reply.status_code == 200
    assert item.title in reply.content.decode()


def test_every_predicate_lets_the_product_itself_write(db):
    """Alerts, tasks and commands act with by=None and are never refused."""
    incident = IncidentFactory()
    item = ActionItemFactory(incident=incident)
    assert perms.can_edit_incident(None, incident)
    assert perms.can_change_visibility(None, incident)
    assert perms.can_edit_action_item(None, item)
    assert get_user_model().objects.filter(is_superuser=True).count() == 0


def test_staff_outside_the_owning_team_cannot_change_a_service_in_the_admin(db, client_for):
    from django.contrib.auth.models import Permission

    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(codename__in=["view_service", "change_service"])
    )
    service = ServiceFactory(repositories=["acme/shop"])
    history = service.history.count()
    client = client_for(staff)
    url = f"/admin/metrics_link/service/{service.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # read-only for them
    data = {"slug": service.slug, "name": "Mine", "repositories": '["evil/shop"]', "claimed": "on"}
    assert client.post(url, data).status_code == 403
    service.refresh_from_db()
    assert service.name != "Mine"
    assert service.repositories == ["acme/shop"]
    assert service.history.count() == history
    service.team.members.add(staff)
    assert 'name="_save"' in client.get(url).content.decode()
