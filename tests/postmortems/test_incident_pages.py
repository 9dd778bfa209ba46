"""Incident pages end to end: filing, list filters, detail, notes (htmx and plain), status, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from postmortems.models import Incident
from tests.factories import IncidentFactory, ServiceFactory, TeamFactory, TimelineEntryFactory

pytestmark = pytest.mark.django_db


def test_filing_with_three_fields_lands_on_the_incident_page(client_for, user, service):
    client = client_for(user)
    response = client.post(
        "/incidents/new/",
        {
            "title": "Logins failing",
            "severity": "sev1",
            "services": [service.slug],
            "visibility": "public",
        },
    )
    incident = Incident.objects.get(title="Logins failing")
    assert response.status_code == 302 and response["Location"] == incident.get_absolute_url()
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Logins failing" in page and "Incident filed by" in page


def test_the_filing_form_shows_severity_meanings_and_field_errors(client_for, user, service):
    client = client_for(user)
    page = client.get("/incidents/new/").content.decode()
    assert "Critical: the product is down" in page
    response = client.post(
        "/incidents/new/", {"title": "", "severity": "sev2", "visibility": "public"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "This field is required." in body
    assert Incident.objects.count() == 0


def test_the_filing_form_refuses_a_future_start(client_for, user, service):
    client = client_for(user)
    future = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/incidents/new/",
        {
            "title": "x",
            "severity": "sev2",
            "services": [service.slug],
            "visibility": "public",
            "started_at": future,
        },
    )
    assert "cannot be in the future" in response.content.decode()
    assert not Incident.objects.exists()


def test_list_filters_by_status_severity_service_team_and_text(client_for, user):
    team = TeamFactory(slug="payments")
    pay = ServiceFactory(slug="checkout", team=team)
    other = ServiceFactory(slug="search")
    a = IncidentFactory(title="Checkout slow", severity="sev2", services=[pay])
    b = IncidentFactory(title="Search empty", severity="sev3", services=[other], resolved=True)
    client = client_for(user)

    def titles(query):
        return {i.title for i in client.get(f"/incidents/?{query}").context["incidents"]}

    assert titles("severity=sev2") == {a.title}
    assert titles("status=resolved") == {b.title}
    assert titles("status=open") == {a.title}
    assert titles("service=search") == {b.title}
    assert titles("team=payments") == {a.title}
    assert titles("q=checkout+slow") == {a.title}
    assert titles("") == {a.title, b.title}


def test_list_sorts_by_start_time(client_for, user):
    old = IncidentFactory(started_at=timezone.now() - timedelta(days=3))
    new = IncidentFactory(started_at=timezone.now() - timedelta(hours=1))
    client = client_for(user)
    assert list(client.get("/incidents/").context["incidents"]) == [new, old]
    assert list(client.get("/incidents/?sort=started").context["incidents"]) == [old, new]


def test_adding_a_note_without_javascript_redirects_to_the_timeline(client_for, user, incident):
    client = client_for(user)
    response = client.post(
        reverse("postmortems:incident-add-note", args=[incident.pk]), {"body": "Rolled back v2"}
    )
    assert response.status_code == 302 and response["Location"].endswith("#timeline")
    assert incident.timeline.filter(body="Rolled back v2", author=user).exists()


def test_adding_a_note_with_htmx_returns_the_timeline_fragment(client_for, user, incident):
    client = client_for(user)
    response = client.post(
        reverse("postmortems:incident-add-note", args=[incident.pk]),
        {"body": "Cache warmed"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="timeline"' in body and "Cache warmed" in body and "<html" not in body


def test_an_empty_note_answers_422_with_htmx_and_stores_nothing(client_for, user, incident):
    client = client_for(user)
    before = incident.timeline.count()
    response = client.post(
        reverse("postmortems:incident-add-note", args=[incident.pk]),
        {"body": " "},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert incident.timeline.count() == before


def test_starring_an_entry(client_for, user, incident):
    entry = TimelineEntryFactory(incident=incident)
    client = client_for(user)
    client.post(
        reverse("postmortems:timeline-star", args=[incident.pk, entry.pk]), {"starred": "1"}
    )
    entry.refresh_from_db()
    assert entry.starred


def test_status_buttons_move_the_incident_and_illegal_moves_say_why(client_for, user, incident):
    client = client_for(user)
    url = reverse("postmortems:incident-status", args=[incident.pk])
    client.post(url, {"to": "mitigated"})
    incident.refresh_from_db()
    assert incident.status == "mitigated"
    response = client.post(url, {"to": "closed"}, follow=True)
    assert "Say why the incident is closed" in response.content.decode()


def test_edit_page_saves_and_shows_time_order_errors(client_for, user, incident):
    client = client_for(user)
    url = reverse("postmortems:incident-edit", args=[incident.pk])
    fmt = "%Y-%m-%dT%H:%M"
    start = timezone.localtime(incident.started_at)
    data = {
        "title": "Renamed",
        "severity": "sev3",
        "services": [s.slug for s in incident.services.all()],
        "visibility": "public",
        "started_at": start.strftime(fmt),
        "detected_at": (start - timedelta(minutes=10)).strftime(fmt),
    }
    response = client.post(url, data)
    assert response.status_code == 200 and "cannot be before" in response.content.decode()
    data["detected_at"] = (start + timedelta(minutes=10)).strftime(fmt)
    assert client.post(url, data).status_code == 302
    incident.refresh_from_db()
    assert incident.title == "Renamed" and incident.severity == "sev3"


def test_history_page_lists_changes(client_for, user, incident):
    client = client_for(user)
    client.post(reverse("postmortems:incident-status", args=[incident.pk]), {"to": "mitigated"})
    page = client.get(reverse("postmortems:incident-history", args=[incident.pk])).content.decode()
    assert "status" in page and "mitigated" in page


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["database"] == "ok"


def test_healthz_says_in_process_for_the_broker_of_the_embedded_run(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    body = client.get("/healthz").json()
    assert body == {"status": "ok", "database": "ok", "broker": "in-process"}


def test_healthz_reports_a_broker_outage_as_degraded_but_serving(client, settings, monkeypatch):
    from postmortems.config import celery_app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    # Nothing listens on port 9: the one connection attempt is refused at once.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")  # Celery reads it first
    assert celery_app.conf.broker_url == "redis://127.0.0.1:9/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "broker": "down"}


def test_healthz_answers_503_when_the_database_fails_and_never_echoes_the_error(
    client, monkeypatch
):
    from django.db import connection

    def broken(*args, **kwargs):
        raise RuntimeError("could not connect to server db.internal as user app_secret")

    monkeypatch.setattr(connection, "cursor", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"
    assert "db.internal" not in response.content.decode()
    assert "app_secret" not in response.content.decode()


@pytest.mark.parametrize("rows", [1, 50])
def test_list_page_query_count_does_not_grow_with_incidents(
    client_for, user, rows, django_assert_num_queries
):
    service = ServiceFactory()
    for _ in range(rows):
        IncidentFactory(services=[service], commander=user)
    client = client_for(user)
    # session+user, count, page of incidents, services prefetch, filter form choices (service, team)
    with django_assert_num_queries(7):
        assert client.get("/incidents/").status_code == 200


@pytest.mark.parametrize("entries", [1, 50])
def test_detail_page_query_count_does_not_grow_with_timeline_entries(
    client_for, user, incident, entries, django_assert_max_num_queries
):
    for _ in range(entries):
        TimelineEntryFactory(incident=incident)
    client = client_for(user)
    with django_assert_max_num_queries(30) as ctx:
        assert client.get(incident.get_absolute_url()).status_code == 200
    test_detail_page_query_count_does_not_grow_with_timeline_entries.counts[entries] = len(
        ctx.captured_queries
    )
    if len(test_detail_page_query_count_does_not_grow_with_timeline_entries.counts) == 2:
        a, b = test_detail_page_query_count_does_not_grow_with_timeline_entries.counts.values()
        assert a == b


test_detail_page_query_count_does_not_grow_with_timeline_entries.counts = {}


def test_an_open_incident_page_polls_its_timeline_and_the_fragment_has_new_entries(
    client_for, user, incident
):
    client = client_for(user)
    page = client.get(incident.get_absolute_url()).content.decode()
    url = reverse("postmortems:incident-timeline-entries", args=[incident.pk])
    assert f'hx-get="{url}"' in page
    TimelineEntryFactory(incident=incident, body="Deploy v9 finished")
    fragment = client.get(url).content.decode()
    assert "Deploy v9 finished" in fragment
    assert 'id="timeline-entries"' in fragment
    assert "<form" in fragment  # star toggles, but no page chrome
    assert "<html" not in fragment


def test_a_closed_incident_page_does_not_poll(client_for, user, incident):
    incident.status = "closed"
    incident.close_reason = "false_alarm"
    incident.save()
    page = client_for(user).get(incident.get_absolute_url()).content.decode()
    assert "every 20s" not in page


def test_the_live_fragment_is_404_for_outsiders(client_for, other_user):
    secret = IncidentFactory(restricted=True)
    url = reverse("postmortems:incident-timeline-entries", args=[secret.pk])
    assert client_for(other_user).get(url).status_code == 404
