from __future__ import annotations

import pytest

from metrics_link.models import Service
from metrics_link.services.catalog import (
    get_or_create_service,
    resolve_service_for_repository,
    service_slug,
)
from tests.factories import ServiceFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Codertocat/Hello-World", "hello-world"), ("Checkout API", "checkout-api"), ("", "unknown")],
)
def test_service_slug(name, slug):
    assert service_slug(name) == slug


def test_a_deploy_repository_resolves_to_the_service_listing_it_case_insensitively():
    service = ServiceFactory(slug="web", repositories=["Acme/Web-App"])
    assert resolve_service_for_repository("acme/web-app") == service


def test_an_unknown_repository_creates_an_unclaimed_service_once():
    first = resolve_service_for_repository("Codertocat/Hello-World")
    again = resolve_service_for_repository("Codertocat/Hello-World")
    assert (
        first == again
        and first.slug == "hello-world"
        and first.claimed is False
        and first.team is None
    )
    assert Service.objects.filter(slug="hello-world").count() == 1


def test_get_or_create_service_keeps_existing_services():
    existing = ServiceFactory(slug="queue")
    assert get_or_create_service(slug="queue") == existing


def test_catalog_page_marks_unclaimed_services_and_lets_a_member_claim(client_for, user):
    team = TeamFactory(slug="core", members=[user])
    orphan = get_or_create_service(slug="legacy-cron")
    client = client_for(user)
    page = client.get("/services/").content.decode()
    assert "legacy-cron" in page and "unclaimed" in page
    client.post(f"/services/{orphan.slug}/claim/", {"team": team.slug})
    orphan.refresh_from_db()
    assert orphan.team == team and orphan.claimed


def test_only_members_can_claim_for_a_team(client_for, user):
    team = TeamFactory(slug="other")
    orphan = get_or_create_service(slug="orphan")
    reply = client_for(user).post(f"/services/{orphan.slug}/claim/", {"team": team.slug})
    assert reply.status_code == 403
    assert "Only a member of" in reply.content.decode()
    orphan.refresh_from_db()
    assert orphan.team is None
