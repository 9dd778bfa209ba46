"""Postmortem pages, downloads, feed and API end to end; restricted ones leak nowhere."""

from __future__ import annotations

import re

import pytest
from django.template.loader import render_to_string

from postmortems.models import FeedToken
from postmortems.models.documents import Postmortem
from postmortems.selectors.documents import postmortem_section
from postmortems.services import documents as svc
from tests.factories import IncidentFactory, UserFactory, publish_postmortem

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(user):
    incident = IncidentFactory(title="Tenant export leak", restricted=True, commander=user)
    publish_postmortem(incident, by=user, sections={"summary": "Secret export details."})
    return incident


def test_the_editor_generates_edits_and_shows_blameless_findings_beside_the_text(
    client_for, incident, user
):
    UserFactory(username="ned", first_name="Ned", last_name="Stark")
    client = client_for(user)
    url = f"/incidents/{incident.pk}/postmortem/"
    assert "Generate the draft" in client.get(url).content.decode()
    client.post(url + "start/")
    response = client.post(
        url + "save/", {"version": "1", "went_poorly": "Ned forgot to update the runbook."}
    )
    assert response.status_code == 302
    body = client.get(url).content.decode()
    assert "What went poorly" in body
    assert "<mark>Ned</mark>" in body
    assert "Submitting with high findings needs a recorded reason." in body
    assert Postmortem.objects.get(incident=incident).sections["went_poorly"].startswith("Ned")


def test_the_editor_sanitises_a_malicious_section(client_for, incident, user):
    client = client_for(user)
    pm = svc.generate_draft(incident=incident, by=user)
    evil = (
        '<script>alert("x")</script>\n\n[click](javascript:alert(1))\n\n'
        '<img src=x onerror=alert(1)>\n\n<a href="#" onclick="alert(1)">a</a>'
    )
    svc.edit_section(postmortem=pm, key="lessons", text=evil, by=user)
    body = client.get(f"/incidents/{incident.pk}/postmortem/").content.decode()
    preview = body.split('id="preview-h"', 1)[1]
    assert "<script>alert" not in body
    assert "<img" not in preview
    assert 'href="javascript:' not in preview
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", preview)  # no live event handler
    assert "&lt;script&gt;" in preview  # shown as text


def test_workflow_through_the_pages_ends_on_the_read_page(client_for, incident, user):
    reviewer = UserFactory()
    client = client_for(user)
    base = f"/incidents/{incident.pk}/postmortem/"
    client.post(base + "start/")
    client.post(
        base + "submit/",
        {"version": "1", "reviewers": [reviewer.pk, user.pk], "reviewers_shown": "on"},
    )
    client.post(base + "approve/", {"comment": "Good."})
    response = client.post(base + "publish/")
    assert response.status_code == 302
    assert response["Location"] == f"/postmortems/{incident.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert incident.title in page.content.decode()


def test_a_rule_violation_on_a_page_is_a_message_not_a_500(client_for, incident, user):
    client = client_for(user)
    base = f"/incidents/{incident.pk}/postmortem/"
    client.post(base + "start/")
    response = client.post(base + "publish/", follow=True)
    assert response.status_code == 200
    assert "Submit the postmortem for review before publishing it." in response.content.decode()


def test_the_read_page_download_and_versions(client_for, incident, user, other_user):
    publish_postmortem(incident, by=user, sections={"lessons": "Budget the pool."})
    client = client_for(other_user)
    page = client.get(f"/postmortems/{incident.pk}/")
    body = page.content.decode()
    assert "Budget the pool." in body
    assert "Version 1" in body
    download = client.get(f"/postmortems/{incident.pk}/download.md")
    assert download["Content-Type"].startswith("text/markdown")
    assert "attachment" in download["Content-Disposition"]
    assert download.content.decode().startswith(f"# {incident.title}")
    assert client.get(f"/postmortems/{incident.pk}/v1/").status_code == 200
    assert client.get(f"/postmortems/{incident.pk}/v9/").status_code == 404


def test_an_unpublished_postmortem_has_no_read_page(client_for, incident, user):
    svc.generate_draft(incident=incident, by=user)
    assert client_for(user).get(f"/postmortems/{incident.pk}/").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/postmortems/{pk}/",
        "/postmortems/{pk}/v1/",
        "/postmortems/{pk}/download.md",
        "/incidents/{pk}/postmortem/",
        "/api/postmortems/{pk}/",
    ],
)
def test_a_restricted_postmortem_is_404_for_everyone_else(client_for, secret, other_user, url):
    assert client_for(other_user).get(url.format(pk=secret.pk)).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/incidents/{pk}/postmortem/submit/",
        "/incidents/{pk}/postmortem/approve/",
        "/incidents/{pk}/postmortem/save/",
        "/api/postmortems/{pk}/publish/",
    ],
)
def test_review_actions_on_a_restricted_postmortem_are_404_for_everyone_else(
    client_for, secret, other_user, url
):
    assert client_for(other_user).post(url.format(pk=secret.pk)).status_code == 404


