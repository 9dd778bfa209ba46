import pytest
from django.contrib import admin

from tests.factories import IncidentFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_no_admin_can_hard_delete_anything(client):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(superuser)
    team = TeamFactory()
    incident = IncidentFactory()
    assert client.get(f"/admin/metrics_link/team/{team.pk}/delete/").status_code == 403
    assert (
        client.post(
            f"/admin/postmortems/incident/{incident.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert client.get(f"/admin/auth/user/{superuser.pk}/delete/").status_code == 403
    assert "delete_selected" not in admin.site._actions or not admin.site.is_action_enabled(
        "delete_selected"
    )
    incident.refresh_from_db()
    team.refresh_from_db()


def test_admin_pages_render_for_every_registered_model(client):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(superuser)
    for model in admin.site._registry:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
        assert client.get(url + "add/").status_code in (200, 403), url


def test_domain_records_are_read_only_in_the_admin(client):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(superuser)
    incident = IncidentFactory(title="Before")
    response = client.post(f"/admin/postmortems/incident/{incident.pk}/change/", {"title": "After"})
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.title == "Before"
    assert client.get("/admin/postmortems/incident/add/").status_code == 403


def test_an_item_owner_sees_no_restricted_incident_title_in_the_admin(client):
    from django.contrib.auth.models import Permission

    from tests.factories import ActionItemFactory

    owner = UserFactory(is_staff=True)
    owner.user_permissions.add(Permission.objects.get(codename="view_actionitem"))
    secret = IncidentFactory(restricted=True, title="Tenant leak QQZ")
    item = ActionItemFactory(owner=owner, incident=secret, title="Rotate export links")
    client.force_login(owner)
    page = client.get(f"/admin/postmortems/actionitem/{item.pk}/change/").content.decode()
    assert "Rotate export links" in page
    assert "QQZ" not in page
    assert f"#{secret.pk} (restricted)" in page
