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
