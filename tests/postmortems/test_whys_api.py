"""The why tree over the API: nested tree, ETag / If-Match (428, 412, 200), soft delete, visibility."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from postmortems.models import Incident, WhyNode
from postmortems.services import whys as svc
from tests.factories import IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client_for, user):
    return api_client_for(user)


def test_it_returns_the_nested_tree_with_versions_and_gaps(api, incident, user):
    root = svc.add_why(incident=incident, author=user, answer="too many connections")
    child = svc.add_why(incident=incident, author=user, parent=root, answer="slow queries")
    svc.add_corrective_action(
        node=child,
        by=user,
        title="cache",
        owner=user,
        due_on=timezone.localdate() + timedelta(days=3),
        estimated_hours=5,
    )
    reply = api.get(f"/api/incidents/{incident.pk}/whys/")
    assert reply.status_code == 200
    body = reply.json()
    assert body["complete"] is False
    assert body["gaps"]
    [top] = body["nodes"]
    assert (top["id"], top["level"], top["version"], top["etag"]) == (
        root.pk,
        1,
        1,
        f'"{root.pk}-1"',
    )
    [below] = top["children"]
    assert below["answer"] == "slow queries"
    assert below["actions"][0]["owner"] == user.username
    assert below["covered"] is True
    assert top["covered"] is False


def test_posting_a_node_creates_it_below_its_parent(api, incident, user):
    root = svc.add_why(incident=incident, author=user, answer="Too many connections")
    reply = api.post(
        f"/api/incidents/{incident.pk}/whys/",
        {"parent": root.pk, "answer": "slow queries", "category": "code"},
        format="json",
    )
    assert reply.status_code == 201
    body = reply.json()
    assert (body["level"], body["question"], body["parent"]) == (
        2,
        "Why did “Too many connections” happen?",
        root.pk,
    )
    assert reply["ETag"] == f'"{body["id"]}-1"'


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"answer": ""}, "answer"),
        ({"answer": "x", "category": "people"}, "category"),
        ({"answer": "x", "parent": 999999}, "parent"),
        ({"answer": "x", "evidence_links": ["ftp://nope"]}, "evidence_links"),
    ],
)
def test_a_bad_node_is_a_400_with_a_message(api, incident, payload, field):
    reply = api.post(f"/api/incidents/{incident.pk}/whys/", payload, format="json")
    assert reply.status_code == 400
    assert field in reply.json()


def test_get_sends_an_etag(api, incident, user):
    node = svc.add_why(incident=incident, author=user, answer="a")
    reply = api.get(f"/api/whys/{node.pk}/")
    assert reply.status_code == 200
    assert reply["ETag"] == f'"{node.pk}-1"'


def test_patch_without_if_match_is_428(api, incident, user):
    node = svc.add_why(incident=incident, author=user, answer="a")
    reply = api.patch(f"/api/whys/{node.pk}/", {"answer": "b"}, format="json")
    assert reply.status_code == 428
    node.refresh_from_db()
    assert node.answer == "a"


def test_patch_with_the_current_etag_is_applied_and_returns_the_next(api, incident, user):
    node = svc.add_why(incident=incident, author=user, answer="a")
    reply = api.patch(
        f"/api/whys/{node.pk}/", {"answer": "b"}, format="json", HTTP_IF_MATCH=f'"{node.pk}-1"'
    )
    assert reply.status_code == 200
    assert reply["ETag"] == f'"{node.pk}-2"'
    assert reply.json()["answer"] == "b"


def test_patch_with_a_stale_etag_is_412_and_names_who_changed_it(api, incident, user):
    ned = UserFactory(username="ned", first_name="Ned", last_name="Stark")
    incident.responders.add(ned)  # one of its people
    node = svc.add_why(incident=incident, author=user, answer="a")
    svc.update_why(node=node, expected_version=1, by=ned, answer="ned's")
    reply = api.patch(
        f"/api/whys/{node.pk}/", {"answer": "mine"}, format="json", HTTP_IF_MATCH=f'"{node.pk}-1"'
    )
    assert reply.status_code == 412
    body = reply.json()
    assert "changed by Ned Stark" in body["detail"]
    assert (body["current_version"], body["changed_by"]) == (2, "Ned Stark")
    assert reply["ETag"] == f'"{node.pk}-2"'
    node.refresh_from_db()
    assert node.answer == "ned's"


@pytest.mark.parametrize("tag", ['"{other}-1"', "garbage", '"{pk}-9"', '"{pk}"'])
def test_an_etag_of_another_node_version_or_unreadable_is_412(api, incident, user, tag):
    other = svc.add_why(incident=IncidentFactory(commander=user), author=user, answer="elsewhere")
    node = svc.add_why(incident=incident, author=user, answer="a")
    reply = api.patch(
        f"/api/whys/{node.pk}/",
        {"answer": "b"},
        format="json",
        HTTP_IF_MATCH=tag.format(pk=node.pk, other=other.pk),
    )
    assert reply.status_code == 412
    node.refresh_from_db()
    assert node.answer == "a"


def test_a_weak_etag_prefix_is_accepted(api, incident, user):
    node = svc.add_why(incident=incident, author=user, answer="a")
    reply = api.patch(
        f"/api/whys/{node.pk}/", {"answer": "b"}, format="json", HTTP_IF_MATCH=f'W/"{node.pk}-1"'
    )
    assert reply.status_code == 200


def test_patch_sets_accepted_risk_and_stop_reason(api, incident, user):
    node = svc.add_why(incident=incident, author=user, answer="a")
    reply = api.patch(
        f"/api/whys/{node.pk}/",
        {"accepted_risk_reason": "rare", "stop_reason": "vendor"},
        format="json",
        HTTP_IF_MATCH=f'"{node.pk}-1"',
    )
    assert reply.status_code == 200
    assert reply.json()["covered"] is True


def test_delete_needs_if_match_and_is_soft(api, incident, user):
    node = svc.add_why(incident=incident, author=user, answer="a")
    assert api.delete(f"/api/whys/{node.pk}/").status_code == 428
    assert api.delete(f"/api/whys/{node.pk}/", HTTP_IF_MATCH=f'"{node.pk}-7"').status_code == 412
    assert api.delete(f"/api/whys/{node.pk}/", HTTP_IF_MATCH=f'"{node.pk}-1"').status_code == 204
    assert WhyNode.objects.filter(pk=node.pk, is_deleted=True).exists()
    assert api.get(f"/api/whys/{node.pk}/").status_code == 404


def test_a_restricted_incidents_tree_is_404_to_others(api_client_for, incident, user):
    Incident.objects.filter(pk=incident.pk).update(visibility="restricted")
    node = svc.add_why(incident=incident, author=user, answer="secret cause")
    stranger = api_client_for(UserFactory())
    assert stranger.get(f"/api/incidents/{incident.pk}/whys/").status_code == 404
    assert (
        stranger.post(
            f"/api/incidents/{incident.pk}/whys/", {"answer": "x"}, format="json"
        ).status_code
        == 404
    )
    assert stranger.get(f"/api/whys/{node.pk}/").status_code == 404
    reply = stranger.patch(
        f"/api/whys/{node.pk}/", {"answer": "x"}, format="json", HTTP_IF_MATCH=f'"{node.pk}-1"'
    )
    assert reply.status_code == 404
    assert "secret" not in reply.content.decode()
    assert stranger.delete(f"/api/whys/{node.pk}/", HTTP_IF_MATCH="*").status_code == 404
    assert api_client_for(user).get(f"/api/whys/{node.pk}/").status_code == 200


def test_the_tree_is_read_in_a_constant_number_of_queries(
    api, incident, user, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = IncidentFactory(services=list(incident.services.all()))
    big = IncidentFactory(services=list(incident.services.all()))
    for target, count in ((small, 2), (big, 25)):
        parent = None
        for i in range(count):
            parent = svc.add_why(
                incident=target, author=user, parent=parent if i % 5 else None, answer=f"c{i}"
            )
    with CaptureQueriesContext(connection) as few:
        api.get(f"/api/incidents/{small.pk}/whys/")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert api.get(f"/api/incidents/{big.pk}/whys/").status_code == 200