def test_a_superuser_reads_a_restricted_postmortem(client_for, secret):
    admin = UserFactory(is_superuser=True, is_staff=True)
    assert client_for(admin).get(f"/postmortems/{secret.pk}/").status_code == 200


def test_the_feed_carries_what_its_user_may_see(client, user, other_user, secret, incident):
    publish_postmortem(incident, by=user, sections={"summary": "Public words."})
    outsider = FeedToken.objects.create(user=other_user)
    insider = FeedToken.objects.create(user=user)

    response = client.get(f"/feeds/{outsider.token}/postmortems.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    body = response.content.decode()
    assert incident.title in body
    assert "Public words." in body
    assert "Tenant export leak" not in body
    assert "Secret export details" not in body

    body = client.get(f"/feeds/{insider.token}/postmortems.atom").content.decode()
    assert "Tenant export leak" in body


def test_an_unknown_feed_token_is_404(client, db):
    assert client.get("/feeds/nope/postmortems.atom").status_code == 404


def test_the_incident_page_section_offers_the_next_step(incident, user):
    html = render_to_string(
        "postmortems/incident/_postmortem.html",
        {"ctx": postmortem_section(incident, user), "csrf_token": "x"},
    )
    assert "Generate the draft" in html
    publish_postmortem(incident, by=user)
    html = render_to_string(
        "postmortems/incident/_postmortem.html", {"ctx": postmortem_section(incident, user)}
    )
    assert "Read the postmortem" in html
    assert "Version 1 published" in html


# --- API --------------------------------------------------------------------------------------


def test_the_api_lists_published_visible_postmortems(api_client_for, user, other_user, secret):
    public = IncidentFactory(commander=user)
    publish_postmortem(public, by=user)
    data = api_client_for(other_user).get("/api/postmortems/").json()
    assert data["count"] == 1
    assert [row["incident"] for row in data["results"]] == [public.pk]
    data = api_client_for(user).get("/api/postmortems/?q=Tenant").json()
    assert [row["incident"] for row in data["results"]] == [secret.pk]


def test_the_api_reads_markdown_and_rendered_html(api_client_for, incident, user):
    publish_postmortem(incident, by=user, sections={"lessons": "**Bold** lesson"})
    data = api_client_for(user).get(f"/api/postmortems/{incident.pk}/").json()
    assert "**Bold** lesson" in data["markdown"]
    assert "<strong>Bold</strong> lesson" in data["html"]
    assert data["versions"][0]["number"] == 1


def test_the_api_runs_the_review_workflow(api_client_for, incident, user):
    reviewer = UserFactory()
    pm = svc.generate_draft(incident=incident, by=user)
    svc.set_reviewers(postmortem=pm, reviewers=[reviewer], by=user)
    api = api_client_for(user)
    base = f"/api/postmortems/{incident.pk}/"

    response = api.post(base + "publish/")
    assert response.status_code == 400
    assert "Submit" in response.json()["detail"]

    assert api.post(base + "submit/").json()["status"] == "in_review"
    response = api.post(base + "approve/")
    assert response.status_code == 403  # not a named reviewer
    assert "named reviewers" in response.json()["detail"]
    reviewer_api = api_client_for(reviewer)
    response = reviewer_api.post(base + "request-changes/", {"comment": ""}, format="json")
    assert response.status_code == 400
    assert "comment" in response.json()
    assert reviewer_api.post(base + "request-changes/", {"comment": "Fix"}).json()["status"] == (
        "draft"
    )
    api.post(base + "submit/")
    assert reviewer_api.post(base + "approve/", {"comment": "OK"}).json()["approvals"] == 1
    data = api.post(base + "publish/").json()
    assert (data["status"], data["latest_version"]) == ("published", 1)


def test_the_api_schema_documents_the_postmortem_endpoints(api_client_for, user):
    schema = api_client_for(user).get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in (
        "/api/postmortems/",
        "/api/postmortems/{incident_id}/",
        "/api/postmortems/{incident_id}/submit/",
        "/api/postmortems/{incident_id}/approve/",
        "/api/postmortems/{incident_id}/request-changes/",
        "/api/postmortems/{incident_id}/publish/",
    ):
        assert path in paths
