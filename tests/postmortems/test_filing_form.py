"""Filing on a fresh install (an empty catalog) and with services typed by name; the searchable
picker every multiple choice of people or services uses (a plain select without JavaScript)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from metrics_link.models import Service
from postmortems.models import Incident
from postmortems.services import incidents as incident_services
from postmortems.services.errors import ServiceError
from tests.factories import IncidentFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW = "/incidents/new/"


def filing(**fields):
    return {"title": "Logins failing", "severity": "sev2", "visibility": "public", **fields}


def test_a_fresh_install_offers_a_service_name_box_instead_of_an_empty_list(client_for, user):
    assert not Service.objects.exists()
    html = client_for(user).get(NEW).content.decode()
    assert 'name="new_services"' in html
    assert "The catalog is empty" in html
    assert 'name="services"' not in html


def test_a_fresh_install_files_its_first_incident_with_a_typed_service(client_for, user):
    reply = client_for(user).post(NEW, filing(new_services="Checkout API"))
    incident = Incident.objects.get()
    assert reply.status_code == 302 and reply["Location"] == incident.get_absolute_url()
    service = incident.services.get()
    assert (service.slug, service.name) == ("checkout-api", "Checkout API")
    # Created as the contract says for services first seen elsewhere: unclaimed, no team.
    assert service.claimed is False and service.team is None


def test_a_picked_service_and_a_typed_one_are_both_attached(client_for, user, service):
    client_for(user).post(NEW, filing(services=[service.slug], new_services="Search, Billing"))
    incident = Incident.objects.get()
    assert sorted(incident.services.values_list("slug", flat=True)) == sorted(
        [service.slug, "search", "billing"]
    )


def test_typing_the_name_of_a_known_service_reuses_it(client_for, user):
    known = ServiceFactory(slug="checkout", name="Checkout")
    client_for(user).post(NEW, filing(new_services="CHECKOUT"))
    assert list(Incident.objects.get().services.all()) == [known]
    assert Service.objects.count() == 1


def test_no_service_at_all_is_refused_and_saves_nothing(client_for, user, service):
    reply = client_for(user).post(NEW, filing())
    assert "Name at least one affected service" in reply.content.decode()
    assert not Incident.objects.exists()
    assert Service.objects.count() == 1


def test_a_service_name_without_letters_is_refused(client_for, user):
    reply = client_for(user).post(NEW, filing(new_services="!!!"))
    assert "needs letters or digits" in reply.content.decode()
    assert not Incident.objects.exists() and not Service.objects.exists()


def test_a_refused_filing_leaves_no_new_service_behind(user):
    with pytest.raises(ServiceError):
        incident_services.open_incident(
            title="", severity="sev2", services=["Brand new"], reporter=user
        )
    assert not Service.objects.exists()


def test_services_and_responders_use_the_searchable_picker(client_for, user, service):
    UserFactory(first_name="Ned", last_name="Okafor", username="ned")
    html = client_for(user).get(NEW).content.decode()
    assert html.count("data-picker=") == 2  # services and responders
    assert 'data-picker-create="id_new_services"' in html
    assert "js/picker.js" in html
    assert "Ned Okafor (ned)" in html
    # The "Hold Ctrl" hint is only for the plain select (the picker hides it).
    assert 'class="picker-nojs">Hold Ctrl' in html


def test_the_edit_form_uses_the_picker_too(client_for, user, service):
    incident = IncidentFactory(services=[service], commander=user)
    client = client_for(user)
    edit = client.get(reverse("postmortems:incident-edit", args=[incident.pk])).content.decode()
    assert edit.count("data-picker=") == 2
    assert "Hold Ctrl or Cmd" not in edit
