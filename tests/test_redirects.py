"""Every `next` stays on this site: outside targets fall back to the page's safe default."""

from __future__ import annotations

import pytest

from tests.factories import ActionItemFactory, ServiceFactory

pytestmark = pytest.mark.django_db

OUTSIDE = ["//evil.example/", "https://evil.example/", "/\\evil.example/", "javascript:alert(1)"]


@pytest.mark.parametrize("target", OUTSIDE)
def test_claiming_a_service_never_redirects_off_site(client_for, user, team, target):
    unclaimed = ServiceFactory(team=None, claimed=False)
    response = client_for(user).post(
        f"/services/{unclaimed.slug}/claim/", {"team": team.slug, "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == unclaimed.get_absolute_url()
    unclaimed.refresh_from_db()
    assert unclaimed.team == team  # the claim itself still happened


def test_claiming_a_service_follows_a_next_on_this_site(client_for, user, team):
    unclaimed = ServiceFactory(team=None, claimed=False)
    response = client_for(user).post(
        f"/services/{unclaimed.slug}/claim/", {"team": team.slug, "next": "/services/?unclaimed=1"}
    )
    assert response["Location"] == "/services/?unclaimed=1"


@pytest.mark.parametrize("target", OUTSIDE)
def test_bulk_reassign_never_redirects_off_site(client_for, user, other_user, team, target):
    item = ActionItemFactory(
        owner=user, team=team
    )  # user manages the team: bulk reassign is theirs
    response = client_for(user).post(
        "/actions/reassign/", {"items": [item.pk], "owner": other_user.pk, "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == "/actions/"


def test_bulk_reassign_follows_a_next_on_this_site(client_for, user, other_user, team):
    item = ActionItemFactory(owner=user, team=team)
    response = client_for(user).post(
        "/actions/reassign/",
        {"items": [item.pk], "owner": other_user.pk, "next": "/actions/?mine=1"},
    )
    assert response["Location"] == "/actions/?mine=1"
