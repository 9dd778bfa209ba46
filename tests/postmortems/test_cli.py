from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from postmortems.models import Incident

pytestmark = pytest.mark.django_db


def test_open_incident_prints_the_new_incidents_url(settings, service):
    settings.SITE_URL = "https://pm.example.com"
    out = StringIO()
    call_command(
        "open_incident",
        "--title",
        "Queue stuck",
        "--severity",
        "sev2",
        "--service",
        service.slug,
        stdout=out,
    )
    incident = Incident.objects.get(title="Queue stuck")
    assert out.getvalue().strip() == f"https://pm.example.com/incidents/{incident.pk}/"
    assert incident.origin == "cli" and list(incident.services.all()) == [service]


def test_open_incident_explains_bad_input(service):
    with pytest.raises(CommandError, match="time zone"):
        call_command(
            "open_incident",
            "--title",
            "x",
            "--severity",
            "sev2",
            "--service",
            "web",
            "--started-at",
            "yesterday",
        )
    with pytest.raises(CommandError, match="No user named"):
        call_command(
            "open_incident",
            "--title",
            "x",
            "--severity",
            "sev2",
            "--service",
            "web",
            "--reporter",
            "nobody",
        )
    assert not Incident.objects.exists()


def test_seed_demo_is_idempotent_and_creates_the_demo_login(settings):
    settings.DEBUG = True
    call_command("seed_demo", only=["catalog", "incidents"], stdout=StringIO())
    first = Incident.objects.count()
    call_command("seed_demo", only=["catalog", "incidents"], stdout=StringIO())
    assert Incident.objects.count() == first > 50
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    # Sign-in throttling (django-axes) needs the request, as every real sign-in has one.
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, username="demo", password="demo") is not None


def test_seed_demo_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo", stdout=StringIO())


def test_benchmark_prints_figures_and_leaves_nothing_behind(incident, user):
    from metrics_link.models import WebhookDelivery
    from tests.factories import ServiceFactory

    ServiceFactory(slug="accounts")
    before = Incident.objects.count()
    out = StringIO()
    call_command("benchmark", "--requests", "2", "--user", user.username, stdout=out)
    lines = [line for line in out.getvalue().splitlines() if " p50 " in line]
    assert len(lines) == 7
    assert all(" ms" in line for line in lines)
    assert Incident.objects.count() == before
    assert not WebhookDelivery.objects.exists()


def test_benchmark_needs_data():
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("benchmark", stdout=StringIO())
